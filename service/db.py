"""Database plumbing: the declarative base, engines, read and write sessions, migrations.

The caller owns the transaction (one per request); nothing here or in the stores commits.

**SQLite.** pysqlite's own transaction handling is switched off (it emits no BEGIN before a
SELECT, so reads were not repeatable) and SQLAlchemy's ``begin`` event emits BEGIN itself, the
recipe of SQLAlchemy's SQLite dialect documentation ("Enabling Non-Legacy SQLite Transactional
Modes"). Sessions from ``make_sessionmaker(engine, write=True)`` begin with ``BEGIN IMMEDIATE``:
they take SQLite's single writer lock before their first statement, so whatever they read is
still current when they write. (A deferred transaction that reads, then writes after another
writer committed, fails at once with SQLITE_BUSY; ``busy_timeout`` cannot help it.) Read
sessions begin deferred and, in WAL mode, never wait. Every request that writes, including the
registrar's, must use a write session; :func:`require_write` checks it.

**PostgreSQL** (psycopg 3): READ COMMITTED; board writers serialise on an advisory lock
(``service.store.BoardStore.lock``), so write sessions need nothing special there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, MetaData, Table, create_engine, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.dml import Insert

from service.errors import ConfigurationError

__all__ = [
    "NAMING_CONVENTION",
    "WRITE_OPTION",
    "Base",
    "alembic_config",
    "insert_ignoring_conflicts",
    "is_write",
    "make_engine",
    "make_sessionmaker",
    "migrate",
    "normalize_database_url",
    "require_write",
    "table_of",
]

#: Constraint names are deterministic, so migrations can name what they alter or drop.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
#: Execution option marking a write engine: SQLite begins its transactions IMMEDIATE.
WRITE_OPTION = "isegoria_write"
#: Seconds a SQLite connection waits for the writer lock before failing.
_SQLITE_BUSY_TIMEOUT = 30
#: pg_advisory_xact_lock key of the migrations: "isegmigr" in ASCII.
_MIGRATION_LOCK = 0x6973_6567_6D69_6772
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class Base(DeclarativeBase):
    """The declarative base of every table, with the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def normalize_database_url(url: str) -> str:
    """Map ``postgres(ql)://`` to the psycopg 3 driver; refuse backends other than these two."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError("not a database URL") from exc
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise ConfigurationError(
            f"unsupported database {parsed.drivername!r}: use sqlite:/// or postgresql://"
        )
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str | URL, *, echo: bool = False) -> Engine:
    """Create an engine for a ``sqlite:///`` or ``postgresql://`` URL (see the module docstring)."""
    text = url.render_as_string(hide_password=False) if isinstance(url, URL) else url
    parsed = make_url(normalize_database_url(text))
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, echo=echo)
    engine = create_engine(parsed, echo=echo, connect_args={"timeout": _SQLITE_BUSY_TIMEOUT})
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, connection_record: object) -> None:
    # No implicit BEGIN from pysqlite: _sqlite_begin emits it (the module docstring says why).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT * 1000}")
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    write = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_sessionmaker(engine: Engine, *, write: bool = False) -> sessionmaker[Session]:
    """Sessions for reading, or (``write=True``) for transactions that write.

    Use as ``with factory.begin() as session:`` — committed on success, rolled back on error.
    """
    bind = engine.execution_options(**{WRITE_OPTION: True}) if write else engine
    return sessionmaker(bind=bind, expire_on_commit=False)


def is_write(session: Session) -> bool:
    """Whether the session's transaction may write safely (always true on PostgreSQL)."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return True
    return bool(connection.get_execution_options().get(WRITE_OPTION, False))


def require_write(session: Session) -> None:
    """Raise RuntimeError unless the session came from a write sessionmaker (SQLite)."""
    if not is_write(session):
        raise RuntimeError(
            "this SQLite transaction was not begun IMMEDIATE: use make_sessionmaker(write=True)"
        )


def table_of(model: type[Base]) -> Table:
    """The Core table of a model."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def insert_ignoring_conflicts(session: Session, model: type[Base]) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING`` for the session's database (both have it)."""
    target = table_of(model)
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(target).on_conflict_do_nothing()
    return sqlite.insert(target).on_conflict_do_nothing()


def alembic_config() -> Config:
    """The Alembic configuration of the service's migrations (there is no alembic.ini)."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def migrate(engine: Engine) -> None:
    """Run ``alembic upgrade head`` in one transaction; concurrent starters wait for each other."""
    config = alembic_config()
    with engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
