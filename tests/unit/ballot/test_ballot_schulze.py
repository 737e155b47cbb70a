"""``count`` for ``ranked``: Schulze with winning votes (DESIGN §6)."""

from __future__ import annotations

from typing import Any

from ballot import QuestionSpec, count, question_spec


def ranked(ids: str) -> QuestionSpec:
    return question_spec("ranked", [{"id": i, "title": i.upper()} for i in ids])


def grid(rows: dict[str, list[int | None]], ids: str) -> dict[str, dict[str, int]]:
    """A matrix written row by row, ``None`` on the diagonal."""
    return {
        a: {b: n for b, n in zip(ids, row, strict=True) if n is not None}
        for a, row in rows.items()
    }


# Wikipedia, "Schulze method", the example with 45 voters and 5 candidates (as of 2024), itself
# from Schulze (2011), "A new monotonic, clone-independent, reversal symmetric, and
# Condorcet-consistent single-winner election method", Social Choice and Welfare 36, §3.
WIKIPEDIA_45 = [
    ("acbed", 5),
    ("adecb", 5),
    ("bedac", 8),
    ("cabed", 3),
    ("caebd", 7),
    ("cbade", 2),
    ("dceba", 7),
    ("ebadc", 8),
]
WIKIPEDIA_PAIRWISE = {
    "a": [None, 20, 26, 30, 22],
    "b": [25, None, 16, 33, 18],
    "c": [19, 29, None, 17, 24],
    "d": [15, 12, 28, None, 14],
    "e": [23, 27, 21, 31, None],
}
WIKIPEDIA_PATHS = {
    "a": [None, 28, 28, 30, 24],
    "b": [25, None, 28, 33, 24],
    "c": [25, 29, None, 29, 24],
    "d": [25, 28, 28, None, 24],
    "e": [25, 28, 28, 31, None],
}


def test_wikipedia_45_voters() -> None:
    result = count(ranked("abcde"), [(list(order), n) for order, n in WIKIPEDIA_45])
    assert result["pairwise"] == grid(WIKIPEDIA_PAIRWISE, "abcde")
    assert result["strongest_paths"] == grid(WIKIPEDIA_PATHS, "abcde")
    # E beats all four, A three (not E), C two (B and D), B one (D), D none.
    assert result["ranking"] == ["e", "a", "c", "b", "d"]
    assert result["counts"] == {"a": 10, "b": 8, "c": 12, "d": 7, "e": 8}
    assert list(result) == ["counts", "pairwise", "strongest_paths", "ranking"]


def test_wikipedia_45_voters_one_ballot_each() -> None:
    ballots = [(list(order), 1) for order, n in WIKIPEDIA_45 for _ in range(n)]
    weighted = [(list(order), n) for order, n in WIKIPEDIA_45]
    assert count(ranked("abcde"), ballots) == count(ranked("abcde"), weighted)


def test_question_order_does_not_change_the_winner_here() -> None:
    result: dict[str, Any] = count(ranked("edcba"), [(list(o), n) for o, n in WIKIPEDIA_45])
    assert result["ranking"] == ["e", "a", "c", "b", "d"]
    assert result["pairwise"]["e"]["a"] == 23


def test_unlisted_options_are_tied_last() -> None:
    result = count(ranked("abc"), [(["b"], 2), (["c", "a"], 1)])
    assert result["pairwise"] == grid(
        {"a": [None, 1, 0], "b": [2, None, 2], "c": [1, 1, None]}, "abc"
    )
    assert result["counts"] == {"a": 0, "b": 2, "c": 1}
    assert result["ranking"] == ["b", "c", "a"]


def test_a_cycle_is_a_tie_broken_by_question_order() -> None:
    ballots = [(["a", "b", "c"], 1), (["b", "c", "a"], 1), (["c", "a", "b"], 1)]
    result = count(ranked("cab"), ballots)
    assert result["pairwise"] == grid(
        {"c": [None, 2, 1], "a": [1, None, 2], "b": [2, 1, None]}, "cab"
    )
    # Every link is 2 and every strongest path too, so nobody beats anybody.
    assert result["strongest_paths"] == grid(
        {"c": [None, 2, 2], "a": [2, None, 2], "b": [2, 2, None]}, "cab"
    )
    assert result["ranking"] == ["c", "a", "b"]


def test_a_lost_link_has_strength_zero() -> None:
    result = count(ranked("ab"), [(["a", "b"], 3), (["b", "a"], 2)])
    assert result["pairwise"] == {"a": {"b": 3}, "b": {"a": 2}}
    assert result["strongest_paths"] == {"a": {"b": 3}, "b": {"a": 0}}
    assert result["ranking"] == ["a", "b"]


def test_no_ballots() -> None:
    result = count(ranked("xy"), [])
    assert result == {
        "counts": {"x": 0, "y": 0},
        "pairwise": {"x": {"y": 0}, "y": {"x": 0}},
        "strongest_paths": {"x": {"y": 0}, "y": {"x": 0}},
        "ranking": ["x", "y"],
    }


def test_one_option() -> None:
    result = count(ranked("z"), [(["z"], 4)])
    assert result == {
        "counts": {"z": 4},
        "pairwise": {"z": {}},
        "strongest_paths": {"z": {}},
        "ranking": ["z"],
    }


def test_large_weights_stay_exact() -> None:
    big = 2**53 - 1
    result: dict[str, Any] = count(ranked("abc"), [(["a", "c"], big), (["b"], big - 1)])
    assert result["pairwise"]["a"] == {"b": big, "c": big}
    assert result["pairwise"]["b"] == {"a": big - 1, "c": big - 1}
    assert result["pairwise"]["c"] == {"a": 0, "b": big}
    assert result["ranking"] == ["a", "c", "b"]
