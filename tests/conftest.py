"""Shared fixtures: a database on each backend, engines, rolled-back sessions, a sealing key.

``database_url`` runs a test twice: on SQLite (a fresh, migrated file per test) and on
PostgreSQL (one fresh database per test session, created on the server named by
``ISEGORIA_TEST_POSTGRES_URL``, migrated once and dropped at the end). PostgreSQL tests fail,
never skip, when the server is unreachable. Isolation: ``session`` is a savepoint inside an
outer transaction rolled back after the test; ``engine`` is for tests that need real commits
from several connections, and its tables are truncated after the test.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.db import WRITE_OPTION, make_engine
from tests.databases import fresh_postgres_database, migrate_url, sqlite_url, truncate

if TYPE_CHECKING:
    from crypto.keystore import SealingKey

@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for the whole test session."""
    with fresh_postgres_database(migrated=True) as url:
        yield url


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend under test: ``"sqlite"`` or ``"postgres"``."""
    name: str = request.param
    return name


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "isegoria.db"
    migrate_url(sqlite_url(path))
    return path


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The URL of a migrated database on ``backend`` (shared by the session on PostgreSQL)."""
    if backend == "postgres":
        url: str = request.getfixturevalue("postgres_database_url")
        return url
    template: Path = request.getfixturevalue("_sqlite_template")
    path = tmp_path / "isegoria.db"
    # Closing the last connection checkpointed the WAL: the one file is the whole database.
    shutil.copyfile(template, path)
    return sqlite_url(path)


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a database with no tables at all, dropped after the test."""
    if backend == "postgres":
        with fresh_postgres_database(migrated=False) as url:
            yield url
    else:
        yield sqlite_url(tmp_path / "empty.db")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on the migrated database; its tables are emptied after the test."""
    engine = make_engine(database_url)
    try:
        yield engine
    finally:
        truncate(engine)
        engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A write session whose work is rolled back after the test (warehouse style).

    Its ``commit()`` only releases a savepoint. On SQLite it holds the writer lock throughout,
    so a test using it must not write from other connections.
    """
    connection = engine.execution_options(**{WRITE_OPTION: True}).connect()
    transaction = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()


@pytest.fixture
def argon2_derivations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts Argon2id key derivations (libsodium's, through PyNaCl) from now on: one entry
    per derivation, its opslimit."""
    import nacl.pwhash.argon2id as argon2id

    calls: list[int] = []
    real = argon2id.kdf

    def counting(size: int, password: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
        calls.append(opslimit)
        return real(size, password, salt, opslimit=opslimit, memlimit=memlimit)

    monkeypatch.setattr(argon2id, "kdf", counting)
    return calls


@pytest.fixture
def sealing_key() -> SealingKey:
    """A fresh sealing key."""
    from crypto.keystore import SealingKey

    return SealingKey.generate()


# --- app and client fixtures (the lead's section) ------------------------------------------
