"""Request dependencies: the composed services, sessions, the admin check and the raw body.

``Annotated`` aliases keep route signatures short and the OpenAPI names clean (STYLE rule 11).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.board import BoardService
from service.errors import ServiceError
from service.keys import KeyRing
from service.registrar import Registrar
from service.settings import Settings

__all__ = [
    "AdminDep",
    "BodyDep",
    "ReadSession",
    "Services",
    "ServicesDep",
    "WriteSession",
]


@dataclass(frozen=True)
class Services:
    """Everything one app instance is composed of (built by ``create_app``)."""

    settings: Settings
    engine: Engine
    read_sessions: sessionmaker[Session]
    write_sessions: sessionmaker[Session]
    keyring: KeyRing
    board: BoardService
    registrar: Registrar


class AdminUnauthorized(ServiceError):
    """401: the admin token is missing or wrong."""


async def get_services(request: Request) -> Services:
    # async: FastAPI runs a plain def dependency in its thread pool, a hop per request.
    services = request.app.state.services
    assert isinstance(services, Services)
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def read_session(services: ServicesDep) -> Iterator[Session]:
    with services.read_sessions() as session:
        yield session


def write_session(services: ServicesDep) -> Iterator[Session]:
    """A session whose transaction may write (SQLite: BEGIN IMMEDIATE); rolled back unless
    the route committed it."""
    with services.write_sessions() as session:
        try:
            yield session
        finally:
            session.rollback()


ReadSession = Annotated[Session, Depends(read_session)]
WriteSession = Annotated[Session, Depends(write_session)]


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return token.strip()


def require_admin(request: Request, services: ServicesDep) -> None:
    token = bearer(request)
    expected = services.settings.admin_token.encode()
    # Constant-time comparison: the token is the admin's only credential.
    if token is None or not hmac.compare_digest(token.encode(), expected):
        raise AdminUnauthorized("missing or wrong admin token")


AdminDep = Annotated[None, Depends(require_admin)]


async def raw_body(request: Request) -> bytes:
    return await request.body()


BodyDep = Annotated[bytes, Depends(raw_body)]
