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

``resolve`` runs in O(pseudonyms + delegations): each pseudonym is walked once, iteratively
(no recursion: million-long chains are fine), and its outcome is written back along the path.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from typing import Final, Literal

from delegation.errors import NotInElectorate

__all__ = ["Outcome", "Resolution", "Trace", "TraceEnd", "resolve", "trace"]

Outcome = Literal["ballots_direct", "weight_delegated", "dead_end", "cycle", "abstained"]
TraceEnd = Literal["ballot", "dead_end", "cycle", "abstained"]

# A pseudonym's state is ``(voter, hops)`` once its weight is known to reach ``voter`` in
# ``hops`` steps (0 for a voter itself). Every other state is one of these sentinels, told apart
# by identity; their negative hop count lets the hot loop test "reached a ballot" at once.
_State = tuple[str, int]
_UNSEEN: Final[_State] = ("", -1)  # not resolved yet; stays so (abstained) without delegation
_END: Final[_State] = ("", -2)  # a stopper: abstained itself, a dead end for its delegators
_ON_PATH: Final[_State] = ("", -3)  # on the chain being walked: meeting it again is a cycle
_DEAD: Final[_State] = ("", -4)
_CYCLE: Final[_State] = ("", -5)


@dataclass(frozen=True, slots=True, eq=False)
class Resolution:
    """The outcome of ``resolve``: class counts, ballot weights and chain-length histogram."""

    electorate: int
    ballots_direct: int
    weight_delegated: int
    dead_end: int
    cycle: int
    abstained: int
    weights: dict[str, int]  # each counted voter -> 1 + the weight delegated to it
    hops: dict[int, int]  # hops -> number of weight_delegated pseudonyms (direct delegation: 1)
    _states: Mapping[str, _State] = field(repr=False)  # one entry per member of the electorate

    def outcome(self, pseudonym: str) -> Outcome:
        """The class of ``pseudonym``; ``NotInElectorate`` for one outside the electorate."""
        state = self._state(pseudonym)
        if state is _DEAD:
            return "dead_end"
        if state is _CYCLE:
            return "cycle"
        if state[1] < 0:
            return "abstained"
        return "ballots_direct" if state[1] == 0 else "weight_delegated"

    def carrier_of(self, pseudonym: str) -> str | None:
        """The voter whose ballot carries ``pseudonym``'s weight (itself for a direct voter)."""
        state = self._state(pseudonym)
        return None if state[1] < 0 else state[0]

    def carriers(self) -> list[tuple[str, int]]:
        """Ballots of weight > 1: by weight descending, then pseudonym ascending (str order)."""
        heavy = [(p, w) for p, w in self.weights.items() if w > 1]
        heavy.sort(key=lambda item: (-item[1], item[0]))
        return heavy

    def largest_weight(self) -> int:
        """The largest weight of any counted ballot, 0 when nobody voted."""
        return max(self.weights.values(), default=0)

    def _state(self, pseudonym: str) -> _State:
        state = self._states.get(pseudonym)
        if state is None:
            raise NotInElectorate(pseudonym)
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
    iteration order of any argument.
    """
    states = dict.fromkeys(electorate, _UNSEEN)
    weights: dict[str, int] = {}
    for v in voters:
        if v in states:
            states[v] = (v, 0)
            weights[v] = 1
    for s in stoppers:
        if states.get(s) is _UNSEEN:
            states[s] = _END

    state_of = states.get
    next_of = delegate_of.get
    delegated = dead = cycle = 0
    # hops histogram as differences: a path reaching a ballot covers consecutive hop counts.
    steps: dict[int, int] = {}
    # Only values change while iterating, never keys: the iteration stays valid.
    for start, initial in states.items():
        if initial is not _UNSEEN:
            continue
        target = next_of(start)
        if target is None:
            continue  # abstained
        # Walk the unresolved part of the chain, then write the outcome back along it.
        path = [start]
        states[start] = _ON_PATH
        state = state_of(target, _END)  # a delegate outside the electorate is a chain end
        while state is _UNSEEN:
            onward = next_of(target)
            if onward is None:
                state = _END
                break
            path.append(target)
            states[target] = _ON_PATH
            target = onward
            state = state_of(target, _END)
        length = len(path)
        hops = state[1]
        if hops >= 0:
            voter = state[0]
            steps[hops + 1] = steps.get(hops + 1, 0) + 1
            steps[hops + length + 1] = steps.get(hops + length + 1, 0) - 1
            for node in reversed(path):
                hops += 1
                states[node] = (voter, hops)
            weights[voter] += length
            delegated += length
        else:
            if state is _END or state is _DEAD:
                end, dead = _DEAD, dead + length
            else:  # _ON_PATH or _CYCLE
                end, cycle = _CYCLE, cycle + length
            for node in path:
                states[node] = end

    direct = len(weights)
    return Resolution(
        electorate=len(states),
        ballots_direct=direct,
        weight_delegated=delegated,
        dead_end=dead,
        cycle=cycle,
        abstained=len(states) - direct - delegated - dead - cycle,
        weights=weights,
        hops=_histogram(steps),
        _states=states,
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
