"""``count`` for ``single`` and ``approval``: weighted sums and the ranking by counts."""

from __future__ import annotations

import pytest

from ballot import InvalidChoice, QuestionSpec, count, question_spec


def options(*ids: str) -> list[dict[str, str]]:
    return [{"id": i, "title": i.upper()} for i in ids]


def test_referendum() -> None:
    spec = question_spec("single", options("yes", "no"))
    result = count(spec, [("yes", 1), ("no", 3), ("yes", 1)])
    assert result == {"counts": {"yes": 2, "no": 3}, "ranking": ["no", "yes"]}


def test_single_counts_every_option_and_breaks_ties_by_question_order() -> None:
    spec = question_spec("single", options("c", "b", "a", "d"))
    result = count(spec, [("a", 2), ("b", 2), ("d", 1)])
    assert result["counts"] == {"c": 0, "b": 2, "a": 2, "d": 1}
    assert result["ranking"] == ["b", "a", "d", "c"]


def test_no_ballots() -> None:
    spec = question_spec("single", options("x", "y"))
    assert count(spec, []) == {"counts": {"x": 0, "y": 0}, "ranking": ["x", "y"]}


def test_approval() -> None:
    spec = question_spec("approval", options("a", "b", "c", "d"), max_choices=3)
    ballots = [(["a", "b"], 1), (["b"], 4), (["c", "b", "a"], 2), ([], 7)]
    result = count(spec, ballots)
    assert result == {
        "counts": {"a": 3, "b": 7, "c": 2, "d": 0},
        "ranking": ["b", "a", "c", "d"],
    }


def test_approval_from_a_generator_is_read_once() -> None:
    spec = question_spec("approval", options("a", "b"))
    result = count(spec, ((["a", "b"] if n % 2 else ["b"], 1) for n in range(5)))
    assert result["counts"] == {"a": 2, "b": 5}


@pytest.mark.parametrize(
    ("spec", "ballot"),
    [
        (question_spec("single", options("a")), ("z", 1)),
        (question_spec("approval", options("a")), (["a", "z"], 1)),
        (question_spec("ranked", options("a")), (["z"], 1)),
        (question_spec("budget", [{"id": "a", "title": "A", "cost": 1}], budget=1), (["z"], 1)),
    ],
)
def test_an_unknown_option_is_refused_rather_than_miscounted(
    spec: QuestionSpec, ballot: tuple[object, int]
) -> None:
    with pytest.raises(InvalidChoice, match="'z'"):
        count(spec, [ballot])


@pytest.mark.parametrize("method", ["approval", "ranked", "budget"])
def test_a_repeated_option_is_refused_rather_than_counted_twice(method: str) -> None:
    if method == "budget":
        spec = question_spec("budget", [{"id": "a", "title": "A", "cost": 1}], budget=1)
    else:
        spec = question_spec(method, options("a", "b"))
    with pytest.raises(InvalidChoice, match="repeats an option"):
        count(spec, [(["a"], 1), (["a", "a"], 1)])
