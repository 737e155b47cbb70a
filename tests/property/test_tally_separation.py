"""What a tally counts, and what it never counts (docs/PROTOCOL.md §6.3, §6.5, §6b.4).

- Lobby positions are tallied apart: adding or removing any of them changes the ``lobbies``
  part only, never ``citizens`` nor ``stats`` (every method).
- Opinions never enter a tally: the same board without its opinion leaves gives byte-identical
  ``tally`` leaves.
- The five classes partition the electorate, and the ballots' weights add up to the counted
  weight ``ballots_direct + weight_delegated`` (checked against a naive resolver).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit import parse_envelope, tally_result
from ballot import QuestionSpec
from crypto.encoding import JSONValue, canonical_json, parse_json
from tests.boardgen import BoardBuilder
from tests.strategies_ballot import METHODS, choices, specs
from tests.strategies_delegation import Case, cases

LOBBY_IDS = ("aa-lobby", "bakers", "builders", "cyclists", "z-9")

# -- (a) and (c): tally_result directly --------------------------------------------------------


@st.composite
def inputs(
    draw: st.DrawFn, method: str
) -> tuple[QuestionSpec, Case, dict[str, JSONValue], dict[str, JSONValue]]:
    """A question, a delegation case, ballots by members of its electorate, lobby positions."""
    spec = draw(specs(method))  # type: ignore[arg-type]
    case = draw(cases(stoppers=False))
    members = set(case.electorate)
    ballots = {p: draw(choices(spec)) for p in sorted(case.voters & members)}
    positions = draw(st.dictionaries(st.sampled_from(LOBBY_IDS), choices(spec)))
    return spec, case, ballots, positions


def _citizens_and_stats(result: Mapping[str, JSONValue]) -> bytes:
    return canonical_json({"citizens": result["citizens"], "stats": result["stats"]})


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_lobby_positions_change_only_the_lobby_column(method: str, data: st.DataObject) -> None:
    spec, case, ballots, positions = data.draw(inputs(method))
    lobby_id = data.draw(st.sampled_from(LOBBY_IDS), label="lobby")
    choice = data.draw(choices(spec), label="choice")
    added = {**positions, lobby_id: choice}
    removed = {k: v for k, v in positions.items() if k != lobby_id}

    def run(pos: dict[str, JSONValue]) -> dict[str, JSONValue]:
        return tally_result(spec, case.electorate, case.delegate_of, ballots, pos)

    base, with_added, with_removed, without = run(positions), run(added), run(removed), run({})
    reference = _citizens_and_stats(without)
    for result in (base, with_added, with_removed):
        assert _citizens_and_stats(result) == reference, "a lobby position changed citizens/stats"
    for result, pos in ((base, positions), (with_added, added), (with_removed, removed)):
        lobbies = result["lobbies"]
        assert isinstance(lobbies, dict)
        assert lobbies["positions"] == [{"lobby_id": k, "choice": pos[k]} for k in sorted(pos)], (
            "positions are each lobby's latest, sorted by lobby_id"
        )
        counts = lobbies["counts"]
        assert isinstance(counts, dict)
        assert list(counts) == list(spec.option_ids())
        # Each position weighs 1: the lobby column is the method's counts over the positions.
        expected: Counter[str] = Counter()
        for c in pos.values():
            if spec.method == "single":
                expected[str(c)] += 1
            elif spec.method == "ranked":
                assert isinstance(c, list)
                expected[str(c[0])] += 1
            else:
                assert isinstance(c, list)
                expected.update(str(o) for o in c)
        assert counts == {o: expected[o] for o in spec.option_ids()}
    assert without["lobbies"] == {
        "positions": [],
        "counts": dict.fromkeys(spec.option_ids(), 0),
    }


def _naive(case: Case, voters: set[str]) -> tuple[Counter[str], dict[str, int], Counter[int]]:
    """Classes, voter weights and hop histogram, by walking every chain (§6.3, literally)."""
    members = set(case.electorate)
    classes: Counter[str] = Counter()
    weights = dict.fromkeys(voters, 1)
    hops: Counter[int] = Counter()
    for p in members:
        if p in voters:
            classes["ballots_direct"] += 1
            continue
        if p not in case.delegate_of:
            classes["abstained"] += 1
            continue
        seen, current, n = {p}, p, 0
        while True:
            current, n = case.delegate_of[current], n + 1
            if current not in members:
                classes["dead_end"] += 1
                break
            if current in voters:
                classes["weight_delegated"] += 1
                weights[current] += 1
                hops[n] += 1
                break
            if current in seen:
                classes["cycle"] += 1
                break
            if current not in case.delegate_of:
                classes["dead_end"] += 1
                break
            seen.add(current)
    return classes, weights, hops


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_classes_partition_the_electorate_and_weights_add_up(
    method: str, data: st.DataObject
) -> None:
    spec, case, ballots, positions = data.draw(inputs(method))
    result = tally_result(spec, case.electorate, case.delegate_of, ballots, positions)
    citizens, stats = result["citizens"], result["stats"]
    assert isinstance(citizens, dict)
    assert isinstance(stats, dict)
    names = ("ballots_direct", "weight_delegated", "dead_end", "cycle", "abstained")
    got = {name: citizens[name] for name in names}
    assert citizens["electorate"] == len(set(case.electorate))
    assert sum(got.values()) == citizens["electorate"]  # type: ignore[arg-type]
    classes, weights, hops = _naive(case, set(ballots))
    assert got == {name: classes[name] for name in names}
    direct, delegated = citizens["ballots_direct"], citizens["weight_delegated"]
    assert isinstance(direct, int)
    assert isinstance(delegated, int)
    assert direct == len(ballots)
    # Carriers: the ballots of weight > 1, heaviest first, then by pseudonym.
    carriers = cast(list[dict[str, Any]], citizens["carriers"])
    heavy = sorted(((p, w) for p, w in weights.items() if w > 1), key=lambda i: (-i[1], i[0]))
    assert carriers == [{"pseudonym": p, "weight": w} for p, w in heavy]
    carried = sum(int(c["weight"]) for c in carriers)
    # Every ballot that is not a carrier weighs 1: carriers + the rest = the counted weight.
    assert carried + (direct - len(carriers)) == direct + delegated
    assert sum(weights.values()) == direct + delegated
    # Stats describe the same resolution.
    assert stats["carriers"] == len(carriers)
    assert stats["largest_carrier_weight"] == max(weights.values(), default=0)
    assert stats["chain_lengths"] == {str(h): n for h, n in sorted(hops.items())}
    assert sum(hops.values()) == delegated
    # The counts are the weighted ballots, for every method.
    counts = citizens["counts"]
    assert isinstance(counts, dict)
    assert list(counts) == list(spec.option_ids())
    tallied: Counter[str] = Counter()
    for p, choice in ballots.items():
        if spec.method == "single":
            tallied[str(choice)] += weights[p]
        elif spec.method == "ranked":
            assert isinstance(choice, list)
            tallied[str(choice[0])] += weights[p]
        else:
            assert isinstance(choice, list)
            for o in choice:
                tallied[str(o)] += weights[p]
    assert counts == {o: tallied[o] for o in spec.option_ids()}
    if spec.method in ("single", "ranked"):
        assert sum(counts.values()) == direct + delegated  # type: ignore[arg-type]


# -- (a) and (b) on whole boards: BoardBuilder ------------------------------------------------

TOPICS = ("parks", "roads")
STANCES = ("for", "against", "neutral")
Action = tuple[Any, ...]


@dataclass(frozen=True)
class Program:
    citizens: int
    questions: tuple[tuple[str, str], ...]  # (method, topic) of q-0, q-1, ...
    lobbies: int
    actions: tuple[Action, ...]


@st.composite
def programs(draw: st.DrawFn) -> Program:
    n = draw(st.integers(2, 5))
    questions = tuple(
        draw(
            st.lists(
                st.tuples(st.sampled_from(METHODS), st.sampled_from(TOPICS)), min_size=1, max_size=3
            )
        )
    )
    lobbies = draw(st.integers(1, 2))
    who = st.integers(0, n - 1)
    q = st.integers(0, len(questions) - 1)
    k = st.integers(0, 2**16)
    scope = st.one_of(
        st.just(("assembly",)),
        st.tuples(st.just("topic"), st.sampled_from(TOPICS)),
        st.tuples(st.just("question"), q),
    )
    ballot = st.tuples(st.just("ballot"), who, q, k)
    delegation = st.tuples(st.just("delegation"), who, st.one_of(st.none(), who), scope)
    opinion = st.tuples(st.just("opinion"), who, q, st.sampled_from(STANCES))
    action = st.one_of(  # repeated branches are drawn more often; closes are rare
        ballot,
        ballot,
        delegation,
        delegation,
        st.tuples(st.just("revocation"), who, scope),
        opinion,
        opinion,
        st.tuples(st.just("position"), st.integers(0, lobbies - 1), q, k),
        st.tuples(st.just("close"), q),
    )
    actions = draw(st.lists(action, min_size=8, max_size=40))
    return Program(n, questions, lobbies, tuple(actions))


def _choice(b: BoardBuilder, question_id: str, k: int) -> JSONValue:
    """A valid choice for the question, determined by ``k`` alone (no builder randomness)."""
    ids = list(b.state.questions[question_id].spec.option_ids())
    rng = random.Random(k)
    method = b.state.questions[question_id].spec.method
    if method == "single":
        return ids[k % len(ids)]
    low = 1 if method == "ranked" else 0
    return list(rng.sample(ids, rng.randint(low, len(ids))))


def _build(program: Program, *, opinions: bool, lobbies: bool) -> BoardBuilder:
    """The program's board; opinions and lobby positions included only when asked."""
    b = BoardBuilder(5)
    b.assembly("city", threshold=2)
    for topic in TOPICS:
        b.topic("city", topic)
    qids = [f"q-{i}" for i in range(len(program.questions))]
    for qid, (method, topic) in zip(qids, program.questions, strict=True):
        b.question("city", topic, qid, method)
    people = [b.enroll("city") for _ in range(program.citizens)]
    # Lobbies come after every enrollment, so their keys never shift the citizens' keys.
    lobby_ids = [f"lobby-{i}" for i in range(program.lobbies)]
    if lobbies:
        for lobby_id in lobby_ids:
            b.lobby_registered(lobby_id)

    def is_open(i: int) -> bool:
        return b.state.questions[qids[i]].closed is None

    def scope(s: tuple[Any, ...]) -> tuple[str, str] | None:
        if s[0] == "assembly":
            return None
        return (s[0], s[1]) if s[0] == "topic" else ("question", qids[s[1]])

    for act in program.actions:
        kind = act[0]
        if kind == "ballot" and is_open(act[2]):
            b.ballot(people[act[1]], qids[act[2]], _choice(b, qids[act[2]], act[3]))
        elif kind in ("delegation", "revocation"):
            s = act[-1]
            if s[0] == "question" and not is_open(s[1]):
                continue
            if kind == "revocation":
                b.revocation(people[act[1]], scope(s))
            elif act[2] != act[1]:
                target = None if act[2] is None else people[act[2]]
                b.delegation(people[act[1]], target, scope(s))
        elif kind == "opinion" and opinions and is_open(act[2]):
            b.opinion(people[act[1]], qids[act[2]], act[3])
        elif kind == "position" and lobbies and is_open(act[2]):
            b.lobby_position(lobby_ids[act[1]], qids[act[2]], _choice(b, qids[act[2]], act[3]))
        elif kind == "close" and is_open(act[1]):
            b.close(qids[act[1]])
    for i, qid in enumerate(qids):
        if is_open(i):
            b.close(qid)
    return b


def _tallies(b: BoardBuilder) -> dict[str, bytes]:
    """Each question's ``tally`` leaf, byte for byte."""
    out = {}
    for leaf in b.leaves():
        record = parse_envelope(parse_json(leaf)).record
        if record.type == "tally":
            out[record.s("question_id")] = leaf
    return out


def _types(b: BoardBuilder) -> Counter[str]:
    return Counter(parse_envelope(parse_json(leaf)).record.type for leaf in b.leaves())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=programs())
def test_opinions_never_change_a_tally_and_lobbies_only_their_column(program: Program) -> None:
    full = _build(program, opinions=True, lobbies=True)
    silent = _build(program, opinions=False, lobbies=True)
    no_lobbies = _build(program, opinions=True, lobbies=False)
    # The boards differ by their opinion leaves only (and by the lobbies' own leaves).
    without_opinions = _types(full)
    without_opinions.pop("opinion", None)
    assert _types(silent) == without_opinions
    full_tallies = _tallies(full)
    assert set(full_tallies) == {f"q-{i}" for i in range(len(program.questions))}
    assert _tallies(silent) == full_tallies, "opinions changed a tally leaf"
    for qid, leaf in _tallies(no_lobbies).items():
        with_lobbies = parse_envelope(parse_json(full_tallies[qid])).record.data["result"]
        without = parse_envelope(parse_json(leaf)).record.data["result"]
        assert isinstance(with_lobbies, dict)
        assert isinstance(without, dict)
        assert _citizens_and_stats(with_lobbies) == _citizens_and_stats(without), (
            f"lobby positions changed the citizens' result or stats of {qid}"
        )
        assert without["lobbies"] == {
            "positions": [],
            "counts": dict.fromkeys(full.state.questions[qid].spec.option_ids(), 0),
        }
        latest = full.state.questions[qid].positions
        assert with_lobbies["lobbies"]["positions"] == [  # type: ignore[call-overload,index]
            {"lobby_id": k, "choice": latest[k]} for k in sorted(latest)
        ]
