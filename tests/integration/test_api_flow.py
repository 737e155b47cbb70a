"""The HTTP API end to end, on SQLite and PostgreSQL: enrollment, ballots, delegation, close."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from httpx import Client

from audit import BoardState, parse_envelope
from crypto import merkle
from crypto.ed25519 import STH_DOMAIN, verify_object
from crypto.encoding import b64u_decode, canonical_json, parse_json
from tests.integration.raw import ADMIN, ADMIN_TOKEN, Citizen, board

QUESTION = {
    "question_id": "swings",
    "topic_id": "parks",
    "title": "New swings?",
    "method": "single",
    "options": [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}],
}


def ask(api: Client, question: dict[str, Any] = QUESTION) -> None:
    response = api.post("/v1/assemblies/city/questions", json=question, headers=ADMIN)
    assert response.status_code == 201, response.text


def enroll(api: Client, n: int) -> list[Citizen]:
    refs = [f"voter-{i}" for i in range(n)]
    codes = api.post("/v1/assemblies/city/roll", json={"voters": refs}, headers=ADMIN).json()
    citizens = []
    for ref in refs:
        citizen = Citizen("city")
        response = api.post("/v1/board", json=citizen.enroll(api, codes["codes"][ref]))
        assert response.status_code == 201, response.text
        citizens.append(citizen)
    return citizens


def post(api: Client, env: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = api.post("/v1/board", json=env)
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result


def test_genesis_and_signed_tree_head(api: Client) -> None:
    sth = api.get("/v1/board/sth").json()
    assert sth["tree_size"] == 1
    (genesis,) = board(api)
    assert genesis["record"] == {
        "type": "genesis",
        "protocol": "isegoria/v1",
        "authority_key": sth["authority_key"],
    }
    head = {k: sth[k] for k in ("tree_size", "root_hash", "timestamp")}
    verify_object(sth["authority_key"], STH_DOMAIN, head, sth["sig"])
    leaf = canonical_json(genesis)
    assert b64u_decode(sth["root_hash"]) == merkle.leaf_hash(leaf)


def test_receipt_verifies_and_retry_returns_it(api: Client, assembly: str) -> None:
    ask(api)
    (alice,) = enroll(api, 1)
    env = alice.ballot("swings", "yes")
    receipt = post(api, env)
    leaf = canonical_json(env)
    assert b64u_decode(receipt["leaf_hash"]) == merkle.leaf_hash(leaf)
    assert receipt["sth"]["tree_size"] == receipt["index"] + 1
    merkle.verify_inclusion(
        merkle.leaf_hash(leaf),
        receipt["index"],
        receipt["sth"]["tree_size"],
        [b64u_decode(p) for p in receipt["inclusion_proof"]],
        b64u_decode(receipt["sth"]["root_hash"]),
    )
    again = api.post("/v1/board", json=env)
    assert again.status_code == 200
    assert again.json() == receipt


def test_election_with_delegation_tallies_and_replays(api: Client, assembly: str) -> None:
    ask(api)
    a, b, c, d, e = enroll(api, 5)
    post(api, a.ballot("swings", "no"))
    post(api, a.ballot("swings", "yes"))  # re-vote: the latest seq counts
    post(api, b.delegation({"assembly": "city"}, a.pk))
    post(api, c.delegation({"topic": "parks"}, b.pk))
    post(api, d.delegation({"question": "swings"}, e.pk))  # e abstains: d is a dead end
    trace = api.get(f"/v1/questions/swings/trace/{c.pk}").json()
    assert trace == {
        "question_id": "swings",
        "pseudonym": c.pk,
        "chain": [c.pk, b.pk, a.pk],
        "end": "ballot",
        "closed": False,
        "choice": None,
    }
    response = api.post("/v1/questions/swings/close", headers=ADMIN)
    assert response.status_code == 200, response.text
    result = response.json()
    citizens = result["citizens"]
    assert citizens["counts"] == {"yes": 3, "no": 0}
    assert (citizens["electorate"], citizens["ballots_direct"]) == (5, 1)
    assert (citizens["weight_delegated"], citizens["dead_end"], citizens["abstained"]) == (2, 1, 1)
    assert citizens["carriers"] == [{"pseudonym": a.pk, "weight": 3}]
    assert result["stats"] == {
        "largest_carrier_weight": 3,
        "carriers": 1,
        "chain_lengths": {"1": 1, "2": 1},
    }
    assert api.get("/v1/questions/swings/tally").json() == result
    leaves = board(api)
    assert leaves[-2]["record"]["type"] == "question_closed"
    assert leaves[-1]["record"] == {"type": "tally", "question_id": "swings", "result": result}
    # The auditor's fold accepts every leaf the server wrote.
    state = BoardState()
    for leaf in leaves:
        state.apply(parse_envelope(leaf))
    assert state.size == api.get("/v1/board/sth").json()["tree_size"]
    closed_trace = api.get(f"/v1/questions/swings/trace/{c.pk}").json()
    assert (closed_trace["closed"], closed_trace["choice"]) == (True, "yes")


def test_credentials_once_per_code(api: Client, assembly: str) -> None:
    codes = api.post("/v1/assemblies/city/roll", json={"voters": ["x"]}, headers=ADMIN).json()
    code = codes["codes"]["x"]
    again = api.post("/v1/assemblies/city/roll", json={"voters": ["x"]}, headers=ADMIN).json()
    assert again["codes"]["x"] == code
    citizen = Citizen("city")
    url = "/v1/assemblies/city/credentials"
    blinded = {"blinded_msg": "A" * 342}  # 256 bytes of zeros: a valid length, 0 < n
    first = api.post(url, json=blinded, headers={"Authorization": f"Bearer {code}"})
    assert first.status_code == 200, first.text
    retry = api.post(url, json=blinded, headers={"Authorization": f"Bearer {code}"})
    assert retry.json() == first.json()
    other = api.post(
        url, json={"blinded_msg": "B" + "A" * 341}, headers={"Authorization": f"Bearer {code}"}
    )
    assert other.status_code == 409
    unknown = api.post(url, json=blinded, headers={"Authorization": "Bearer nope"})
    assert unknown.status_code == 401
    assert citizen.seq == 0


def test_refusals_append_nothing(api: Client, assembly: str) -> None:
    ask(api)
    a, b = enroll(api, 2)
    size = api.get("/v1/board/sth").json()["tree_size"]
    good = a.ballot("swings", "yes")
    forged = {**good, "sig": b.ballot("swings", "yes")["sig"]}
    cases: list[tuple[Any, int]] = [
        (forged, 403),
        ({**good, "extra": 1}, 400),
        (a.ballot("swings", "maybe"), 400),
        (a.ballot("nowhere", "yes"), 404),
        (Citizen("city").ballot("swings", "yes"), 403),
        (a.delegation({"assembly": "city"}, a.pk), 400),
    ]
    for env, status in cases:
        response = api.post("/v1/board", json=env)
        assert response.status_code == status, (env["record"], response.text)
        assert "detail" in response.json()
    assert api.get("/v1/board/sth").json()["tree_size"] == size
    post(api, good)
    stale = a.ballot("swings", "no")
    stale["record"]["seq"] = good["record"]["seq"]
    from tests.integration.raw import envelope

    assert api.post("/v1/board", json=envelope(a.key, stale["record"])).status_code == 409
    assert api.post("/v1/board", content=b"x" * 70_000).status_code == 413
    assert api.post("/v1/board", content=b"{not json").status_code == 400
    assert api.post("/v1/assemblies", json={}).status_code == 401
    assert parse_json(b"{}") == {}


def test_access_log_holds_no_address_code_or_pseudonym(
    api: Client, assembly: str, caplog: pytest.LogCaptureFixture
) -> None:
    ask(api)
    codes = api.post("/v1/assemblies/city/roll", json={"voters": ["p"]}, headers=ADMIN).json()
    code = codes["codes"]["p"]
    citizen = Citizen("city")
    with caplog.at_level(logging.INFO, logger="isegoria.http"):
        post(api, citizen.enroll(api, code))
        api.get(f"/v1/questions/swings/trace/{citizen.pk}")
    text = caplog.text
    assert "/v1/questions/{question_id}/trace/{pseudonym}" in text
    for secret in (code, citizen.pk, "127.0.0.1", "testclient", ADMIN_TOKEN):
        assert secret not in text


def test_status_precedence(api: Client, assembly: str) -> None:
    # 400 before 404: a malformed roll for an unknown assembly.
    response = api.post("/v1/assemblies/nowhere/roll", json={"voters": [""]}, headers=ADMIN)
    assert response.status_code == 400
    # 401 before 400: a malformed body without the admin token.
    assert api.post("/v1/assemblies", content=b"{").status_code == 401
    # 401 before 400 at the registrar: an unknown code with a malformed body.
    response = api.post(
        "/v1/assemblies/city/credentials", json={"nope": 1}, headers={"Authorization": "Bearer x"}
    )
    assert response.status_code == 401
    # 404 before 409: a taken question id with an unknown topic.
    ask(api)
    other = {**QUESTION, "topic_id": "nowhere"}
    response = api.post("/v1/assemblies/city/questions", json=other, headers=ADMIN)
    assert response.status_code == 404
    # 413 before 401.
    assert api.post("/v1/assemblies", content=b"x" * 65_537).status_code == 413
    # Query parameters: 400, not FastAPI's 422.
    assert api.get("/v1/board?start=abc").status_code == 400
    assert api.get("/v1/board/proof/inclusion?index=5").status_code == 400
    assert api.get("/v1/board/proof/consistency?first=0").status_code == 400


def test_a_question_is_located_on_the_board(api: Client, assembly: str) -> None:
    created = api.post("/v1/assemblies/city/questions", json=QUESTION, headers=ADMIN).json()
    located = api.get("/v1/questions/swings")
    assert located.status_code == 200
    assert located.json() == {"question_id": "swings", "index": created["index"], "closed": False}
    leaf = api.get("/v1/board", params={"start": created["index"], "end": created["index"] + 1})
    assert json.loads(leaf.content)["record"]["question_id"] == "swings"
    assert api.post("/v1/questions/swings/close", headers=ADMIN).status_code == 200
    assert api.get("/v1/questions/swings").json()["closed"] is True
    assert api.get("/v1/questions/nowhere").status_code == 404


def test_an_assembly_is_located_on_the_board(api: Client, assembly: str) -> None:
    ask(api)
    located = api.get("/v1/assemblies/city")
    assert located.status_code == 200
    found = located.json()
    assert found["questions"] == ["swings"]
    leaf = api.get("/v1/board", params={"start": found["index"], "end": found["index"] + 1})
    assert json.loads(leaf.content)["record"]["type"] == "assembly"
    assert api.get("/v1/assemblies/nowhere").status_code == 404
