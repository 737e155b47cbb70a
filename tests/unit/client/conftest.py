"""Fixtures of the client tests: a fake server (client_fakes.py), a client, a wallet."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from client import Client, Wallet
from crypto.blind_rsa import PrivateKey
from tests.unit.client.client_fakes import ADMIN_TOKEN, PASSPHRASE, TINY, FakeServer


@pytest.fixture(scope="session")
def issuer() -> PrivateKey:
    return PrivateKey.generate(2048)


@pytest.fixture
def server(issuer: PrivateKey) -> FakeServer:
    fake = FakeServer(issuer)
    fake.open_assembly("city")
    return fake


@pytest.fixture
def client(server: FakeServer) -> Iterator[Client]:
    with Client("http://isegoria.test", transport=httpx.MockTransport(server),
                admin_token=ADMIN_TOKEN, retry_delay=0) as c:
        yield c


@pytest.fixture
def wallet_path(tmp_path: Path) -> Path:
    return tmp_path / "alice.wallet"


@pytest.fixture
def wallet(wallet_path: Path) -> Wallet:
    return Wallet.create(wallet_path, PASSPHRASE, "city", limits=TINY)
