"""``count``: the method-specific part of a citizens' result (DESIGN §6).

The result holds ``counts`` (one key per option, zeros included) and ``ranking`` for every method,
``pairwise`` and ``strongest_paths`` for ``ranked``, ``selected`` for ``budget``. Values are
JSON-ready: dicts with str keys, ints and lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import cast

from ballot.errors import InvalidQuestion
from ballot.methods.approval import approval_counts
from ballot.methods.base import group_choices, ranking_by_counts
from ballot.methods.equal_shares import equal_shares
from ballot.methods.schulze import schulze
from ballot.methods.single import single_counts
from ballot.question import QuestionSpec

__all__ = ["count"]

_Lists = Iterable[tuple[Sequence[str], int]]


def count(spec: QuestionSpec, ballots: Iterable[tuple[object, int]]) -> dict[str, object]:
    """Count ``(choice, weight)`` pairs: valid choices (``validate_choice``), weights >= 1.

    A ballot of weight ``w`` counts as ``w`` identical voters.
    """
    ids = spec.option_ids()
    if spec.method == "single":
        counts = single_counts(ids, cast(Iterable[tuple[str, int]], ballots))
        return {"counts": counts, "ranking": ranking_by_counts(ids, counts)}
    if spec.method == "ranked":
        result = schulze(ids, cast(_Lists, ballots))
        return {
            "counts": result.counts,
            "pairwise": result.pairwise,
            "strongest_paths": result.strongest_paths,
            "ranking": result.ranking,
        }
    groups = group_choices(cast(_Lists, ballots))
    counts = approval_counts(ids, groups)
    out: dict[str, object] = {"counts": counts, "ranking": ranking_by_counts(ids, counts)}
    if spec.method == "budget":
        costs = spec.costs()
        if spec.budget is None:
            raise InvalidQuestion("a budget question needs a budget")
        positions = spec.positions()
        masks: dict[int, int] = {}
        for choice, weight in groups.items():
            mask = sum(1 << positions[option_id] for option_id in choice)
            masks[mask] = masks.get(mask, 0) + weight
        out["selected"] = [ids[i] for i in equal_shares(costs, spec.budget, masks)]
    return out
