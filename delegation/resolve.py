"""Weight resolution of a question's electorate (DESIGN §6 "Resolution", §5 ``trace``, §10).

Each pseudonym of the electorate falls in one class:

- ``ballots_direct``: it voted; its ballot carries 1 plus every weight flowing to it.
- ``weight_delegated``: it did not vote, and following effective delegations reaches a voter.
- ``dead_end``: the chain stops at a pseudonym with neither ballot nor delegation, at a
  *stopper*, or at a pseudonym outside the electorate (such a delegate has no standing in
  this question: it is treated as having neither ballot nor delegation).
- ``cycle``: the chain revisits a pseudonym (on a cycle, or on a tail leading into one).
- ``abstained``: neither ballot nor delegation, or a stopper itself.

A *stopper* is a non-voter whose delegation must not be followed: for an initiative's
``supports_with_delegation`` (§10 "Initiatives") the pseudonyms that withdrew their support.
It counts for nobody (abstained) and chains reaching it end there (dead end). A pseudonym
that is both voter and stopper counts as a voter: a ballot always comes first.

``resolve`` runs in O(pseudonyms + delegations): each delegator is walked once, iteratively
(no recursion: million-long chains are fine), and its outcome is written back along the path.
Only voters, stoppers and delegators get a state; a frozenset electorate is used as is (other
iterables are copied into one), so the members who merely abstain cost nothing past it.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Final, Literal

from delegation.errors import NotInElectorate

__all__ = ["Outcome", "Resolution", "Trace", "TraceEnd", "resolve", "trace"]

Outcome = Literal["ballots_direct", "weight_delegated", "dead_end", "cycle", "abstained"]
TraceEnd = Literal["ballot", "dead_end", "cycle", "abstained"]

# A pseudonym's state is one int, so that a million of them allocate no tuple: ``ballot << 32
# | hops`` once its weight is known to reach ballot number ``ballot`` in ``hops`` steps (0 for
# the voter itself), so one more hop is ``+ 1``. The other states are negative.
_SHIFT: Final = 32
_HOPS: Final = (1 << _SHIFT) - 1
_UNSEEN: Final = -1  # no state kept: a member with neither ballot nor delegation
_END: Final = -2  # a stopper: abstained itself, a dead end for its delegators
_ON_PATH: Final = -3  # on the chain being walked: meeting it again is a cycle
_DEAD: Final = -4
_CYCLE: Final = -5


@dataclass(frozen=True, slots=True, eq=False)
class Resolution:
    """The outcome of ``resolve``: class counts, ballot weights and chain-length histogram."""

    electorate: int
    ballots_direct: int
    weight_delegated: int
    dead_end: int
    cycle: int
    abstained: int
    # each counted voter -> 1 + the weight delegated to it, voters in ``voters`` iteration order
    weights: dict[str, int]
    hops: dict[int, int]  # hops -> number of weight_delegated pseudonyms (direct delegation: 1)
    _members: frozenset[str] = field(repr=False)
    _states: Mapping[str, int] = field(repr=False)  # a member without one is abstained
    _ballots: Sequence[str] = field(repr=False)  # the voters, numbered as in the states

    def outcome(self, pseudonym: str) -> Outcome:
        """The class of ``pseudonym``; ``NotInElectorate`` for one outside the electorate."""
        state = self._state(pseudonym)
        if state >= 0:
            return "weight_delegated" if state & _HOPS else "ballots_direct"
        if state == _DEAD:
            return "dead_end"
        return "cycle" if state == _CYCLE else "abstained"

    def carrier_of(self, pseudonym: str) -> str | None:
        """The voter whose ballot carries ``pseudonym``'s weight (itself for a direct voter)."""
        state = self._state(pseudonym)
        return self._ballots[state >> _SHIFT] if state >= 0 else None

    def carriers(self) -> list[tuple[str, int]]:
        """Ballots of weight > 1: by weight descending, then pseudonym ascending (str order)."""
        heavy = sorted([(p, w) for p, w in self.weights.items() if w > 1])
        # Pseudonyms are distinct, so the first sort is by pseudonym alone; this one is stable,
        # reverse included, so equal weights keep that order.
        heavy.sort(key=itemgetter(1), reverse=True)
        return heavy

    def largest_weight(self) -> int:
        """The largest weight of any counted ballot, 0 when nobody voted."""
        return max(self.weights.values(), default=0)

    def _state(self, pseudonym: str) -> int:
        state = self._states.get(pseudonym)
        if state is None:
            if pseudonym not in self._members:
                raise NotInElectorate(pseudonym)
            return _UNSEEN
        return state


@dataclass(frozen=True, slots=True)
class Trace:
    """Where ``chain[0]``'s weight went: the pseudonyms in order, and how the chain ended."""

    chain: list[str]
    end: TraceEnd


def resolve(
    electorate: Iterable[str],
    delegate_of: Mapping[str, str],
    voters: Set[str],
    *,
    stoppers: Set[str] = frozenset(),
) -> Resolution:
    """Resolve every pseudonym of ``electorate`` (§6).

    ``delegate_of[p]`` is p's effective delegate for the question (absent: none); ``voters``
    cast a ballot. Entries of ``delegate_of``, ``voters`` and ``stoppers`` outside the
    electorate are ignored, except as delegates (dead ends). The result does not depend on the
    iteration order of any argument (only the order of ``weights``, which follows ``voters``).
    """
    members = electorate if isinstance(electorate, frozenset) else frozenset(electorate)
    # States are kept only for voters, stoppers and delegators: a member without one is
    # abstained, so the million-entry table of every member is never built.
    ballots = [v for v in voters if v in members]
    states = dict(zip(ballots, range(0, len(ballots) << _SHIFT, 1 << _SHIFT), strict=True))
    for s in stoppers:
        if s in members and s not in states:
            states[s] = _END

    weights = [1] * len(ballots)
    state_of = states.get
    next_of = delegate_of.get
    walked = dead = cycle = 0
    # Chains of one hop onto a resolved pseudonym, by the hops of that pseudonym.
    onto: defaultdict[int, int] = defaultdict(int)
    # hops histogram of longer walks as differences: a path reaching a ballot covers
    # consecutive hop counts.
    steps: dict[int, int] = {}
    # Each delegator is looked at once here, and each walk only crosses unresolved ones.
    for start, target in delegate_of.items():
        if start in states or start not in members:
            continue  # voter, stopper or resolved already; or outside the electorate
        state = state_of(target)
        if state is not None:  # the common case: one hop onto a resolved pseudonym
            if state >= 0:
                states[start] = state + 1
                weights[state >> _SHIFT] += 1
                onto[state & _HOPS] += 1
            elif state == _CYCLE:
                states[start] = _CYCLE
                cycle += 1
            else:  # _END or _DEAD
                states[start] = _DEAD
                dead += 1
            continue
        onward = next_of(target)
        if onward is None:  # the delegate has neither ballot nor delegation (or is outside)
            states[start] = _DEAD
            dead += 1
            continue
        # Walk the unresolved part of the chain, then write the outcome back along it.
        path = [start]
        states[start] = _ON_PATH
        if target == start:  # self-delegation
            state = _CYCLE
        while state is None:
            if target not in members:
                state = _END  # a delegate outside the electorate has no standing
                break
            path.append(target)
            states[target] = _ON_PATH
            target = onward
            state = state_of(target)
            if state is None:
                further = next_of(target)
                if further is None:
                    state = _END
                else:
                    onward = further
        length = len(path)
        if state >= 0:
            hops = state & _HOPS
            steps[hops + 1] = steps.get(hops + 1, 0) + 1
            steps[hops + length + 1] = steps.get(hops + length + 1, 0) - 1
            for node in reversed(path):
                state += 1
                states[node] = state
            weights[state >> _SHIFT] += length
            walked += length
        else:
            if state in (_END, _DEAD):
                end, dead = _DEAD, dead + length
            else:  # _ON_PATH or _CYCLE
                end, cycle = _CYCLE, cycle + length
            for node in path:
                states[node] = end

    for hops, n in onto.items():
        steps[hops + 1] = steps.get(hops + 1, 0) + n
        steps[hops + 2] = steps.get(hops + 2, 0) - n
    direct = len(ballots)
    delegated = walked + sum(onto.values())
    return Resolution(
        electorate=len(members),
        ballots_direct=direct,
        weight_delegated=delegated,
        dead_end=dead,
        cycle=cycle,
        abstained=len(members) - direct - delegated - dead - cycle,
        weights=dict(zip(ballots, weights, strict=True)),
        hops=_histogram(steps),
        _members=members,
        _states=states,
        _ballots=ballots,
    )


def _histogram(steps: Mapping[int, int]) -> dict[int, int]:
    """Integrate the differences: O(distinct hop counts) plus O(longest chain)."""
    histogram: dict[int, int] = {}
    running = 0
    bounds = sorted(steps)
    for low, high in itertools.pairwise(bounds):
        running += steps[low]
        if running:
            for hops in range(low, high):
                histogram[hops] = running
    return histogram


def trace(
    p: str,
    delegate_of: Mapping[str, str],
    voters: Set[str],
    electorate: Set[str],
) -> Trace:
    """Follow ``p``'s chain as ``resolve`` does (the ``trace`` read, §5); O(chain length).

    A voter's chain is ``[p]``; a cycle's chain ends with the repeated pseudonym, which may be
    reached after a tail (``[a, b, c, b]``). ``NotInElectorate`` for p outside the electorate.
    """
    if p not in electorate:
        raise NotInElectorate(p)
    if p in voters:
        return Trace([p], "ballot")
    target = delegate_of.get(p)
    if target is None:
        return Trace([p], "abstained")
    chain = [p]
    seen = {p}
    while True:
        chain.append(target)
        if target not in electorate:
            return Trace(chain, "dead_end")
        if target in voters:
            return Trace(chain, "ballot")
        if target in seen:
            return Trace(chain, "cycle")
        seen.add(target)
        onward = delegate_of.get(target)
        if onward is None:
            return Trace(chain, "dead_end")
        target = onward
