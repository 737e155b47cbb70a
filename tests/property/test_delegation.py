"""Properties of delegation resolution and of the replayed delegation state.

``resolve`` is checked against a brute-force resolver written here independently: it follows
each pseudonym's chain one step at a time with a visited set, as DESIGN §6 words it.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from delegation import DelegationGraph, Resolution, Trace, resolve, trace
from tests.strategies_delegation import (
    ASSEMBLIES,
    PSEUDONYMS,
    QUESTIONS,
    TOPICS,
    Case,
    Event,
    cases,
    events,
)

# The reference comparison gets the most examples; the invariants below reuse the same inputs.
_REFERENCE = settings(max_examples=500, deadline=None)
_SETTINGS = settings(max_examples=100, deadline=None)


@dataclass
class _Reference:
    classes: dict[str, str]
    carrier: dict[str, str]
    hops: dict[str, int]


def _reference(case: Case) -> _Reference:
    members = set(case.electorate)
    ref = _Reference({}, {}, {})
    for p in members:
        if p in case.voters:
            ref.classes[p] = "ballots_direct"
            ref.carrier[p] = p
            continue
        if p in case.stoppers or p not in case.delegate_of:
            ref.classes[p] = "abstained"
            continue
        visited = {p}
        current, steps = p, 0
        while True:
            nxt = case.delegate_of[current]
            steps += 1
            if nxt not in members:
                ref.classes[p] = "dead_end"
                break
            if nxt in case.voters:
                ref.classes[p] = "weight_delegated"
                ref.carrier[p] = nxt
                ref.hops[p] = steps
                break
            if nxt in visited:
                ref.classes[p] = "cycle"
                break
            if nxt in case.stoppers or nxt not in case.delegate_of:
                ref.classes[p] = "dead_end"
                break
            visited.add(nxt)
            current = nxt
    return ref


def _run(case: Case) -> Resolution:
    return resolve(case.electorate, case.delegate_of, case.voters, stoppers=case.stoppers)


def _summary(r: Resolution) -> tuple[object, ...]:
    counts = (r.electorate, r.ballots_direct, r.weight_delegated, r.dead_end, r.cycle)
    return (*counts, r.abstained, r.weights, r.hops)


@_REFERENCE
@given(cases())
def test_resolve_matches_the_brute_force_reference(case: Case) -> None:
    ref = _reference(case)
    result = _run(case)
    counts = Counter(ref.classes.values())
    assert result.electorate == len(ref.classes)
    assert result.ballots_direct == counts["ballots_direct"]
    assert result.weight_delegated == counts["weight_delegated"]
    assert result.dead_end == counts["dead_end"]
    assert result.cycle == counts["cycle"]
    assert result.abstained == counts["abstained"]
    assert result.weights == dict(Counter(ref.carrier.values()))
    assert result.hops == dict(Counter(ref.hops.values()))
    for p, cls in ref.classes.items():
        assert result.outcome(p) == cls
        assert result.carrier_of(p) == ref.carrier.get(p)


@_SETTINGS
@given(cases())
def test_classes_partition_the_electorate_and_weights_add_up(case: Case) -> None:
    r = _run(case)
    classes = r.ballots_direct + r.weight_delegated + r.dead_end + r.cycle + r.abstained
    assert classes == r.electorate == len(set(case.electorate))
    assert sum(r.weights.values()) == r.ballots_direct + r.weight_delegated
    assert sum(r.hops.values()) == r.weight_delegated
    assert all(w >= 1 for w in r.weights.values())
    assert set(r.weights) == case.voters & set(case.electorate)
    assert r.largest_weight() == max(r.weights.values(), default=0)
    carriers = r.carriers()
    assert carriers == sorted(carriers, key=lambda item: (-item[1], item[0]))
    assert {p for p, _ in carriers} == {p for p, w in r.weights.items() if w > 1}


@_SETTINGS
@given(cases(), st.randoms(use_true_random=False))
def test_result_does_not_depend_on_iteration_order(case: Case, rnd: random.Random) -> None:
    electorate = list(case.electorate)
    rnd.shuffle(electorate)
    items = list(case.delegate_of.items())
    rnd.shuffle(items)
    voters = list(case.voters)
    rnd.shuffle(voters)
    shuffled = Case(electorate * 2, dict(items), frozenset(voters), case.stoppers)
    first, second = _run(case), _run(shuffled)
    assert _summary(first) == _summary(second)
    assert first.carriers() == second.carriers()
    for p in electorate:
        assert first.outcome(p) == second.outcome(p)
        assert first.carrier_of(p) == second.carrier_of(p)


@_SETTINGS
@given(cases(stoppers=False))
def test_trace_agrees_with_resolve(case: Case) -> None:
    result = _run(case)
    members = frozenset(case.electorate)
    histogram: Counter[int] = Counter()
    for p in members:
        t = trace(p, case.delegate_of, case.voters, members)
        assert t.chain[0] == p
        outcome = result.outcome(p)
        if outcome == "ballots_direct":
            assert t == Trace([p], "ballot")
        elif outcome == "weight_delegated":
            assert t.end == "ballot"
            assert t.chain[-1] == result.carrier_of(p)
            histogram[len(t.chain) - 1] += 1
        elif outcome == "abstained":
            assert t == Trace([p], "abstained")
        else:
            assert t.end == outcome
            assert len(t.chain) >= 2
        if t.end == "cycle":
            assert t.chain[-1] in t.chain[:-1]
        assert len(set(t.chain)) == len(t.chain) - (t.end == "cycle")
    assert dict(histogram) == result.hops


@_SETTINGS
@given(cases(stoppers=False), st.data())
def test_a_new_ballot_changes_only_the_chains_through_it(case: Case, data: st.DataObject) -> None:
    non_voters = sorted(set(case.electorate) - case.voters)
    if not non_voters:
        return
    p = data.draw(st.sampled_from(non_voters))
    before = _run(case)
    after = _run(Case(case.electorate, case.delegate_of, case.voters | {p}, case.stoppers))
    members = frozenset(case.electorate)
    for q in members:
        through_p = p in trace(q, case.delegate_of, case.voters, members).chain
        if through_p:
            assert after.carrier_of(q) == p
        else:
            assert after.outcome(q) == before.outcome(q)
            assert after.carrier_of(q) == before.carrier_of(q)
    assert after.ballots_direct == before.ballots_direct + 1


@_SETTINGS
@given(cases())
def test_weights_are_one_plus_what_flows_in(case: Case) -> None:
    r = _run(case)
    members = set(case.electorate)
    flows = Counter(r.carrier_of(p) for p in members if r.outcome(p) == "weight_delegated")
    assert r.weights == {v: 1 + flows[v] for v in case.voters & members}
    for s in case.stoppers & members - case.voters:
        assert r.outcome(s) == "abstained"
    # Facts about pseudonyms outside the electorate are ignored.
    inside = {p: d for p, d in case.delegate_of.items() if p in members}
    trimmed = Case(case.electorate, inside, case.voters & members, case.stoppers & members)
    assert _summary(_run(trimmed)) == _summary(r)


# --- DelegationGraph against a replay of the whole log ---------------------------------------


def _latest(log: list[Event]) -> dict[tuple[str, str, str, str], Event]:
    """The last record of each (assembly, pseudonym, scope kind, scope id) in the log."""
    return {(e.assembly, e.pseudonym, e.scope.kind, e.scope.id): e for e in log}


def _reference_effective(
    latest: dict[tuple[str, str, str, str], Event],
    assembly: str,
    pseudonym: str,
    topic: str | None,
    question: str | None,
) -> str | None:
    scopes = [("question", question), ("topic", topic), ("assembly", assembly)]
    for kind, ident in scopes:
        if ident is None:
            continue
        event = latest.get((assembly, pseudonym, kind, ident))
        if event is not None and not event.revoke:  # a revocation: the broader scope applies
            return event.delegate
    return None


def _reference_incoming(log: list[Event], assembly: str) -> dict[str, dict[str, int]]:
    current: dict[tuple[str, str], str | None] = {}
    for event in log:
        if event.assembly != assembly:
            continue
        key = (event.pseudonym, event.scope.to_key())
        if event.revoke:
            current.pop(key, None)
        else:
            current[key] = event.delegate
    counts: dict[str, Counter[str]] = {}
    for (_, scope_key), target in current.items():
        if target is not None:
            counts.setdefault(target, Counter())[scope_key] += 1
    return {d: dict(c) for d, c in counts.items()}


def _replay(graph: DelegationGraph, log: list[Event]) -> None:
    for e in log:
        if e.revoke:
            graph.revoke(e.pseudonym, e.scope, assembly=e.assembly)
        else:
            graph.delegate(e.pseudonym, e.scope, e.delegate, assembly=e.assembly)


@settings(max_examples=150, deadline=None)
@given(st.lists(events(), max_size=40), st.lists(events(), max_size=10))
def test_graph_matches_a_replay_of_the_log(log: list[Event], more: list[Event]) -> None:
    graph = DelegationGraph()
    _replay(graph, log)
    frozen = graph.snapshot()
    _replay(graph, more)
    for state, history in ((frozen, log), (graph, log + more)):
        latest = _latest(history)
        for assembly in ASSEMBLIES:
            assert state.incoming(assembly) == _reference_incoming(history, assembly)
            for topic in (None, *TOPICS):
                for question in (None, *QUESTIONS):
                    expected = {}
                    for p in PSEUDONYMS:
                        want = _reference_effective(latest, assembly, p, topic, question)
                        got = state.effective(p, assembly=assembly, topic=topic, question=question)
                        assert got == want
                        if want is not None:
                            expected[p] = want
                    mapped = state.delegate_map(assembly=assembly, topic=topic, question=question)
                    assert mapped == expected
