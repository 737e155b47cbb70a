"""``count`` for ``budget``: the Method of Equal Shares, Add1 and greedy completion (DESIGN §6).

Each example is worked by hand in its comments; ``tests/property/test_ballot_mes_reference.py``
checks random instances against pabutools.
"""

from __future__ import annotations

from typing import Any

import pytest

from ballot import QuestionSpec, count, question_spec
from ballot.methods import equal_shares


def budget(total: int, **costs: int) -> QuestionSpec:
    options = [{"id": i, "title": i.upper(), "cost": c} for i, c in costs.items()]
    return question_spec("budget", options, budget=total)


def selected(spec: QuestionSpec, ballots: list[tuple[list[str], int]]) -> list[str]:
    result: dict[str, Any] = count(spec, ballots)
    chosen: list[str] = result["selected"]
    return chosen


def test_the_minority_gets_its_share() -> None:
    # 10 voters with 10 each. a and b cost 50/6 and 30/6 per supporter: both 1/6 of their cost,
    # a tie, and a comes first. Its six supporters keep 10 - 50/6 = 5/3 each: 10 < 30, b is out
    # of reach. c costs its four supporters 10 each (1/4 of its cost): bought. {a, c} spends 90
    # and b (30) no longer fits, so the outcome is exhaustive. Greedy by approvals alone would
    # have bought a and b.
    spec = budget(100, a=50, b=30, c=40)
    result = count(spec, [(["a", "b"], 6), (["c"], 4)])
    assert result == {
        "counts": {"a": 6, "b": 6, "c": 4},
        "ranking": ["a", "b", "c"],
        "selected": ["a", "c"],
    }


def test_add1_raises_the_shares_until_the_outcome_is_exhaustive() -> None:
    # Shares of 10: a's five supporters hold 50 < 60; b is bought at 8 each. {b} leaves 60, where
    # a fits: not exhaustive. d = max(1, 100 // 10000) = 1. At 11, a's side holds 55. At 12 it
    # holds 60: a costs 12 each, 12/60 = 1/5, the same as b's 8/40, and a comes first. {a, b}
    # spends exactly 100: exhaustive, kept.
    assert selected(budget(100, a=60, b=40), [(["a"], 5), (["b"], 5)]) == ["a", "b"]


def test_add1_keeps_the_last_outcome_that_fits_then_greedy_completes() -> None:
    # Shares of 10: a's side holds 60 < 80; b and c tie at 30/4 each, b first; b's payers keep
    # 2.5 each, 10 < 30 for c. {b} leaves 70: c fits, not exhaustive. Shares 11, 12, 13 give {b}
    # again (a's side: 66, 72, 78). At 14 a's side holds 84: a at 80/6 each (1/6 of its cost)
    # before b (1/4), then b, so {a, b} spends 110 > 100: keep {b} from 13. Greedy: a (6 approve)
    # does not fit in 70 and is skipped, c (4) fits.
    spec = budget(100, a=80, b=30, c=30)
    assert selected(spec, [(["a"], 6), (["b", "c"], 4)]) == ["b", "c"]
    one_each = [(["a"], 1)] * 6 + [(["c", "b"], 1)] * 4
    assert selected(spec, one_each) == ["b", "c"]


def test_ties_go_by_question_order_not_by_id() -> None:
    # One voter with the whole budget: y and x both cost it all (ratio 1); y is listed first.
    assert selected(budget(50, y=50, x=50), [(["x", "y"], 1)]) == ["y"]
    assert selected(budget(50, x=50, y=50), [(["x", "y"], 1)]) == ["x"]


def test_a_project_nobody_approved_is_never_selected() -> None:
    # z fits after a, and greedy completion would take it; nobody approved it.
    assert selected(budget(100, a=10, z=5), [(["a"], 1)]) == ["a"]
    assert selected(budget(100, a=10, z=5), [([], 3)]) == []


def test_no_weight_selects_nothing() -> None:
    result = count(budget(100, a=10, z=5), [])
    assert result == {"counts": {"a": 0, "z": 0}, "ranking": ["a", "z"], "selected": []}


def test_what_is_approved_and_fits_is_all_selected() -> None:
    # One voter in ten approves a: 10 < 60, so MES alone never buys it while the outcome stays
    # feasible (every outcome is a subset of {a}); greedy completion then adds it.
    assert selected(budget(100, a=60, b=30), [(["a"], 1), ([], 9)]) == ["a"]


def test_empty_ballots_share_the_budget() -> None:
    # Alone, the voter holds 100: a and b both cost it all of their cost (ratio 1), a first; 20
    # is left, b (40) no longer fits: exhaustive. With an empty ballot beside it, shares are 50:
    # a is out of reach, b is bought, and the 60 left cannot pay for a: exhaustive.
    spec = budget(100, a=80, b=40)
    assert selected(spec, [(["a", "b"], 1)]) == ["a"]
    assert selected(spec, [(["a", "b"], 1), ([], 1)]) == ["b"]


def test_the_add1_step_is_budget_over_1000_w() -> None:
    # Three voters, shares of 3333 rising by d = 9999 // 3000 = 3. Up to 3900 MES buys {a, c}
    # (4036, d still fits: not exhaustive); at 3903 it buys b and c (10039 > 9999), so {a, c}
    # is kept and greedy takes b (7802) if it fits in the 5963 left (no), then d (5201). With
    # steps of 1, the share 3901 would be tried, where MES buys {a, b} (9601, exhaustive).
    # Found by a random search; pabutools gives the same.
    spec = budget(9999, a=1799, b=7802, c=2237, d=5201)
    ballots = [(["a", "c"], 1), (["b"], 1), (["b", "c", "d"], 1)]
    assert selected(spec, ballots) == ["a", "c", "d"]


def test_emptying_the_partition_memo_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = budget(9999, a=1799, b=7802, c=2237, d=5201)
    ballots = [(["a", "c"], 1), (["b"], 1), (["b", "c", "d"], 1), (["a", "d"], 2)]
    expected = selected(spec, ballots)
    monkeypatch.setattr(equal_shares, "_MEMO_GROUPS", 1)
    assert selected(spec, ballots) == expected


def test_add1_skips_the_shares_that_cannot_change_the_outcome() -> None:
    # 1010 voters share 1,000,000, about 990 each, and d = 1. p is bought at 400,000/990 each.
    # big and bigger need 60,000 from each of their ten supporters: about 59,000 raises of
    # one unit, every one with the outcome {p}. In such a run every supporter paid in full, so
    # the shares can rise straight to where big becomes affordable. There, big and bigger are
    # bought too (1,600,000 > 1,000,000), so {p} is kept and greedy adds big, then bigger no
    # longer fits.
    spec = budget(1_000_000, p=400_000, big=600_000, bigger=600_000)
    ballots = [(["p"], 990), (["big"], 10), (["bigger"], 10)]
    assert selected(spec, ballots) == ["p", "big"]
