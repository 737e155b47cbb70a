"""The composition root: ``create_app(settings)`` builds one isegoria server.

Nothing happens at import. ``create_app`` wires the store, the key ring, the registrar and the
board service, then the routers; at start-up the database is migrated and, on a new database,
the genesis leaf is written under a new sealed authority key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

from service.board import BoardService, Clock, wall_clock_ms
from service.db import make_engine, make_sessionmaker, migrate
from service.deps import Services
from service.http import MAX_BODY, BodyLimit, install_error_handlers
from service.keys import KeyRing
from service.registrar import FailureLimiter, Registrar
from service.routers import admin, board, lobbies, reads, registrar
from service.settings import Settings
from service.store import BoardStore

__all__ = ["create_app"]


def _operation_id(route: APIRoute) -> str:
    """Stable ``tag-name`` operation ids, so generated clients get clean names."""
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


def compose(settings: Settings, clock: Clock = wall_clock_ms) -> Services:
    """Build the services of one server (no I/O until they are used)."""
    engine = make_engine(settings.database_url)
    keyring = KeyRing(settings.load_sealing_key())
    write_sessions = make_sessionmaker(engine, write=True)
    return Services(
        settings=settings,
        engine=engine,
        read_sessions=make_sessionmaker(engine),
        write_sessions=write_sessions,
        keyring=keyring,
        board=BoardService(
            BoardStore(),
            keyring,
            write_sessions,
            clock,
            max_open_initiatives=settings.max_open_initiatives_per_topic,
        ),
        registrar=Registrar(
            keyring, limiter=FailureLimiter(settings.credential_failures_per_minute)
        ),
    )


def start(services: Services) -> None:
    """Migrate the database and write the genesis leaf if the board is empty."""
    migrate(services.engine)
    with services.write_sessions() as session:
        services.board.ensure_genesis(session)


def create_app(settings: Settings, *, clock: Clock = wall_clock_ms) -> FastAPI:
    """The FastAPI application for ``settings``."""
    services = compose(settings, clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        start(services)
        yield
        services.engine.dispose()

    app = FastAPI(
        title="isegoria",
        version="1",
        summary="Anonymous, verifiable voting with liquid delegation and a lobby register",
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
    )
    app.state.services = services
    install_error_handlers(app)
    for module in (board, admin, registrar, lobbies, reads):
        app.include_router(module.router)
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    return app
