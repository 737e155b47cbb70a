"""``approval``: an array of distinct option ids per ballot; ``counts`` is the approving weight.

``budget`` ballots have the same shape and the same ``counts`` (DESIGN §6). An empty array approves
nothing, but its weight still counts as cast.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ballot.errors import InvalidChoice

__all__ = ["approval_counts"]


def approval_counts(
    option_ids: Sequence[str], groups: Mapping[tuple[str, ...], int]
) -> dict[str, int]:
    """The weight approving each option (zeros included), for approval and budget ballots."""
    counts = dict.fromkeys(option_ids, 0)
    try:
        for choice, weight in groups.items():
            for option_id in choice:
                counts[option_id] += weight
    except KeyError as exc:
        raise InvalidChoice(f"{exc.args[0]!r} is not an option of the question") from None
    return counts
