"""Questions: the validated shape of a ``question`` record (DESIGN §4, §6, §10 "Questions").

``question_spec`` takes the untrusted JSON values of a record and returns a ``QuestionSpec``, or
raises ``InvalidQuestion`` naming the first field at fault. An absent optional field is passed as
``ABSENT`` (or left out); a present ``null`` is a value, and an invalid one (§10: optional fields
are absent when unused, never null).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Final, Literal, cast, get_args

from ballot.errors import InvalidQuestion

__all__ = ["ABSENT", "MAX_INT", "Method", "Option", "QuestionSpec", "question_spec"]

Method = Literal["single", "approval", "ranked", "budget"]
_METHODS: Final[tuple[str, ...]] = get_args(Method)

# DESIGN §3: JCS serialises numbers as IEEE doubles, so integers stay within ±(2^53 − 1).
MAX_INT: Final = 2**53 - 1
_IDENTIFIER: Final = re.compile(r"[a-z0-9-]{1,64}")


class _Absent(enum.Enum):
    ABSENT = enum.auto()

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent.ABSENT
"""Marks an optional record field that is not there, as distinct from a present ``None``."""


@dataclass(frozen=True)
class Option:
    """One option of a question; ``cost`` is set exactly for ``budget`` questions."""

    id: str
    title: str
    cost: int | None = None


@dataclass(frozen=True)
class QuestionSpec:
    """What the tallies need to know about a question, already validated."""

    method: Method
    options: tuple[Option, ...]
    budget: int | None = None
    max_choices: int | None = None

    def option_ids(self) -> tuple[str, ...]:
        """The option ids, in question order (the order every tie is broken by)."""
        return tuple(self.positions())

    def positions(self) -> Mapping[str, int]:
        """Each option id's position in question order."""
        return self._positions

    @cached_property
    def _positions(self) -> dict[str, int]:
        # Computed once per spec: choices are checked and counted against it many times.
        return {option.id: n for n, option in enumerate(self.options)}

    def costs(self) -> tuple[int, ...]:
        """The option costs, in question order; only ``budget`` questions have them."""
        costs = tuple(option.cost for option in self.options if option.cost is not None)
        if len(costs) != len(self.options):
            raise InvalidQuestion("every option of a budget question needs a cost")
        return costs


def question_spec(
    method: object,
    options: object,
    budget: object = ABSENT,
    max_choices: object = ABSENT,
) -> QuestionSpec:
    """Validate the ``method``, ``options``, ``budget`` and ``max_choices`` of a question record."""
    if type(method) is not str or method not in _METHODS:
        allowed = ", ".join(_METHODS)
        raise InvalidQuestion(f"method must be one of {allowed}, got {_describe(method)}")
    checked = cast(Method, method)
    is_budget = checked == "budget"
    parsed = _options(options, with_cost=is_budget)
    if is_budget:
        if budget is ABSENT:
            raise InvalidQuestion("budget is required for a budget question")
        budget_value: int | None = _positive_int(budget, "budget")
    elif budget is not ABSENT:
        raise InvalidQuestion(f"budget is only allowed for a budget question, not {checked}")
    else:
        budget_value = None
    if max_choices is ABSENT:
        max_value = None
    elif checked in ("approval", "budget"):
        max_value = _positive_int(max_choices, "max_choices")
    else:
        raise InvalidQuestion(f"max_choices is only allowed for approval and budget, not {checked}")
    return QuestionSpec(checked, parsed, budget_value, max_value)


def _describe(value: object) -> str:
    """Name a JSON value's type (with the value for short scalars) in an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if type(value) is int:
        return f"integer {value}"
    if isinstance(value, str):
        return f"string {value[:70]!r}"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _options(value: object, *, with_cost: bool) -> tuple[Option, ...]:
    if not isinstance(value, list):
        raise InvalidQuestion(f"options must be an array, got {_describe(value)}")
    if not value:
        raise InvalidQuestion("options must hold at least one option")
    expected = {"id", "title", "cost"} if with_cost else {"id", "title"}
    seen: set[str] = set()
    parsed = []
    for n, item in enumerate(value):
        where = f"options[{n}]"
        if not isinstance(item, dict):
            raise InvalidQuestion(f"{where} must be an object, got {_describe(item)}")
        if set(item) != expected:
            raise InvalidQuestion(
                f"{where} must have exactly the members {sorted(expected)}, "
                f"got {sorted(map(str, item))}"
            )
        option_id = item["id"]
        if type(option_id) is not str or not _IDENTIFIER.fullmatch(option_id):
            raise InvalidQuestion(f"{where}.id must be an identifier, got {_describe(option_id)}")
        if option_id in seen:
            raise InvalidQuestion(f"{where}.id {option_id!r} repeats an earlier option id")
        seen.add(option_id)
        title = item["title"]
        if type(title) is not str or not title:
            got = _describe(title)
            raise InvalidQuestion(f"{where}.title must be a non-empty string, got {got}")
        if not _is_unicode(title):
            raise InvalidQuestion(f"{where}.title is not valid Unicode (lone surrogate)")
        cost = _positive_int(item["cost"], f"{where}.cost") if with_cost else None
        parsed.append(Option(option_id, title, cost))
    return tuple(parsed)


def _positive_int(value: object, where: str) -> int:
    # bool is an int subclass in Python but a distinct JSON type, so compare the exact type.
    if type(value) is not int:
        raise InvalidQuestion(f"{where} must be an integer, got {_describe(value)}")
    if not 1 <= value <= MAX_INT:
        raise InvalidQuestion(f"{where} must be from 1 to 2^53 - 1, got {value}")
    return value


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
