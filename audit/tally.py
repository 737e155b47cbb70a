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
    resolution = resolve(electorate, delegate_of, set(ballots))
    weighted = [(ballots[p], resolution.weights[p]) for p in sorted(resolution.weights)]
    part = ballot.count(spec, weighted)
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
