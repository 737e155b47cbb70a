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
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
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
_UNSEEN: Final = -1  # not resolved yet; stays so (abstained) without delegation
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
    weights: dict[str, int]  # each counted voter -> 1 + the weight delegated to it
    hops: dict[int, int]  # hops -> number of weight_delegated pseudonyms (direct delegation: 1)
    _states: Mapping[str, int] = field(repr=False)  # one entry per member of the electorate
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
        heavy = [(p, w) for p, w in self.weights.items() if w > 1]
        heavy.sort(key=lambda item: (-item[1], item[0]))
        return heavy

    def largest_weight(self) -> int:
        """The largest weight of any counted ballot, 0 when nobody voted."""
        return max(self.weights.values(), default=0)

    def _state(self, pseudonym: str) -> int:
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
    ballots: list[str] = []
    for v in voters:
        if v in states:
            states[v] = len(ballots) << _SHIFT
            ballots.append(v)
    for s in stoppers:
        if states.get(s) == _UNSEEN:
            states[s] = _END

    weights = [1] * len(ballots)
    state_of = states.get
    next_of = delegate_of.get
    delegated = dead = cycle = 0
    # hops histogram as differences: a path reaching a ballot covers consecutive hop counts.
    steps: dict[int, int] = {}
    # Only values change while iterating, never keys: the iteration stays valid.
    for start, initial in states.items():
        if initial != _UNSEEN:
            continue
        target = next_of(start)
        if target is None:
            continue  # abstained
        # Walk the unresolved part of the chain, then write the outcome back along it.
        path = [start]
        states[start] = _ON_PATH
        state = state_of(target, _END)  # a delegate outside the electorate is a chain end
        while state == _UNSEEN:
            onward = next_of(target)
            if onward is None:
                state = _END
                break
            path.append(target)
            states[target] = _ON_PATH
            target = onward
            state = state_of(target, _END)
        length = len(path)
        if state >= 0:
            hops = state & _HOPS
            steps[hops + 1] = steps.get(hops + 1, 0) + 1
            steps[hops + length + 1] = steps.get(hops + length + 1, 0) - 1
            for node in reversed(path):
                state += 1
                states[node] = state
            weights[state >> _SHIFT] += length
            delegated += length
        else:
            if state in (_END, _DEAD):
                end, dead = _DEAD, dead + length
            else:  # _ON_PATH or _CYCLE
                end, cycle = _CYCLE, cycle + length
            for node in path:
                states[node] = end

    direct = len(ballots)
    return Resolution(
        electorate=len(states),
        ballots_direct=direct,
        weight_delegated=delegated,
        dead_end=dead,
        cycle=cycle,
        abstained=len(states) - direct - delegated - dead - cycle,
        weights=dict(zip(ballots, weights, strict=True)),
        hops=_histogram(steps),
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
