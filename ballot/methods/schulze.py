"""``ranked``: the Schulze method with winning votes (DESIGN §6; Schulze 2011, §2.1 and §2.3).

``pairwise[a][b]`` is the weight preferring a to b: a is listed, and b is listed after a or not at
all (unlisted options are tied last). A link a→b has strength ``pairwise[a][b]`` when it beats
``pairwise[b][a]``, else 0; ``strongest_paths`` holds the widest paths (Floyd–Warshall). ``ranking``
orders options by how many others they beat on strongest paths, ties by question order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ballot.errors import InvalidChoice
from ballot.methods.base import group_choices

__all__ = ["SchulzeResult", "schulze"]

Matrix = dict[str, dict[str, int]]


@dataclass(frozen=True)
class SchulzeResult:
    """The ``ranked`` fields of a result; both matrices omit the diagonal."""

    counts: dict[str, int]
    pairwise: Matrix
    strongest_paths: Matrix
    ranking: list[str]


def schulze(
    option_ids: Sequence[str], ballots: Iterable[tuple[Sequence[str], int]]
) -> SchulzeResult:
    """Count ranked ballots (non-empty lists of distinct option ids, best first)."""
    n = len(option_ids)
    first, d = _pairwise(option_ids, group_choices(ballots))
    p = [[d[i][j] if d[i][j] > d[j][i] else 0 for j in range(n)] for i in range(n)]
    for i in range(n):
        for j in range(n):
            if j == i or not p[j][i]:
                continue
            for k in range(n):
                if k != i and k != j:
                    p[j][k] = max(p[j][k], min(p[j][i], p[i][k]))
    beats = [sum(1 for j in range(n) if p[i][j] > p[j][i]) for i in range(n)]
    order = sorted(range(n), key=lambda i: -beats[i])
    return SchulzeResult(
        counts=dict(zip(option_ids, first, strict=True)),
        pairwise=_matrix(option_ids, d),
        strongest_paths=_matrix(option_ids, p),
        ranking=[option_ids[i] for i in order],
    )


def _pairwise(
    option_ids: Sequence[str], groups: dict[tuple[str, ...], int]
) -> tuple[list[int], list[list[int]]]:
    """First-preference weights and the pairwise matrix, in O(length) per distinct ballot.

    Row a of the matrix is kept as one integer with a fixed-width lane per option b. Listing a
    adds the ballot's weight to the lane of every option not listed so far, in one big-integer
    multiply-add. Each lane holds at most the total weight, so with one spare bit, carries
    never cross lanes.
    """
    n = len(option_ids)
    index = {option_id: i for i, option_id in enumerate(option_ids)}
    width = sum(groups.values()).bit_length() + 1
    lanes = [1 << (i * width) for i in range(n)]
    every_lane = sum(lanes)
    rows = [0] * n
    first = [0] * n
    try:
        for ranking, weight in groups.items():
            first[index[ranking[0]]] += weight
            rest = every_lane
            for option_id in ranking:
                i = index[option_id]
                rest -= lanes[i]
                rows[i] += weight * rest
    except (KeyError, IndexError) as exc:
        raise InvalidChoice(f"not a valid ranked choice: {exc}") from None
    mask = (1 << width) - 1
    return first, [[(rows[i] >> (j * width)) & mask for j in range(n)] for i in range(n)]


def _matrix(option_ids: Sequence[str], values: list[list[int]]) -> Matrix:
    return {
        a: {b: values[i][j] for j, b in enumerate(option_ids) if j != i}
        for i, a in enumerate(option_ids)
    }
