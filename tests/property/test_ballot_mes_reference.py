"""The ``budget`` tally agrees with pabutools, built as DESIGN §6 "Reference" says.

pabutools is a test-only dependency: it expands every weighted ballot into identical voters and
runs MES with mpq fractions, so it is an independent check of the grouped, exact implementation.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from pabutools.election import ApprovalBallot, ApprovalProfile, Cost_Sat, Instance, Project
from pabutools.rules import (
    exhaustion_by_budget_increase,
    greedy_utilitarian_welfare,
    method_of_equal_shares,
)

from ballot import QuestionSpec, count
from tests.strategies_ballot import Ballots, counted


def reference_selected(spec: QuestionSpec, ballots: Ballots) -> list[str]:
    """DESIGN §6 "Reference", word for word, plus its rule that w = 0 selects nothing."""
    weight = sum(w for _, w in ballots)
    if weight == 0:
        # Not reachable through pabutools: d would divide by zero, and a budget_step of
        # w * d = 0 would never end exhaustion_by_budget_increase.
        return []
    assert spec.budget is not None
    projects = [Project(name=f"{i:06d}", cost=o.cost) for i, o in enumerate(spec.options)]
    by_id = dict(zip(spec.option_ids(), projects, strict=True))
    instance = Instance(projects, budget_limit=spec.budget)
    profile = ApprovalProfile(instance=instance)
    for choice, w in ballots:
        profile.extend([ApprovalBallot(by_id[i] for i in choice) for _ in range(w)])
    d = max(1, spec.budget // (1000 * weight))
    mes = exhaustion_by_budget_increase(
        instance,
        profile,
        method_of_equal_shares,
        {"sat_class": Cost_Sat},
        budget_step=weight * d,
    )
    final = greedy_utilitarian_welfare(
        instance, profile, sat_class=Cost_Sat, initial_budget_allocation=mes
    )
    approved = {i for choice, _ in ballots for i in choice}
    names = {p.name for p in final}
    return [i for i, p in by_id.items() if p.name in names and i in approved]


@settings(max_examples=50, deadline=None)
@given(counted("budget"))
def test_equal_shares_agrees_with_pabutools(case: tuple[QuestionSpec, Ballots]) -> None:
    spec, ballots = case
    result: dict[str, Any] = count(spec, ballots)
    assert result["selected"] == reference_selected(spec, ballots)


@settings(max_examples=10, deadline=None)
@given(
    counted(
        "budget", max_ballots=2, max_weight=2, max_cost=4000, min_budget=2000, max_budget=5000
    )
)
def test_equal_shares_agrees_with_pabutools_with_coarse_steps(
    case: tuple[QuestionSpec, Ballots],
) -> None:
    # A budget of at least 2000 w makes the Add1 step d = budget // (1000 w) more than 1.
    spec, ballots = case
    result: dict[str, Any] = count(spec, ballots)
    assert result["selected"] == reference_selected(spec, ballots)
