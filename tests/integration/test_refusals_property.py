"""Property: a refused request leaves the board exactly as it was; an accepted one adds a leaf."""

from __future__ import annotations

import json
from typing import Any

from httpx import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.raw import ADMIN, Citizen

QUESTION = {
    "question_id": "q",
    "topic_id": "parks",
    "title": "Q",
    "method": "approval",
    "options": [{"id": "a", "title": "A"}, {"id": "b", "title": "B"}, {"id": "c", "title": "C"}],
    "max_choices": 2,
}

_json_values = st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=3) | st.just(["a"])


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, Any]:
    kind = draw(st.sampled_from(["flip", "drop", "set", "record-set", "resign"]))
    if kind == "flip":
        return kind, draw(st.integers(0, 10_000))
    if kind == "drop":
        return kind, draw(st.sampled_from(["record", "signer", "sig"]))
    if kind == "set":
        return kind, (draw(st.sampled_from(["signer", "sig", "extra"])), draw(_json_values))
    field = draw(st.sampled_from(["type", "question_id", "pseudonym", "seq", "choice", "more"]))
    return kind, (field, draw(_json_values | st.sampled_from([["a", "b", "c"], ["a", "a"], []])))


def _mutate(citizen: Citizen, env: dict[str, Any], mutation: tuple[str, Any]) -> bytes:
    kind, arg = mutation
    env = json.loads(json.dumps(env))
    if kind == "flip":
        data = bytearray(json.dumps(env).encode())
        data[arg % len(data)] ^= 1 << (arg % 7)
        return bytes(data)
    if kind == "drop":
        del env[arg]
    elif kind == "set":
        env[arg[0]] = arg[1]
    else:
        env["record"][arg[0]] = arg[1]
        if kind == "resign":
            from tests.integration.raw import envelope

            env = envelope(citizen.key, env["record"])
    return json.dumps(env).encode()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_refused_requests_change_nothing(api: Client, assembly: str, data: st.DataObject) -> None:
    if api.get("/v1/board/sth").json()["tree_size"] < 5:
        assert (
            api.post("/v1/assemblies/city/questions", json=QUESTION, headers=ADMIN).status_code
            == 201
        )
    citizen = Citizen("city")
    code = api.post(
        "/v1/assemblies/city/roll", json={"voters": [citizen.pk]}, headers=ADMIN
    ).json()["codes"][citizen.pk]
    assert api.post("/v1/board", json=citizen.enroll(api, code)).status_code == 201
    env = citizen.ballot("q", data.draw(st.sampled_from([["a"], ["b", "c"], []])))
    body = _mutate(citizen, env, data.draw(mutations()))
    before = api.get("/v1/board/sth").json()
    response = api.post("/v1/board", content=body, headers={"content-type": "application/json"})
    after = api.get("/v1/board/sth").json()
    if response.status_code >= 400:
        assert 400 <= response.status_code < 500, response.text
        assert after == before
    else:
        assert response.status_code == 201
        assert after["tree_size"] == before["tree_size"] + 1
