"""The lobby register over HTTP: application, approval, positions, suspension, the register."""

from __future__ import annotations

import csv
import io
from typing import Any

from httpx import Client

from crypto.ed25519 import LOBBY_APPLICATION_DOMAIN, SigningKey, sign_object
from tests.integration.raw import ADMIN, Citizen, board, envelope

DECLARATION: dict[str, Any] = {
    "legal_name": "Association des Cyclistes",
    "registration_id": "W442001234",
    "id_type": "RNA",
    "category": "association",
    "address": "1 rue de la Paix, Nantes",
    "staff_count": 2,
    "clients": [],
    "interests": ["mobility"],
    "spend_band": {"min_eur": 0, "max_eur": 10000},
    "fiscal_year": {"start": "2026-01-01", "end": "2026-12-31"},
    "targets": ["bike-lanes"],
}

QUESTION = {
    "question_id": "bike-lanes",
    "topic_id": "parks",
    "title": "Bike lanes?",
    "method": "single",
    "options": [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}],
}


def application(key: SigningKey, lobby_id: str, declaration: dict[str, Any]) -> dict[str, Any]:
    body = {"lobby_id": lobby_id, "lobby_key": key.public_key_b64u, "declaration": declaration}
    return {**body, "sig": sign_object(key, LOBBY_APPLICATION_DOMAIN, body)}


def register(api: Client, key: SigningKey, lobby_id: str = "cyclists") -> None:
    response = api.post("/v1/lobbies", json=application(key, lobby_id, DECLARATION))
    assert response.status_code == 202, response.text
    assert response.json() == {"lobby_id": lobby_id, "status": "pending"}
    response = api.post(f"/v1/lobbies/{lobby_id}/approve", headers=ADMIN)
    assert response.status_code == 201, response.text


def position(key: SigningKey, seq: int, choice: Any, lobby_id: str = "cyclists") -> dict[str, Any]:
    record = {
        "type": "lobby_position",
        "question_id": "bike-lanes",
        "lobby_id": lobby_id,
        "seq": seq,
        "choice": choice,
        "statement": "Safer streets.",
    }
    return envelope(key, record)


def test_lobby_positions_are_tallied_apart(api: Client, assembly: str) -> None:
    assert (
        api.post("/v1/assemblies/city/questions", json=QUESTION, headers=ADMIN).status_code == 201
    )
    key = SigningKey.generate()
    assert api.get("/v1/lobbies").json() == {"lobbies": []}  # pending is not listed
    register(api, key)
    assert api.post("/v1/board", json=position(key, 1, "no")).status_code == 201
    assert api.post("/v1/board", json=position(key, 2, "yes")).status_code == 201
    codes = api.post("/v1/assemblies/city/roll", json={"voters": ["c"]}, headers=ADMIN).json()
    citizen = Citizen("city")
    assert api.post("/v1/board", json=citizen.enroll(api, codes["codes"]["c"])).status_code == 201
    assert api.post("/v1/board", json=citizen.ballot("bike-lanes", "no")).status_code == 201
    result = api.post("/v1/questions/bike-lanes/close", headers=ADMIN).json()
    assert result["citizens"]["counts"] == {"yes": 0, "no": 1}
    assert result["lobbies"] == {
        "positions": [{"lobby_id": "cyclists", "choice": "yes"}],
        "counts": {"yes": 1, "no": 0},
    }
    listed = api.get("/v1/lobbies").json()["lobbies"]
    assert [(item["lobby_id"], item["status"]) for item in listed] == [("cyclists", "active")]
    detail = api.get("/v1/lobbies/cyclists").json()
    assert [p["seq"] for p in detail["positions"]] == [1, 2]
    rows = list(csv.reader(io.StringIO(api.get("/v1/lobbies.csv").text)))
    assert rows[0][:3] == ["lobby_id", "status", "legal_name"]
    assert rows[1][:3] == ["cyclists", "active", "Association des Cyclistes"]


def test_lobby_refusals(api: Client, assembly: str) -> None:
    assert (
        api.post("/v1/assemblies/city/questions", json=QUESTION, headers=ADMIN).status_code == 201
    )
    key = SigningKey.generate()
    other = SigningKey.generate()
    forged = {
        **application(key, "cyclists", DECLARATION),
        "sig": application(other, "cyclists", DECLARATION)["sig"],
    }
    assert api.post("/v1/lobbies", json=forged).status_code == 403
    bad = application(key, "cyclists", {**DECLARATION, "category": "lobby"})
    assert api.post("/v1/lobbies", json=bad).status_code == 400
    assert api.post("/v1/lobbies/cyclists/approve", headers=ADMIN).status_code == 404
    assert api.post("/v1/board", json=position(key, 1, "yes")).status_code == 403  # unapproved
    register(api, key)
    assert api.post("/v1/lobbies/cyclists/approve", headers=ADMIN).status_code == 409
    assert api.post("/v1/lobbies/cyclists/approve").status_code == 401
    # Re-declaring what is already active is refused at once, not left pending for a refusal.
    same = api.post("/v1/lobbies", json=application(key, "cyclists", DECLARATION))
    assert same.status_code == 409
    assert "identical to the active one" in same.json()["detail"]
    assert api.post("/v1/lobbies/cyclists/approve", headers=ADMIN).status_code == 409
    # A lobby key cannot act as a citizen.
    citizen_like = envelope(
        key,
        {
            "type": "ballot",
            "question_id": "bike-lanes",
            "pseudonym": key.public_key_b64u,
            "seq": 1,
            "choice": "yes",
        },
    )
    assert api.post("/v1/board", json=citizen_like).status_code == 403
    assert api.post("/v1/board", json=position(key, 1, "maybe")).status_code == 400
    assert api.post("/v1/board", json=position(key, 1, "yes")).status_code == 201
    assert api.post("/v1/board", json=position(key, 1, "no")).status_code == 409  # stale seq
    suspend = api.post(
        "/v1/lobbies/cyclists/suspend", json={"reason": "undeclared client"}, headers=ADMIN
    )
    assert suspend.status_code == 201
    again = api.post(
        "/v1/lobbies/cyclists/suspend", json={"reason": "undeclared client"}, headers=ADMIN
    )
    assert (again.status_code, again.json()) == (200, suspend.json())
    assert api.post("/v1/board", json=position(key, 2, "no")).status_code == 403
    result = api.post("/v1/questions/bike-lanes/close", headers=ADMIN).json()
    assert result["lobbies"]["positions"] == []  # suspended before the close: left out
    assert api.get("/v1/lobbies").json()["lobbies"][0]["status"] == "suspended"
    types = [e["record"]["type"] for e in board(api)]
    assert types.count("lobby_registered") == 1
    assert types.count("lobby_suspended") == 1
