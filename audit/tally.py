"""The published tally of a question (docs/PROTOCOL.md §6): one function, for server and auditor.

Citizens and lobbies are counted by the same method code (``ballot.count``) but never mixed:
citizens' ballots carry their resolved delegation weight, each lobby's latest position counts
once, and the two results sit side by side with the concentration statistics.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import cast

import ballot
from ballot import QuestionSpec
from crypto.encoding import JSONValue
from delegation import resolve
from lobby import lobby_result

__all__ = ["tally_result"]


def tally_result(
    spec: QuestionSpec,
    electorate: Iterable[str],
    delegate_of: Mapping[str, str],
    ballots: Mapping[str, JSONValue],
    positions: Mapping[str, JSONValue],
) -> dict[str, JSONValue]:
    """The tally ``result`` object: ``{"citizens", "lobbies", "stats"}``."""
    resolution = resolve(electorate, delegate_of, ballots.keys())
    part = _count_citizens(spec, ballots, resolution.weights)
    carriers = resolution.carriers()
    citizens: dict[str, JSONValue] = {
        "method": spec.method,
        "electorate": resolution.electorate,
        "ballots_direct": resolution.ballots_direct,
        "weight_delegated": resolution.weight_delegated,
        "dead_end": resolution.dead_end,
        "cycle": resolution.cycle,
        "abstained": resolution.abstained,
        "carriers": [{"pseudonym": p, "weight": w} for p, w in carriers],
    }
    # counts, ranking, and pairwise/strongest_paths or selected: JSON values by construction
    citizens.update(cast(dict[str, JSONValue], part))
    stats: dict[str, JSONValue] = {
        "largest_carrier_weight": resolution.largest_weight(),
        "carriers": len(carriers),
        "chain_lengths": {str(h): n for h, n in sorted(resolution.hops.items())},
    }

    def count_positions(items: Iterable[tuple[object, int]]) -> dict[str, object]:
        return dict(ballot.count(spec, items))

    lobbies = cast(dict[str, JSONValue], lobby_result(positions, count_positions))
    return {"citizens": citizens, "lobbies": lobbies, "stats": stats}


def _count_citizens(
    spec: QuestionSpec, ballots: Mapping[str, JSONValue], weights: Mapping[str, int]
) -> dict[str, object]:
    """``ballot.count`` of each counted ballot with its weight, as if in pseudonym order.

    Every method's result is independent of the ballots' order, so they go unsorted. Only an
    invalid ballot makes the order show, in which error is raised: the count is then redone in
    pseudonym order, so that the same input always raises the same error.
    """
    # ``weights`` follows the order of ``ballots``: when every ballot counts, the two line up.
    if len(weights) == len(ballots):
        choices: Iterable[JSONValue] = ballots.values()
    else:
        choices = map(ballots.__getitem__, weights)
    try:
        return ballot.count(spec, zip(choices, weights.values(), strict=True))
    except Exception:  # whatever it was, raise it again from the sorted order
        return ballot.count(spec, [(ballots[p], weights[p]) for p in sorted(weights)])
