"""Choices: the ``choice`` of a ballot or lobby position, checked against its question (DESIGN §6).

- ``single``: one option id.
- ``approval`` and ``budget``: an array of distinct option ids, at most ``max_choices`` when the
  question sets it; the empty array is a valid ballot that approves nothing.
- ``ranked``: a non-empty array of distinct option ids, best first.
"""

from __future__ import annotations

from collections.abc import Mapping

from ballot.errors import InvalidChoice
from ballot.question import QuestionSpec, _describe

__all__ = ["validate_choice"]


def validate_choice(spec: QuestionSpec, choice: object) -> None:
    """Return None if ``choice`` is allowed by the question, else raise ``InvalidChoice``."""
    ids = spec.positions()
    if spec.method == "single":
        _check_id(choice, ids, "choice")
        return
    if not isinstance(choice, list):
        raise InvalidChoice(f"a {spec.method} choice must be an array, got {_describe(choice)}")
    if spec.method == "ranked" and not choice:
        raise InvalidChoice("a ranked choice must list at least one option")
    if spec.max_choices is not None and len(choice) > spec.max_choices:
        raise InvalidChoice(
            f"the choice lists {len(choice)} options, more than max_choices {spec.max_choices}"
        )
    seen: set[str] = set()
    for n, item in enumerate(choice):
        option_id = _check_id(item, ids, f"choice[{n}]")
        if option_id in seen:
            raise InvalidChoice(f"choice[{n}] repeats option {option_id!r}")
        seen.add(option_id)


def _check_id(value: object, ids: Mapping[str, int], where: str) -> str:
    if not isinstance(value, str):
        raise InvalidChoice(f"{where} must be an option id, got {_describe(value)}")
    if value not in ids:
        raise InvalidChoice(f"{where} {value[:70]!r} is not an option of the question")
    return value
