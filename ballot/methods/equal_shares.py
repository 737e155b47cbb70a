"""``budget``: the Method of Equal Shares, cost utilities, Add1 and greedy completion (DESIGN §6).

Peters, Pierczyński and Skowron, "Proportional Participatory Budgeting with Additive Utilities"
(NeurIPS 2021), with the completion of equalshares.net. The normative reference is pabutools
1.2.3: ``exhaustion_by_budget_increase(method_of_equal_shares, Cost_Sat, budget_step=w*d)`` then
``greedy_utilitarian_welfare(Cost_Sat)``, projects named by option position for tie-breaking.

With cost utilities a supporter's utility per unit of money is the same for every project, so a
project is bought at the payment ``rho`` with ``sum(min(budget_i, rho)) = cost`` over its
supporters, and MES picks the smallest ``rho / cost`` (ties: option order). Arithmetic is exact.

Voters with the same approval set are merged into one group: MES treats them identically. Within
a run, voters who approve the same selected projects have paid the same, so groups are gathered
into cells by that subset; a cell has one budget. The cells only depend on which projects are
selected, not on the share, so the Add1 runs, which mostly retrace each other, split them once.

Add1 may rerun MES some 1000·w times. When every supporter of every project a run bought paid
the full ``rho``, a run with larger shares retraces it, every budget higher by the same amount,
until another project's ratio reaches a bought one's or a project left out becomes affordable.
``_calm`` computes that distance, and the loop skips the shares before it: they would give the
same outcome and the same verdict.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fractions import Fraction
else:
    # gmpy2's exact rationals do the same arithmetic as Fraction several times faster (pabutools
    # uses them too). Only +, -, *, /, comparisons and hashing are used, which both share.
    from gmpy2 import mpq as Fraction  # noqa: N812

__all__ = ["equal_shares"]

# One group of identical voters: approval-set bitmask, weight, and the approved positions.
_Group = tuple[int, int, tuple[int, ...]]
# A cell: the groups approving the same subset of the selected projects, and per option the
# weight among them that approves it. A partition maps that subset (a bitmask) to its cell.
_Cell = tuple[list[_Group], list[int]]
_Partition = dict[int, _Cell]
# One round of a run: the partition and budgets it started from, the selected bitmask, the
# chosen project and its rho/cost.
_Round = tuple[_Partition, dict[int, Fraction], int, int, Fraction]
# Budget and weight of some supporters of a project.
_Level = tuple[Fraction, int]

_MEMO_GROUPS = 4_000_000


def equal_shares(costs: Sequence[int], budget: int, groups: Mapping[int, int]) -> list[int]:
    """Select projects; ``groups`` maps an approval-set bitmask (bit i: option i) to its weight.

    Returns the selected option positions, ascending. The empty set (mask 0) counts in the
    weight that shares the budget. Costs and budget are integers >= 1.
    """
    weight = sum(groups.values())
    if weight == 0:
        return []
    voters = [(mask, w, tuple(_bits(mask))) for mask, w in groups.items() if mask]
    support = _tally(len(costs), voters)
    approved = [i for i, s in enumerate(support) if s]
    if sum(costs[i] for i in approved) <= budget:
        # Every MES outcome is a subset of the approved projects, so greedy completion would
        # add all the remaining ones anyway: skip the Add1 loop, which could run to its bound.
        return approved
    partitions = _Partitions(voters, support)
    step = max(1, budget // (1000 * weight))
    total = budget
    kept: list[int] = []
    # Add1: raise every voter's share by `step` while the outcome fits the real budget; stop at
    # an exhaustive outcome, give up past budget * (weight + 1) (the pabutools default bound).
    while total <= budget * (weight + 1):
        outcome, calm = _mes(costs, support, partitions, Fraction(total, weight))
        spent = sum(costs[i] for i in outcome)
        if spent > budget:
            break
        kept = outcome
        if calm is None or all(
            costs[i] > budget - spent for i in range(len(costs)) if i not in outcome
        ):
            break  # exhaustive, or the same outcome up to the bound
        # Shares below share + calm give this outcome again, with the same verdict: skip them.
        total += weight * step * max(1, math.ceil(calm / step))
    return _greedy(costs, budget, support, approved, kept)


def _greedy(
    costs: Sequence[int], budget: int, support: list[int], approved: list[int], kept: list[int]
) -> list[int]:
    """Utilitarian greedy: most approving weight first, skipping what no longer fits.

    With cost utilities the welfare per unit of cost is the approving weight. Projects nobody
    approved are left out (pabutools would add them last; the reference drops them).
    """
    chosen = set(kept)
    left = budget - sum(costs[i] for i in kept)
    for i in sorted(approved, key=lambda i: -support[i]):
        if i not in chosen and costs[i] <= left:
            chosen.add(i)
            left -= costs[i]
    return sorted(chosen)


class _Partitions:
    """The cells after each selected set, memoised across the runs of one count.

    Each partition refers to every group once, so the memo is emptied when it would hold more
    than ``_MEMO_GROUPS`` references in all: a cache, it never changes a result.
    """

    def __init__(self, voters: list[_Group], support: list[int]) -> None:
        self._root: _Partition = {0: (voters, support)}
        self._memo: dict[int, _Partition] = {0: self._root}
        self._room = max(1, _MEMO_GROUPS // max(1, len(voters)))

    def add(self, selected: int, i: int) -> _Partition:
        """The partition once project i joins the ``selected`` bitmask."""
        key = selected | 1 << i
        partition = self._memo.get(key)
        if partition is None:
            partition = _split(self._memo[selected], i)
            if len(self._memo) >= self._room:
                self._memo = {0: self._root, selected: self._memo[selected]}
            self._memo[key] = partition
        return partition

    @property
    def root(self) -> _Partition:
        return self._root


def _mes(
    costs: Sequence[int], support: list[int], partitions: _Partitions, share: Fraction
) -> tuple[list[int], Fraction | None]:
    """One run of MES where every voter starts with ``share``.

    Returns the selection (ascending) and how far the share can rise with the same outcome:
    ``_calm``'s bound, 0 when it does not apply, None when the outcome never changes.
    """
    selected = 0
    partition = partitions.root
    budgets = {0: share}
    rounds: list[_Round] = []
    uncapped = True
    # A project's rho/cost only grows as budgets shrink, so the last value seen is a lower bound
    # (at best every supporter pays cost/support), and projects above the best so far are skipped.
    bound = {i: Fraction(1, s) for i, s in enumerate(support) if s}
    while bound:
        best: tuple[Fraction, int, Fraction] | None = None
        for i in sorted(bound, key=lambda i: (bound[i], i)):
            if best is not None and bound[i] > best[0]:
                break
            rho = _payment(costs[i], partition, budgets, i)
            if rho is None:
                del bound[i]  # budgets never grow back within a run
                continue
            ratio = bound[i] = rho / costs[i]
            if best is None or (ratio, i) < best[:2]:
                best = (ratio, i, rho)
        if best is None:
            break
        ratio, chosen, rho = best
        rounds.append((partition, budgets, selected, chosen, ratio))
        uncapped = uncapped and rho <= min(
            budgets[cell] for cell, (_, sup) in partition.items() if sup[chosen]
        )
        del bound[chosen]
        partition = partitions.add(selected, chosen)
        bit = 1 << chosen
        selected |= bit
        # Every supporter pays min(budget, rho); a cell's budget comes from the cell it split from.
        budgets = {
            cell: _after(budgets[cell & ~bit], rho) if cell & bit else budgets[cell]
            for cell in partition
        }
    if not uncapped:
        return _bits(selected), Fraction(0)
    return _bits(selected), _calm(costs, support, rounds, (partition, budgets, selected))


def _after(budget: Fraction, rho: Fraction) -> Fraction:
    return budget - rho if budget > rho else Fraction(0)


def _payment(
    cost: int, partition: _Partition, budgets: dict[int, Fraction], i: int
) -> Fraction | None:
    """The least ``rho`` with ``sum(min(budget, rho)) = cost`` over i's supporters, or None."""
    weights: dict[Fraction, int] = {}
    for cell, (_, sup) in partition.items():
        b = budgets[cell]
        if sup[i] and b:
            weights[b] = weights.get(b, 0) + sup[i]
    # Poorest first: those who cannot pay an equal part give all they have. If even the richest
    # cannot, the budgets add up to less than the cost.
    paid = Fraction(0)
    remaining = sum(weights.values())
    for b, w in sorted(weights.items()):
        rho = (cost - paid) / remaining
        if rho <= b:
            return rho
        paid += b * w
        remaining -= w
    return None


def _calm(
    costs: Sequence[int],
    support: list[int],
    rounds: list[_Round],
    end: tuple[_Partition, dict[int, Fraction], int],
) -> Fraction | None:
    """A rise of every share below which the run keeps its outcome; None: no rise changes it.

    Only for a run where every chosen project's supporters all paid the full ``rho`` (none gave
    less, having less). With every share ``delta`` higher, each budget is ``delta`` higher at
    each round, so the chosen project keeps its ``rho`` and ratio. The run can only change once
    another project's ratio reaches the chosen one's, or a project left unaffordable at the end
    becomes affordable. Both thresholds follow from the budgets.
    """

    def waiting(selected: int, chosen: int) -> list[int]:
        return [p for p, s in enumerate(support) if s and p != chosen and not selected >> p & 1]

    def levels(cells: _Partition, budgets: dict[int, Fraction], p: int) -> list[_Level]:
        return [(budgets[cell], sup[p]) for cell, (_, sup) in cells.items() if sup[p]]

    thresholds = [
        _reach(costs[p], levels(cells, budgets, p), ratio * costs[p], p > chosen)
        for cells, budgets, selected, chosen, ratio in rounds
        for p in waiting(selected, chosen)
    ]
    cells, budgets, selected = end
    thresholds += [_reach(costs[p], levels(cells, budgets, p)) for p in waiting(selected, -1)]
    bounded = [t for t in thresholds if t is not None]
    return min(bounded) if bounded else None


def _reach(
    cost: int, levels: list[_Level], cap: Fraction | None = None, strict: bool = False
) -> Fraction | None:
    """The least ``delta >= 0`` with ``sum(w * min(b + delta, cap)) >= cost``, or None: never.

    ``levels`` are a project's supporters as (budget, weight), every budget raised by delta.
    Without a cap, this is when they can afford the project. With one, when its payment falls
    to ``cap``, which is where its ratio meets the chosen project's; ``strict`` when it must
    fall below to win (it loses ties). A payment never falls below ``cost / weight``.
    """
    total = sum(w for _, w in levels)
    free = sum((b * w for b, w in levels), Fraction(0))
    if cap is None:
        return max(Fraction(0), (cost - free) / total)
    if cap * total < cost or (strict and cap * total == cost):
        return None
    # Richest first, supporters reach the cap; until then their budget grows with delta. (When
    # strict, meeting the cap may not be enough to win: stopping there errs on the early side.)
    capped = 0
    for b, w in sorted(levels, reverse=True):
        if b < cap:
            delta = (cost - cap * capped - free) / total
            if delta <= cap - b:
                return max(Fraction(0), delta)
        capped += w
        free -= b * w
        total -= w
    return Fraction(0)  # not reached: all capped gives cap * total >= cost


def _split(partition: _Partition, i: int) -> _Partition:
    """Split every cell between the groups that approve project i and those that do not."""
    bit = 1 << i
    result: _Partition = {}
    for cell, (members, sup) in partition.items():
        if not sup[i]:
            result[cell] = (members, sup)
            continue
        payers = [g for g in members if g[0] & bit]
        stayers = [g for g in members if not g[0] & bit]
        # Sum the approvals of the smaller side; the other side's is the difference.
        if len(payers) <= len(stayers):
            paying = _tally(len(sup), payers)
            staying = [s - p for s, p in zip(sup, paying, strict=True)]
        else:
            staying = _tally(len(sup), stayers)
            paying = [s - t for s, t in zip(sup, staying, strict=True)]
        if stayers:
            result[cell] = (stayers, staying)
        result[cell | bit] = (payers, paying)
    return result


def _tally(n: int, members: list[_Group]) -> list[int]:
    sup = [0] * n
    for _, w, positions in members:
        for i in positions:
            sup[i] += w
    return sup


def _bits(mask: int) -> list[int]:
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out
