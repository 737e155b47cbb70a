"""``single``: one option id per ballot; ``counts`` is the weight per option (DESIGN §6)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ballot.errors import InvalidChoice

__all__ = ["single_counts"]


def single_counts(option_ids: Sequence[str], ballots: Iterable[tuple[str, int]]) -> dict[str, int]:
    """The weight choosing each option, zeros included."""
    counts = dict.fromkeys(option_ids, 0)
    try:
        for choice, weight in ballots:
            counts[choice] += weight
    except KeyError as exc:
        raise InvalidChoice(f"{exc.args[0]!r} is not an option of the question") from None
    return counts
