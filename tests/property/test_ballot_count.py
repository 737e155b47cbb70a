"""Properties of ``ballot.count`` for every method (DESIGN §6)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ballot import InvalidChoice, QuestionSpec, count, question_spec, validate_choice
from tests.strategies_ballot import METHODS, Ballots, any_counted, counted, question_records

FAST = settings(max_examples=50, deadline=None)


@FAST
@given(st.sampled_from(METHODS).flatmap(question_records))
def test_question_records_round_trip(record: dict[str, Any]) -> None:
    spec = question_spec(**record)
    assert spec.method == record["method"]
    assert spec.option_ids() == tuple(option["id"] for option in record["options"])
    assert spec.budget == record.get("budget")
    assert spec.max_choices == record.get("max_choices")


@FAST
@given(any_counted)
def test_generated_choices_are_valid(case: tuple[QuestionSpec, Ballots]) -> None:
    spec, ballots = case
    for choice, _ in ballots:
        validate_choice(spec, choice)


@FAST
@given(any_counted, st.randoms(use_true_random=False))
def test_counts_do_not_depend_on_ballot_order(
    case: tuple[QuestionSpec, Ballots], rng: random.Random
) -> None:
    spec, ballots = case
    shuffled = list(ballots)
    rng.shuffle(shuffled)
    assert count(spec, shuffled) == count(spec, ballots)


@FAST
@given(any_counted)
def test_a_weight_w_ballot_is_w_ballots_of_weight_one(case: tuple[QuestionSpec, Ballots]) -> None:
    spec, ballots = case
    expanded = [(choice, 1) for choice, weight in ballots for _ in range(weight)]
    assert count(spec, expanded) == count(spec, ballots)


@FAST
@given(any_counted)
def test_result_shape(case: tuple[QuestionSpec, Ballots]) -> None:
    spec, ballots = case
    result: dict[str, Any] = count(spec, ballots)
    ids = list(spec.option_ids())
    assert list(result["counts"]) == ids
    assert sorted(result["ranking"]) == sorted(ids)
    expected = {"counts", "ranking"} | {
        "ranked": {"pairwise", "strongest_paths"},
        "budget": {"selected"},
    }.get(spec.method, set())
    assert set(result) == expected
    total = sum(weight for _, weight in ballots)
    if spec.method in ("single", "ranked"):
        assert sum(result["counts"].values()) == total
    if spec.method != "ranked":
        counts = [result["counts"][i] for i in result["ranking"]]
        assert counts == sorted(counts, reverse=True)


@FAST
@given(counted("ranked"))
def test_schulze_elects_the_condorcet_winner(case: tuple[QuestionSpec, Ballots]) -> None:
    spec, ballots = case
    result: dict[str, Any] = count(spec, ballots)
    pairwise: dict[str, dict[str, int]] = result["pairwise"]
    total = sum(weight for _, weight in ballots)
    for a, row in pairwise.items():
        for b, n in row.items():
            assert n + pairwise[b][a] <= total
    winners = [a for a, row in pairwise.items() if all(n > pairwise[b][a] for b, n in row.items())]
    if winners:
        assert result["ranking"][0] == winners[0]


@FAST
@given(counted("ranked"))
def test_schulze_ranking_follows_the_strongest_paths(case: tuple[QuestionSpec, Ballots]) -> None:
    spec, ballots = case
    result: dict[str, Any] = count(spec, ballots)
    paths: dict[str, dict[str, int]] = result["strongest_paths"]
    ranking: list[str] = result["ranking"]
    beats = {a: sum(n > paths[b][a] for b, n in row.items()) for a, row in paths.items()}
    assert [beats[a] for a in ranking] == sorted(beats.values(), reverse=True)
    # Schulze's order is transitive: the winner's paths are at least as strong as the loser's.
    for a in paths:
        for b in paths[a]:
            if paths[a][b] > paths[b][a]:
                assert beats[a] > beats[b]


@FAST
@given(counted("budget"))
def test_equal_shares_selects_approved_projects_within_budget(
    case: tuple[QuestionSpec, Ballots],
) -> None:
    spec, ballots = case
    result: dict[str, Any] = count(spec, ballots)
    selected: list[str] = result["selected"]
    counts: dict[str, int] = result["counts"]
    cost = {o.id: o.cost for o in spec.options}
    assert sum(cost[i] or 0 for i in selected) <= (spec.budget or 0)
    assert all(counts[i] > 0 for i in selected)
    assert selected == [i for i in spec.option_ids() if i in selected]


@FAST
@given(any_counted)
def test_an_unknown_option_is_refused(case: tuple[QuestionSpec, Ballots]) -> None:
    spec, _ = case
    unknown = "not-an-option"
    with pytest.raises(InvalidChoice, match="not an option"):
        validate_choice(spec, unknown if spec.method == "single" else [unknown])
