"""A database that cannot be reached: 503 with Retry-After, nothing changed, and the same
request succeeds once the database is back (docs/PROTOCOL.md §10 "Status codes")."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from service.store import BoardStore
from tests.integration.raw import ADMIN, Citizen


def _lost(*args: object, **kwargs: object) -> None:
    raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))


def test_an_unreachable_database_answers_503_and_the_retry_succeeds(
    api: httpx.Client, assembly: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    codes = api.post("/v1/assemblies/city/roll", json={"voters": ["v"]}, headers=ADMIN).json()
    citizen = Citizen("city")
    envelope = citizen.enroll(api, codes["codes"]["v"])
    before = api.get("/v1/board/sth").json()
    with monkeypatch.context() as patch:
        patch.setattr(BoardStore, "lock", _lost)
        refused = api.post("/v1/board", json=envelope)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "5"
        assert "send the same request again" in refused.json()["detail"]
        patch.setattr(BoardStore, "latest_tree_head", _lost)
        patch.setattr(BoardStore, "size", _lost)
        assert api.get("/v1/board/sth").status_code == 503
    assert api.get("/v1/board/sth").json() == before
    again = api.post("/v1/board", json=envelope)
    assert again.status_code == 201, again.text
