"""Hypothesis strategies for the ballot package: questions, valid choices, weighted ballots.

Option ids are drawn at random, so question order differs from the ids' sorted order and a tie
broken by name instead of by position shows up.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from ballot import Method, QuestionSpec, question_spec

METHODS: tuple[Method, ...] = ("single", "approval", "ranked", "budget")

Ballots = list[tuple[Any, int]]

_ids = st.text(alphabet="ab-0", min_size=1, max_size=4)


@st.composite
def question_records(
    draw: st.DrawFn,
    /,
    method: Method,
    *,
    max_options: int = 6,
    max_cost: int = 30,
    min_budget: int = 1,
    max_budget: int = 60,
) -> dict[str, Any]:
    """The ``method``, ``options``, ``budget``, ``max_choices`` members of a valid question."""
    ids = draw(st.lists(_ids, min_size=1, max_size=max_options, unique=True))
    options: list[dict[str, Any]] = [{"id": i, "title": f"Option {i}"} for i in ids]
    record: dict[str, Any] = {"method": method, "options": options}
    if method == "budget":
        for option in options:
            option["cost"] = draw(st.integers(1, max_cost))
        record["budget"] = draw(st.integers(min_budget, max_budget))
    if method in ("approval", "budget") and draw(st.booleans()):
        record["max_choices"] = draw(st.integers(1, len(ids) + 1))
    return record


@st.composite
def specs(draw: st.DrawFn, /, method: Method, **limits: int) -> QuestionSpec:
    """A validated question of ``method``."""
    return question_spec(**draw(question_records(method, **limits)))


def choices(spec: QuestionSpec) -> st.SearchStrategy[Any]:
    """A choice that ``validate_choice`` accepts for ``spec``."""
    ids = spec.option_ids()
    if spec.method == "single":
        return st.sampled_from(ids)
    if spec.method == "ranked":
        return st.permutations(ids).flatmap(
            lambda order: st.integers(1, len(order)).map(lambda n: list(order[:n]))
        )
    top = len(ids) if spec.max_choices is None else min(spec.max_choices, len(ids))
    return st.lists(st.sampled_from(ids), max_size=top, unique=True)


def ballots(
    spec: QuestionSpec, *, max_ballots: int = 8, max_weight: int = 4
) -> st.SearchStrategy[Ballots]:
    """``(choice, weight)`` pairs for ``spec``, possibly none."""
    return st.lists(st.tuples(choices(spec), st.integers(1, max_weight)), max_size=max_ballots)


@st.composite
def counted(
    draw: st.DrawFn, /, method: Method, *, max_ballots: int = 8, max_weight: int = 4, **limits: int
) -> tuple[QuestionSpec, Ballots]:
    """A question of ``method`` and some weighted ballots on it."""
    spec = draw(specs(method, **limits))
    return spec, draw(ballots(spec, max_ballots=max_ballots, max_weight=max_weight))


any_counted = st.sampled_from(METHODS).flatmap(counted)
"""A question of any method, with weighted ballots."""
