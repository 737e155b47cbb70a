"""audit.tally.tally_result: the citizens' count is the sorted-order count, whatever the order.

``tally_result`` counts the ballots in the order resolution lists them, not in pseudonym order:
these tests pin that nothing shows it, neither the result (byte for byte) nor which error an
invalid ballot raises.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit import tally_result
from ballot import InvalidChoice, count, question_spec
from crypto.encoding import JSONValue, canonical_json
from delegation import resolve
from tests.strategies_ballot import METHODS, choices, specs
from tests.strategies_delegation import OUTSIDERS, cases


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), rnd=st.randoms(use_true_random=False))
def test_citizens_count_is_the_count_in_pseudonym_order(
    method: str, data: st.DataObject, rnd: random.Random
) -> None:
    spec = data.draw(specs(method))  # type: ignore[arg-type]
    case = data.draw(cases(stoppers=False))
    # Ballots by members and by outsiders (ignored), in an order unrelated to the names.
    casters = sorted(case.voters | set(data.draw(st.lists(st.sampled_from(OUTSIDERS)))))
    rnd.shuffle(casters)
    ballots: dict[str, JSONValue] = {p: data.draw(choices(spec)) for p in casters}
    result = tally_result(spec, case.electorate, case.delegate_of, ballots, {})

    weights = resolve(case.electorate, case.delegate_of, set(ballots)).weights
    expected = count(spec, [(ballots[p], weights[p]) for p in sorted(weights)])
    citizens = result["citizens"]
    assert isinstance(citizens, dict)
    assert {k: citizens[k] for k in expected} == expected
    # The same facts in other orders (and the electorate as a frozenset): the same bytes.
    items = list(ballots.items())
    rnd.shuffle(items)
    again = tally_result(spec, frozenset(case.electorate), case.delegate_of, dict(items), {})
    assert canonical_json(again) == canonical_json(result)


@pytest.mark.parametrize("ballots", [{"b": "zz-2", "a": "zz-1"}, {"a": "zz-1", "b": "zz-2"}])
def test_an_invalid_ballot_raises_the_error_of_pseudonym_order(
    ballots: dict[str, JSONValue],
) -> None:
    spec = question_spec("single", [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}])
    with pytest.raises(InvalidChoice, match="zz-1"):
        tally_result(spec, ["a", "b", "c"], {"c": "b"}, ballots, {})


def test_ballots_outside_the_electorate_are_not_counted() -> None:
    spec = question_spec("single", [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}])
    ballots: dict[str, JSONValue] = {"late": "no", "a": "yes", "b": "no"}
    result = tally_result(spec, ["a", "b", "c"], {"c": "a", "late": "b"}, ballots, {})
    citizens = result["citizens"]
    assert isinstance(citizens, dict)
    assert citizens["counts"] == {"yes": 2, "no": 1}
    assert citizens["carriers"] == [{"pseudonym": "a", "weight": 2}]
