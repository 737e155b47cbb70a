"""``question_spec``: DESIGN §10 "Questions", absent versus null, JSON integers."""

from __future__ import annotations

from typing import Any

import pytest

from ballot import ABSENT, InvalidQuestion, Option, QuestionSpec, question_spec

YES_NO = [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}]
PROJECTS = [
    {"id": "park", "title": "A park", "cost": 400},
    {"id": "bike-lane", "title": "A bike lane", "cost": 250},
]


def test_single() -> None:
    spec = question_spec("single", YES_NO)
    assert spec == QuestionSpec("single", (Option("yes", "Yes"), Option("no", "No")))
    assert spec.option_ids() == ("yes", "no")
    assert spec.positions() == {"yes": 0, "no": 1}


def test_approval_with_and_without_max_choices() -> None:
    assert question_spec("approval", YES_NO).max_choices is None
    assert question_spec("approval", YES_NO, max_choices=ABSENT).max_choices is None
    assert question_spec("approval", YES_NO, max_choices=5).max_choices == 5


def test_ranked_keeps_question_order() -> None:
    options = [{"id": i, "title": i.upper()} for i in ("c", "a", "b")]
    assert question_spec("ranked", options).option_ids() == ("c", "a", "b")


def test_budget() -> None:
    spec = question_spec("budget", PROJECTS, budget=500, max_choices=1)
    assert spec.options == (Option("park", "A park", 400), Option("bike-lane", "A bike lane", 250))
    assert (spec.budget, spec.max_choices) == (500, 1)
    assert spec.costs() == (400, 250)


def test_integer_bounds_are_inclusive() -> None:
    top = 2**53 - 1
    spec = question_spec("budget", [{"id": "x", "title": "X", "cost": top}], budget=top)
    assert spec.budget == top
    assert spec.costs() == (top,)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("plurality", YES_NO), "method must be one of"),
        ((None, YES_NO), "method must be one of"),
        (("single", []), "at least one option"),
        (("single", None), "options must be an array"),
        (("single", {"id": "x", "title": "X"}), "options must be an array"),
        (("single", ("yes", "no")), "options must be an array"),
        (("single", ["yes"]), r"options\[0\] must be an object"),
        (("single", [{"id": "yes"}]), "exactly the members"),
        (("single", [{"id": "yes", "title": "Y", "extra": 1}]), "exactly the members"),
        (("single", [{"id": "yes", "title": "Y", "cost": 1}]), "exactly the members"),
        (("single", [{"id": "Yes", "title": "Y"}]), r"options\[0\]\.id must be an identifier"),
        (("single", [{"id": "", "title": "Y"}]), "must be an identifier"),
        (("single", [{"id": "a" * 65, "title": "Y"}]), "must be an identifier"),
        (("single", [{"id": "yes\n", "title": "Y"}]), "must be an identifier"),
        (("single", [{"id": "ja_nein", "title": "Y"}]), "must be an identifier"),
        (("single", [{"id": 1, "title": "Y"}]), "must be an identifier, got integer 1"),
        (("single", [*YES_NO, {"id": "yes", "title": "Again"}]), "repeats an earlier option id"),
        (("single", [{"id": "yes", "title": ""}]), "non-empty string"),
        (("single", [{"id": "yes", "title": None}]), "non-empty string, got null"),
        (("single", [{"id": "yes", "title": "\udc00"}]), "not valid Unicode"),
    ],
)
def test_refused_options(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(InvalidQuestion, match=message):
        question_spec(*args)


def test_an_identifier_of_64_characters_is_accepted() -> None:
    assert question_spec("single", [{"id": "a-0" * 21 + "z", "title": "T"}]).option_ids()[0] == (
        "a-0" * 21 + "z"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "budget is required"),
        ({"budget": None}, "budget must be an integer, got null"),
        ({"budget": 0}, "from 1 to 2"),
        ({"budget": -5}, "from 1 to 2"),
        ({"budget": 2**53}, "from 1 to 2"),
        ({"budget": True}, "got boolean true"),
        ({"budget": 500.0}, "must be an integer, got float"),
        ({"budget": "500"}, "must be an integer, got string"),
        ({"budget": 500, "max_choices": 0}, "max_choices must be from 1"),
        ({"budget": 500, "max_choices": None}, "max_choices must be an integer, got null"),
    ],
)
def test_refused_budget_fields(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidQuestion, match=message):
        question_spec("budget", PROJECTS, **kwargs)


@pytest.mark.parametrize(
    ("cost", "message"),
    [(0, "from 1 to 2"), (None, "got null"), (False, "got boolean false"), (1.5, "got float")],
)
def test_refused_costs(cost: object, message: str) -> None:
    options = [PROJECTS[0], {"id": "pool", "title": "A pool", "cost": cost}]
    with pytest.raises(InvalidQuestion, match=rf"options\[1\]\.cost .*{message}"):
        question_spec("budget", options, budget=500)


def test_a_budget_question_needs_a_cost_on_every_option() -> None:
    with pytest.raises(InvalidQuestion, match="exactly the members"):
        question_spec("budget", [PROJECTS[0], YES_NO[0]], budget=500)


@pytest.mark.parametrize("method", ["single", "approval", "ranked"])
def test_budget_is_refused_elsewhere_even_null(method: str) -> None:
    for budget in (500, None):
        with pytest.raises(InvalidQuestion, match="budget is only allowed"):
            question_spec(method, YES_NO, budget=budget)


@pytest.mark.parametrize("method", ["single", "ranked"])
def test_max_choices_is_refused_for_single_and_ranked(method: str) -> None:
    for max_choices in (1, None):
        with pytest.raises(InvalidQuestion, match="max_choices is only allowed"):
            question_spec(method, YES_NO, max_choices=max_choices)


def test_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="method"):
        question_spec("nope", YES_NO)


def test_costs_of_a_question_without_costs() -> None:
    with pytest.raises(InvalidQuestion, match="needs a cost"):
        question_spec("approval", YES_NO).costs()
