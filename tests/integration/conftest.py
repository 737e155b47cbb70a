"""The API under test: ``create_app`` on each backend, driven in-process (no sockets)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.engine import make_url

from service.db import make_engine
from service.settings import Settings
from tests.databases import truncate
from tests.integration.raw import ADMIN, ADMIN_TOKEN
from tests.integration.servers import serving


@pytest.fixture
def settings(database_url: str) -> Iterator[Settings]:
    yield Settings(admin_token=ADMIN_TOKEN, database_url=database_url, sealing_key=os.urandom(32))
    if make_url(database_url).get_backend_name() == "postgresql":
        engine = make_engine(database_url)
        try:
            truncate(engine)
        finally:
            engine.dispose()


@pytest.fixture
def api(settings: Settings) -> Iterator[httpx.Client]:
    with serving(settings) as (_, client):
        yield client


@pytest.fixture
def second_api(settings: Settings, api: httpx.Client) -> Iterator[httpx.Client]:
    """Another server process on the same database (same sealing key, own state)."""
    with serving(settings) as (_, client):
        yield client


@pytest.fixture
def assembly(api: httpx.Client) -> str:
    response = api.post(
        "/v1/assemblies",
        json={"assembly_id": "city", "title": "City", "key_bits": 2048, "initiative_threshold": 3},
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    response = api.post(
        "/v1/assemblies/city/topics", json={"topic_id": "parks", "title": "Parks"}, headers=ADMIN
    )
    assert response.status_code == 201, response.text
    return "city"
