"""What the methods share: merging identical choices, and ranking options by their counts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ballot.errors import InvalidChoice

__all__ = ["group_choices", "ranking_by_counts"]


def group_choices(ballots: Iterable[tuple[Sequence[str], int]]) -> dict[tuple[str, ...], int]:
    """Merge ballots with the same list choice into one entry holding their total weight.

    Every method is a sum over voters, and identical choices count identically, so the costly
    per-choice work is done once per distinct choice instead of once per ballot. A repeated
    option would be counted twice, so it is refused here, once per distinct choice.
    """
    groups: dict[tuple[str, ...], int] = {}
    get = groups.get
    for choice, weight in ballots:
        key = tuple(choice)
        groups[key] = get(key, 0) + weight
    for key in groups:
        if len(set(key)) != len(key):
            raise InvalidChoice(f"the choice {list(key)!r} repeats an option")
    return groups


def ranking_by_counts(option_ids: Sequence[str], counts: Mapping[str, int]) -> list[str]:
    """Options by count, descending; ties by question order (the sort is stable)."""
    return sorted(option_ids, key=lambda option_id: -counts[option_id])
