"""resolve() and trace() on hand-made electorates (DESIGN §5 ``trace``, §6, §10 "Initiatives")."""

from __future__ import annotations

import itertools

import pytest

from delegation import NotInElectorate, Resolution, Trace, resolve, trace


def _classes(r: Resolution) -> tuple[int, int, int, int, int]:
    return r.ballots_direct, r.weight_delegated, r.dead_end, r.cycle, r.abstained


def test_empty_electorate() -> None:
    r = resolve([], {}, frozenset())
    assert (r.electorate, *_classes(r)) == (0, 0, 0, 0, 0, 0)
    assert r.weights == {} and r.hops == {}
    assert r.carriers() == [] and r.largest_weight() == 0


def test_every_class_once() -> None:
    # a votes; b -> a; c -> b -> a; d -> e (e has neither); f <-> g; h has nothing.
    electorate = ["a", "b", "c", "d", "e", "f", "g", "h"]
    delegate_of = {"b": "a", "c": "b", "d": "e", "f": "g", "g": "f"}
    r = resolve(electorate, delegate_of, {"a"})
    assert r.electorate == 8
    assert _classes(r) == (1, 2, 1, 2, 2)
    assert r.weights == {"a": 3}
    assert r.hops == {1: 1, 2: 1}
    outcomes = {p: r.outcome(p) for p in electorate}
    assert outcomes == {
        "a": "ballots_direct",
        "b": "weight_delegated",
        "c": "weight_delegated",
        "d": "dead_end",
        "e": "abstained",
        "f": "cycle",
        "g": "cycle",
        "h": "abstained",
    }
    assert [r.carrier_of(p) for p in "abcdefgh"] == ["a", "a", "a", None, None, None, None, None]


def test_direct_vote_overrides_own_delegation() -> None:
    r = resolve(["a", "b", "c"], {"a": "b", "b": "c", "c": "a"}, {"b"})
    assert r.weights == {"b": 3}  # c -> a -> b: a's delegation is followed, b's is not
    assert r.outcome("b") == "ballots_direct"
    assert r.hops == {1: 1, 2: 1}


def test_cycle_with_a_tail_and_a_voting_member() -> None:
    delegate_of = {"t1": "t2", "t2": "a", "a": "b", "b": "c", "c": "a"}
    r = resolve(list(delegate_of), delegate_of, frozenset())
    assert r.cycle == 5
    r = resolve(list(delegate_of), delegate_of, {"c"})
    assert r.weights == {"c": 5}
    assert r.hops == {1: 1, 2: 1, 3: 1, 4: 1}  # b, a, t2, t1


def test_delegate_outside_the_electorate_is_a_dead_end() -> None:
    # "late" registered after the close: it cannot carry weight, even with a ballot or a
    # delegation of its own, which are ignored.
    r = resolve(["a", "b"], {"a": "late", "b": "a", "late": "b"}, {"late"})
    assert _classes(r) == (0, 0, 2, 0, 0)
    assert r.weights == {}
    with pytest.raises(NotInElectorate):
        r.outcome("late")
    with pytest.raises(LookupError):
        r.carrier_of("late")


def test_stoppers_abstain_and_end_the_chains_that_reach_them() -> None:
    # For an initiative: s withdrew its support. Its own weight goes nowhere, and a chain that
    # reaches it is a dead end even though s delegates onwards to a supporter.
    electorate = ["v", "s", "a", "b", "c"]
    delegate_of = {"s": "v", "a": "s", "b": "a", "c": "v"}
    r = resolve(electorate, delegate_of, {"v"}, stoppers={"s"})
    assert r.outcome("s") == "abstained"
    assert r.outcome("a") == r.outcome("b") == "dead_end"
    assert _classes(r) == (1, 1, 2, 0, 1)
    assert r.weights == {"v": 2}
    # Without the stopper all weight reaches v.
    assert resolve(electorate, delegate_of, {"v"}).weights == {"v": 5}


def test_a_stopper_without_delegation_still_abstains() -> None:
    r = resolve(["s", "a"], {"a": "s"}, frozenset(), stoppers={"s", "elsewhere"})
    assert (r.outcome("s"), r.outcome("a")) == ("abstained", "dead_end")


def test_a_ballot_outranks_being_a_stopper() -> None:
    r = resolve(["v", "a"], {"a": "v"}, {"v"}, stoppers={"v"})
    assert r.weights == {"v": 2}


def test_carriers_by_weight_then_pseudonym_in_str_order() -> None:
    # "B" < "a" < "b" in plain str (ASCII) order, as b64u pseudonyms compare.
    electorate = ["a", "b", "B", "x1", "x2", "x3", "x4", "x5", "solo"]
    delegate_of = {"x1": "a", "x2": "b", "x3": "B", "x4": "x3", "x5": "b"}
    r = resolve(electorate, delegate_of, {"a", "b", "B", "solo"})
    assert r.carriers() == [("B", 3), ("b", 3), ("a", 2)]
    assert r.largest_weight() == 3
    assert r.weights["solo"] == 1


def test_voters_outside_the_electorate_are_not_counted() -> None:
    r = resolve(["a"], {}, {"a", "stranger"})
    assert r.weights == {"a": 1}
    assert r.ballots_direct == 1


def test_duplicate_electorate_entries_count_once() -> None:
    r = resolve(["a", "b", "a"], {"b": "a"}, {"a"})
    assert r.electorate == 2
    assert r.weights == {"a": 2}


def test_self_delegation_is_a_cycle() -> None:
    # The board refuses it; resolve still terminates and calls it a cycle.
    r = resolve(["a", "b"], {"a": "a", "b": "a"}, frozenset())
    assert r.cycle == 2
    assert trace("a", {"a": "a"}, frozenset(), {"a"}) == Trace(["a", "a"], "cycle")


def test_deep_chain_has_no_recursion_limit() -> None:
    n = 200_000
    people = [f"p{i}" for i in range(n)]
    delegate_of = dict(itertools.pairwise(people))
    r = resolve(reversed(people), delegate_of, {people[-1]})
    assert r.weights == {people[-1]: n}
    assert r.hops == dict.fromkeys(range(1, n), 1)
    assert r.outcome(people[0]) == "weight_delegated"
    t = trace(people[0], delegate_of, {people[-1]}, frozenset(people))
    assert t.chain == people and t.end == "ballot"
    # Closing the chain into a ring makes every pseudonym a cycle.
    delegate_of[people[-1]] = people[0]
    assert resolve(people, delegate_of, frozenset()).cycle == n


# --- trace ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "chain", "end"),
    [
        ("v", ["v"], "ballot"),
        ("h", ["h"], "abstained"),
        ("b", ["b", "v"], "ballot"),
        ("c", ["c", "b", "v"], "ballot"),
        ("d", ["d", "h"], "dead_end"),
        ("e", ["e", "late"], "dead_end"),
        ("x", ["x", "y", "z", "x"], "cycle"),
        ("t", ["t", "x", "y", "z", "x"], "cycle"),
        ("u", ["u", "t", "x", "y", "z", "x"], "cycle"),
        ("w", ["w", "v"], "ballot"),
    ],
)
def test_trace(start: str, chain: list[str], end: str) -> None:
    electorate = frozenset({"v", "h", "b", "c", "d", "e", "x", "y", "z", "t", "u", "w"})
    delegate_of = {
        "v": "c",  # a voter's own delegation is never followed
        "b": "v",
        "c": "b",
        "d": "h",
        "e": "late",
        "x": "y",
        "y": "z",
        "z": "x",
        "t": "x",
        "u": "t",
        "w": "v",
    }
    t = trace(start, delegate_of, {"v", "late"}, electorate)
    assert t == Trace(chain, end)  # type: ignore[arg-type]
    r = resolve(electorate, delegate_of, {"v", "late"})
    expected = {"ballot": ("ballots_direct", "weight_delegated")}.get(end, (end,))
    assert r.outcome(start) in expected


def test_trace_tail_into_a_cycle_ends_at_the_first_repeat() -> None:
    delegate_of = {"a": "b", "b": "c", "c": "b"}
    assert trace("a", delegate_of, frozenset(), {"a", "b", "c"}) == Trace(
        ["a", "b", "c", "b"], "cycle"
    )


def test_trace_outside_the_electorate() -> None:
    with pytest.raises(NotInElectorate):
        trace("late", {"late": "a"}, {"a"}, {"a"})
