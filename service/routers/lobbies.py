"""The lobby register's paths: applications, approval, suspension and the public register
(docs/PROTOCOL.md §5, §7). Pending applications live in the database, not on the board: only
the admin's approval publishes a ``lobby_registered`` record.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from audit import Conflict, Forbidden, Malformed, NotFound
from audit.records import TEXT_MAX, identifier, key, text
from audit.views import lobbies_csv, lobbies_view, lobby_view
from crypto.ed25519 import LOBBY_APPLICATION_DOMAIN, verify_object
from crypto.encoding import JSONValue, canonical_json, parse_json
from crypto.errors import CryptoError
from lobby import InvalidDeclaration, validate_declaration
from service.board import wall_clock_ms
from service.deps import AdminDep, BodyDep, ReadSession, ServicesDep, WriteSession
from service.http import parse_body
from service.models import LobbyApplication
from service.routers.admin import created, existing

router = APIRouter(tags=["lobbies"])


@router.post(
    "/v1/lobbies", response_model=None, status_code=202, summary="Apply to the lobby register"
)
def apply(services: ServicesDep, session: WriteSession, body: BodyDep) -> JSONResponse:
    data = parse_body(body, frozenset({"lobby_id", "lobby_key", "declaration", "sig"}))
    lobby_id = identifier(data["lobby_id"], "lobby_id")
    key(data["lobby_key"], "lobby_key")
    lobby_key = str(data["lobby_key"])
    declaration = data["declaration"]
    try:
        validate_declaration(declaration)
    except InvalidDeclaration as exc:
        raise Malformed(str(exc)) from exc
    signature = data["sig"]
    if not isinstance(signature, str):
        raise Malformed("sig must be a base64url string")
    application = {"lobby_id": lobby_id, "lobby_key": lobby_key, "declaration": declaration}
    try:
        verify_object(lobby_key, LOBBY_APPLICATION_DOMAIN, application, signature)
    except CryptoError as exc:
        if isinstance(exc, ValueError):
            raise Malformed(str(exc)) from exc
        raise Forbidden("sig does not verify under lobby_key") from exc
    with services.board.reading(session) as state:
        lobby = state.lobbies.get(lobby_id)
        if lobby is not None:
            if lobby.lobby_key != lobby_key:
                raise Conflict("this lobby_id is registered with another key")
            if not lobby.active:
                raise Conflict("a suspended lobby cannot apply again")
            if canonical_json(lobby.declarations[-1][1]) == canonical_json(declaration):
                # Its approval could only be refused (§11.2): say so now, not at approval.
                raise Conflict("the declaration is identical to the active one")
        elif lobby_key in state.keys:
            raise Conflict("lobby_key is already used on the board")
    pending = session.get(LobbyApplication, lobby_id)
    if pending is not None and pending.lobby_key != lobby_key:
        raise Conflict("another application for this lobby_id is pending")
    row = pending or LobbyApplication(lobby_id=lobby_id)
    row.lobby_key = lobby_key
    row.declaration = canonical_json(declaration).decode()
    row.sig = signature
    row.created_ms = wall_clock_ms()
    session.add(row)
    session.commit()
    return JSONResponse({"lobby_id": lobby_id, "status": "pending"}, status_code=202)


@router.post(
    "/v1/lobbies/{lobby_id}/approve",
    response_model=None,
    status_code=201,
    summary="Approve an application",
)
def approve(
    lobby_id: str, _: AdminDep, services: ServicesDep, session: WriteSession
) -> JSONResponse:
    with services.board.writing(session) as state:
        pending = session.get(LobbyApplication, lobby_id)
        if pending is None:
            if lobby_id in state.lobbies:
                raise Conflict("nothing is pending for this lobby")
            raise NotFound(f"unknown lobby {lobby_id!r}")
        record: dict[str, JSONValue] = {
            "type": "lobby_registered",
            "lobby_id": lobby_id,
            "lobby_key": pending.lobby_key,
            "declaration": parse_json(pending.declaration),
        }
        session.delete(pending)
        appended = services.board.append_authority(session, state, record)
    return created(appended)


@router.post(
    "/v1/lobbies/{lobby_id}/suspend",
    response_model=None,
    status_code=201,
    summary="Suspend a lobby (final)",
)
def suspend(
    lobby_id: str, _: AdminDep, services: ServicesDep, session: WriteSession, body: BodyDep
) -> JSONResponse:
    data = parse_body(body, frozenset({"reason"}))
    reason = text(data["reason"], "reason", TEXT_MAX)
    with services.board.writing(session) as state:
        lobby = state.lobbies.get(lobby_id)
        if lobby is None:
            raise NotFound(f"unknown lobby {lobby_id!r}")
        if not lobby.active:
            index, earlier = lobby.suspensions[-1]
            if earlier == reason:  # the same request again: a retry
                return created(existing(services, session, index))
            raise Conflict("the lobby is already suspended")
        record: dict[str, JSONValue] = {
            "type": "lobby_suspended",
            "lobby_id": lobby_id,
            "reason": reason,
        }
        appended = services.board.append_authority(session, state, record)
    return created(appended)


@router.get("/v1/lobbies", response_model=None, summary="The public lobby register")
def register(services: ServicesDep, session: ReadSession) -> dict[str, JSONValue]:
    with services.board.reading(session) as state:
        return lobbies_view(state)


@router.get("/v1/lobbies.csv", response_model=None, summary="The register as CSV (RFC 4180)")
def register_csv(services: ServicesDep, session: ReadSession) -> Response:
    with services.board.reading(session) as state:
        body = lobbies_csv(state)
    return Response(body, media_type="text/csv; charset=utf-8")


@router.get(
    "/v1/lobbies/{lobby_id}",
    response_model=None,
    summary="One lobby's declarations, suspensions, positions",
)
def lobby(lobby_id: str, services: ServicesDep, session: ReadSession) -> dict[str, JSONValue]:
    with services.board.reading(session) as state:
        return lobby_view(state, lobby_id)
