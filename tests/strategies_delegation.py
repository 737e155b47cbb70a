"""Hypothesis strategies for the delegation package: resolution inputs and replayed histories.

``cases()`` mixes uniformly random delegation maps with structured ones (long chains, 2- and
3-cycles with tails, cycles with a voting member, delegates outside the electorate), under
names drawn in a random order so that no test depends on the order of pseudonyms.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from hypothesis import strategies as st

from delegation import Scope

OUTSIDERS = ("out-a", "out-b")  # pseudonyms that may be named as delegates but never vote here


@dataclass(frozen=True)
class Case:
    """The arguments of ``resolve``: an electorate (in iteration order) and its facts."""

    electorate: list[str]
    delegate_of: dict[str, str]
    voters: frozenset[str]
    stoppers: frozenset[str]


def _names(n: int) -> list[str]:
    return [f"p{i:03d}" for i in range(n)]


@st.composite
def random_cases(draw: st.DrawFn, *, max_size: int = 25, stoppers: bool = True) -> Case:
    """Any delegation map over a small electorate, self-delegations and outsiders included."""
    people = _names(draw(st.integers(0, max_size)))
    anyone = st.sampled_from([*people, *OUTSIDERS])
    delegate_of = draw(st.dictionaries(anyone, anyone)) if people else {}
    voters = draw(st.frozensets(anyone)) if people else frozenset()
    stop = draw(st.frozensets(anyone)) if people and stoppers else frozenset()
    return Case(draw(st.permutations(people)), delegate_of, voters, stop)


@st.composite
def structured_cases(draw: st.DrawFn, *, stoppers: bool = True) -> Case:
    """A few components: chains with every kind of end, and rings fed by tails."""
    edges: list[tuple[int, int | str]] = []  # (node, node or outsider)
    voters: set[int] = set()
    stop: set[int] = set()
    size = 0

    def fresh(k: int) -> list[int]:
        nonlocal size
        size += k
        return list(range(size - k, size))

    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            chain = fresh(draw(st.integers(1, 80)))
            edges += itertools.pairwise(chain)
            end = draw(st.sampled_from(["voter", "abstainer", "outsider", "loop", "stopper"]))
            if end == "voter":
                (last,) = fresh(1)
                voters.add(last)
                edges.append((chain[-1], last))
            elif end in ("abstainer", "stopper"):
                (last,) = fresh(1)
                edges.append((chain[-1], last))
                if end == "stopper" and stoppers:
                    stop.add(last)
            elif end == "outsider":
                edges.append((chain[-1], draw(st.sampled_from(OUTSIDERS))))
            else:
                edges.append((chain[-1], draw(st.sampled_from(chain))))
        else:
            ring = fresh(draw(st.integers(2, 3)))
            edges += zip(ring, [*ring[1:], ring[0]], strict=True)
            if draw(st.booleans()):
                voters.add(draw(st.sampled_from(ring)))
            feeds = list(ring)
            for _ in range(draw(st.integers(0, 3))):
                tail = fresh(draw(st.integers(1, 6)))
                edges += zip(tail, [*tail[1:], draw(st.sampled_from(feeds))], strict=True)
                feeds += tail
    shuffle = draw(st.randoms(use_true_random=False)).shuffle  # cheaper than permutations()
    names = _names(size)
    shuffle(names)
    shuffle(edges)
    delegate_of = {names[a]: b if isinstance(b, str) else names[b] for a, b in edges}
    electorate = list(names)
    shuffle(electorate)
    return Case(
        electorate,
        delegate_of,
        frozenset(names[i] for i in voters),
        frozenset(names[i] for i in stop),
    )


def cases(*, stoppers: bool = True) -> st.SearchStrategy[Case]:
    """Random and structured resolution inputs."""
    return st.one_of(random_cases(stoppers=stoppers), structured_cases(stoppers=stoppers))


# --- replayed histories for DelegationGraph --------------------------------------------------

ASSEMBLIES = ("city", "region")
TOPICS = ("roads", "parks")
QUESTIONS = ("q-1", "q-2")
PSEUDONYMS = ("ana", "ben", "cy", "dee")


@dataclass(frozen=True)
class Event:
    """One replayed record: a delegation (``revoke`` False) or a revocation."""

    assembly: str
    pseudonym: str
    scope: Scope
    delegate: str | None
    revoke: bool


_SCOPES = {
    a: [Scope("assembly", a), *(Scope("topic", t) for t in TOPICS)]
    + [Scope("question", q) for q in QUESTIONS]
    for a in ASSEMBLIES
}


def _event(assembly: str, pseudonym: str, scope: int, delegate: int, revoke: bool) -> Event:
    others = [p for p in PSEUDONYMS if p != pseudonym]
    target = others[delegate] if delegate < len(others) else None
    return Event(assembly, pseudonym, _SCOPES[assembly][scope], target, revoke)


def events() -> st.SearchStrategy[Event]:
    """A valid delegation or revocation: own assembly scope, never to oneself."""
    return st.builds(
        _event,
        st.sampled_from(ASSEMBLIES),
        st.sampled_from(PSEUDONYMS),
        st.integers(0, len(TOPICS) + len(QUESTIONS)),
        st.integers(0, len(PSEUDONYMS) - 1),  # the last value stands for None
        st.booleans(),
    )
