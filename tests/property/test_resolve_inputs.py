"""resolve's input shapes: a frozenset electorate is used as is, and ``weights`` follows voters.

``audit.tally`` relies on both: it passes the board's frozenset of members, and lines the
ballots' choices up with ``weights`` when every ballot counts.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from delegation import NotInElectorate, resolve
from tests.strategies_delegation import OUTSIDERS, Case, cases

_SETTINGS = settings(max_examples=200, deadline=None)


@_SETTINGS
@given(cases())
def test_a_frozenset_electorate_resolves_as_the_same_list(case: Case) -> None:
    listed = resolve(case.electorate, case.delegate_of, case.voters, stoppers=case.stoppers)
    frozen = resolve(
        frozenset(case.electorate), case.delegate_of, case.voters, stoppers=case.stoppers
    )
    for r in (listed, frozen):
        assert r.electorate == len(set(case.electorate))
    assert (listed.ballots_direct, listed.weight_delegated, listed.dead_end, listed.cycle) == (
        frozen.ballots_direct,
        frozen.weight_delegated,
        frozen.dead_end,
        frozen.cycle,
    )
    assert (listed.abstained, listed.weights, listed.hops) == (
        frozen.abstained,
        frozen.weights,
        frozen.hops,
    )
    for p in case.electorate:
        assert listed.outcome(p) == frozen.outcome(p)
        assert listed.carrier_of(p) == frozen.carrier_of(p)
    for p in set(OUTSIDERS) - set(case.electorate):
        with pytest.raises(NotInElectorate):
            frozen.outcome(p)


@_SETTINGS
@given(cases(), st.randoms(use_true_random=False))
def test_weights_list_the_voters_in_their_iteration_order(case: Case, rnd: random.Random) -> None:
    voters = sorted(case.voters)
    rnd.shuffle(voters)
    ordered = dict.fromkeys(voters)  # an ordered set: its keys view keeps this order
    r = resolve(case.electorate, case.delegate_of, ordered.keys(), stoppers=case.stoppers)
    members = set(case.electorate)
    assert list(r.weights) == [v for v in voters if v in members]
