"""Reads derived from the board (docs/PROTOCOL.md §5): each is recomputable from the board alone
with ``audit.views``, the same code the server runs here."""

from __future__ import annotations

from fastapi import APIRouter

from audit import views
from crypto.encoding import JSONValue
from service.deps import ReadSession, ServicesDep

router = APIRouter(tags=["reads"])


@router.get(
    "/v1/assemblies/{assembly_id}",
    response_model=None,
    summary="Where an assembly's record stands on the board, and its questions",
)
def assembly(assembly_id: str, services: ServicesDep, session: ReadSession) -> JSONValue:
    with services.board.reading(session) as state:
        return views.assembly_view(state, assembly_id)


@router.get(
    "/v1/questions/{question_id}",
    response_model=None,
    summary="Where a question's record stands on the board",
)
def question(question_id: str, services: ServicesDep, session: ReadSession) -> JSONValue:
    with services.board.reading(session) as state:
        return views.question_view(state, question_id)


@router.get(
    "/v1/questions/{question_id}/tally",
    response_model=None,
    summary="The published tally (404 until closed)",
)
def tally(question_id: str, services: ServicesDep, session: ReadSession) -> JSONValue:
    with services.board.reading(session) as state:
        return views.tally_view(state, question_id)


@router.get(
    "/v1/questions/{question_id}/trace/{pseudonym}",
    response_model=None,
    summary="Where a voice goes",
)
def trace(
    question_id: str, pseudonym: str, services: ServicesDep, session: ReadSession
) -> dict[str, JSONValue]:
    with services.board.reading(session) as state:
        return views.trace_view(state, question_id, pseudonym)


@router.get(
    "/v1/assemblies/{assembly_id}/delegates",
    response_model=None,
    summary="Delegates and incoming weight",
)
def delegates(
    assembly_id: str, services: ServicesDep, session: ReadSession
) -> dict[str, JSONValue]:
    with services.board.reading(session) as state:
        return views.delegates_view(state, assembly_id)


@router.get(
    "/v1/assemblies/{assembly_id}/initiatives",
    response_model=None,
    summary="Initiatives and live supports",
)
def initiatives(
    assembly_id: str, services: ServicesDep, session: ReadSession
) -> dict[str, JSONValue]:
    with services.board.reading(session) as state:
        return views.initiatives_view(state, assembly_id)


@router.get(
    "/v1/questions/{question_id}/opinions",
    response_model=None,
    summary="Argued opinions, by stance",
)
def opinions(question_id: str, services: ServicesDep, session: ReadSession) -> dict[str, JSONValue]:
    with services.board.reading(session) as state:
        return views.opinions_view(state, question_id)
