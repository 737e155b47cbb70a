"""``validate_choice``: the choice shapes of DESIGN §6."""

from __future__ import annotations

import pytest

from ballot import InvalidChoice, QuestionSpec, question_spec, validate_choice

OPTIONS = [{"id": i, "title": i.upper()} for i in ("a", "b", "c")]
COSTED = [{"id": i, "title": i.upper(), "cost": 10} for i in ("a", "b", "c")]


def spec(method: str, max_choices: int | None = None) -> QuestionSpec:
    extra: dict[str, int] = {} if max_choices is None else {"max_choices": max_choices}
    if method == "budget":
        return question_spec("budget", COSTED, budget=20, **extra)
    return question_spec(method, OPTIONS, **extra)


def test_single_accepts_one_option_id() -> None:
    validate_choice(spec("single"), "b")


@pytest.mark.parametrize(
    ("choice", "message"),
    [
        ("d", "'d' is not an option"),
        (["a"], "must be an option id, got array"),
        (None, "got null"),
        (1, "got integer 1"),
        ("", "is not an option"),
    ],
)
def test_single_refuses(choice: object, message: str) -> None:
    with pytest.raises(InvalidChoice, match=message):
        validate_choice(spec("single"), choice)


@pytest.mark.parametrize("method", ["approval", "budget"])
@pytest.mark.parametrize("choice", [[], ["a"], ["c", "a"], ["a", "b", "c"]])
def test_approval_and_budget_accept_distinct_ids(method: str, choice: list[str]) -> None:
    validate_choice(spec(method), choice)


@pytest.mark.parametrize("method", ["approval", "budget"])
def test_max_choices(method: str) -> None:
    limited = spec(method, max_choices=2)
    validate_choice(limited, ["a", "b"])
    validate_choice(limited, [])
    with pytest.raises(InvalidChoice, match="more than max_choices 2"):
        validate_choice(limited, ["a", "b", "c"])


@pytest.mark.parametrize("method", ["approval", "budget", "ranked"])
@pytest.mark.parametrize(
    ("choice", "message"),
    [
        ("a", "must be an array, got string"),
        ({"a": 1}, "must be an array, got object"),
        (("a",), "must be an array, got tuple"),
        (["a", "a"], r"choice\[1\] repeats option 'a'"),
        (["a", "z"], r"choice\[1\] 'z' is not an option"),
        (["a", None], r"choice\[1\] must be an option id, got null"),
        ([["a"]], r"choice\[0\] must be an option id, got array"),
    ],
)
def test_list_methods_refuse(method: str, choice: object, message: str) -> None:
    with pytest.raises(InvalidChoice, match=message):
        validate_choice(spec(method), choice)


@pytest.mark.parametrize("choice", [["b"], ["c", "a"], ["b", "c", "a"]])
def test_ranked_accepts_a_partial_or_full_order(choice: list[str]) -> None:
    validate_choice(spec("ranked"), choice)


def test_ranked_refuses_the_empty_list() -> None:
    with pytest.raises(InvalidChoice, match="at least one option"):
        validate_choice(spec("ranked"), [])


def test_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not an option"):
        validate_choice(spec("single"), "zzz")
