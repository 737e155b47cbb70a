"""A lobby's application and positions (client/lobby.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from client import Client, LobbyAgent, LobbyKeyFile, UsageError
from crypto.ed25519 import LOBBY_APPLICATION_DOMAIN, RECORD_DOMAIN, verify_object
from tests.unit.client.client_fakes import PASSPHRASE, TINY, FakeServer, json_response

DECLARATION: dict[str, Any] = {
    "legal_name": "Acme SA",
    "registration_id": "123456789",
    "id_type": "SIREN",
    "category": "company",
    "address": "1 rue de la Paix, Paris",
    "staff_count": 2,
    "clients": [],
    "interests": ["parks"],
    "spend_band": {"min_eur": 0, "max_eur": 9999},
    "fiscal_year": {"start": "2024-01-01", "end": "2024-12-31"},
    "targets": ["q1"],
}


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    LobbyKeyFile.create(tmp_path / "acme.key", PASSPHRASE, "acme", limits=TINY)
    return tmp_path / "acme.key"


@pytest.fixture
def agent(client: Client, key_path: Path) -> LobbyAgent:
    return LobbyAgent(client, LobbyKeyFile.open(key_path, PASSPHRASE))


def test_apply_signs_the_application(agent: LobbyAgent, server: FakeServer) -> None:
    server.overrides[("POST", "/v1/lobbies")] = json_response(
        202, {"lobby_id": "acme", "status": "pending"})
    assert agent.apply(DECLARATION) == {"lobby_id": "acme", "status": "pending"}
    body = json.loads(server.bodies[-1])
    assert set(body) == {"lobby_id", "lobby_key", "declaration", "sig"}
    assert (body["lobby_id"], body["lobby_key"]) == ("acme", agent.lobby_key)
    assert body["declaration"] == DECLARATION
    signed = {k: body[k] for k in ("lobby_id", "lobby_key", "declaration")}
    verify_object(agent.lobby_key, LOBBY_APPLICATION_DOMAIN, signed, body["sig"])


def test_invalid_declaration_is_refused_locally(agent: LobbyAgent, server: FakeServer) -> None:
    before = len(server.requests)
    with pytest.raises(UsageError, match="category"):
        agent.apply(DECLARATION | {"category": "cartel"})
    with pytest.raises(UsageError, match="unknown"):
        agent.apply(DECLARATION | {"secret_budget": 1})
    assert len(server.requests) == before


def test_positions_count_their_own_seq_across_runs(
    agent: LobbyAgent, server: FakeServer, key_path: Path
) -> None:
    server.ask("q1")
    agent.position("q1", "yes", "We support it")
    envelope = json.loads(server.leaves[-1])
    assert envelope["record"] == {"type": "lobby_position", "question_id": "q1",
                                  "lobby_id": "acme", "seq": 1, "choice": "yes",
                                  "statement": "We support it"}
    assert envelope["signer"] == agent.lobby_key
    verify_object(agent.lobby_key, RECORD_DOMAIN, envelope["record"], envelope["sig"])
    reopened = LobbyKeyFile.open(key_path, PASSPHRASE)
    assert reopened.seq == 1 and len(reopened.receipts) == 1
    server_client = Client("http://t", transport=httpx.MockTransport(server))
    LobbyAgent(server_client, reopened).position("q1", "no", "Changed our mind")
    assert json.loads(server.leaves[-1])["record"]["seq"] == 2
