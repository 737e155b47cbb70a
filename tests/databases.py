"""Test databases: PostgreSQL databases made and dropped on the test server, SQLite URLs, and
emptying tables between tests. Fixtures build on these (tests/conftest.py)."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from service.db import Base, make_engine, migrate

POSTGRES_URL_ENV = "ISEGORIA_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
_START_HINT = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


def _server_url() -> str:
    return os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL)


@contextlib.contextmanager
def postgres_admin() -> Iterator[Connection]:
    """An autocommit connection to the server's maintenance database, or a failed test."""
    url = make_url(_server_url())
    engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        connection: Connection | None = None
        with contextlib.suppress(OperationalError):
            connection = engine.connect()
        if connection is None:
            pytest.fail(
                f"PostgreSQL is unreachable at {url.render_as_string(hide_password=True)}. "
                f"Start it with `{_START_HINT}`, or point {POSTGRES_URL_ENV} at a server.",
                pytrace=False,
            )
        with connection:
            yield connection
    finally:
        engine.dispose()


@contextlib.contextmanager
def fresh_postgres_database(*, migrated: bool) -> Iterator[str]:
    name = f"isegoria_test_{os.getpid()}_{secrets.token_hex(4)}"
    with postgres_admin() as admin:
        admin.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(_server_url()).set(database=name).render_as_string(hide_password=False)
    try:
        if migrated:
            migrate_url(url)
        yield url
    finally:
        with postgres_admin() as admin:
            admin.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def migrate_url(url: str) -> None:
    engine = make_engine(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def truncate(engine: Engine) -> None:
    """Empty every table of the models (the migration history stays)."""
    # DELETE, not TRUNCATE: on tables this small PostgreSQL deletes far faster.
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
