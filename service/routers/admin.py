"""The admin's paths: assemblies, topics, questions, closing and the roll (docs/PROTOCOL.md §5).

Every path needs the admin token (401 first). Creations answer 201 with the new leaf; the same
request again answers 200 with the leaf it created (a safe retry); a different one with a
taken id is 409.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from audit import Conflict, Malformed, NotFound
from audit.records import TITLE_MAX, identifier, integer, text
from ballot import ABSENT, question_spec
from crypto.blind_rsa import PrivateKey
from crypto.encoding import JSONValue, b64u_encode, parse_json
from service.board import Appended
from service.deps import AdminDep, BodyDep, ServicesDep, WriteSession
from service.http import parse_body
from service.registrar import check_refs

router = APIRouter(tags=["admin"])

_KEY_BITS = (2048, 3072, 4096)
_DEFAULT_KEY_BITS = 3072
_DEFAULT_THRESHOLD = 100


def created(appended: Appended) -> JSONResponse:
    return JSONResponse(
        {"index": appended.index, "envelope": appended.envelope},
        status_code=201 if appended.created else 200,
    )


def existing(services: ServicesDep, session: Session, index: int) -> Appended:
    envelope = parse_json(services.board.store.leaf(session, index))
    assert isinstance(envelope, dict)
    return Appended(index, False, envelope)


def _same(found: Appended, fields: dict[str, JSONValue], *, exact: bool = False) -> bool:
    """Whether the existing leaf's record has these field values (and only these: ``exact``)."""
    record = found.envelope["record"]
    assert isinstance(record, dict)
    if exact and len(record) != len(fields):
        return False
    return all(record.get(k) == v for k, v in fields.items())


@router.post(
    "/v1/assemblies",
    response_model=None,
    status_code=201,
    summary="Open an assembly with a new issuer key",
)
def create_assembly(
    _: AdminDep, services: ServicesDep, session: WriteSession, body: BodyDep
) -> JSONResponse:
    data = parse_body(
        body, frozenset({"assembly_id", "title"}), frozenset({"key_bits", "initiative_threshold"})
    )
    assembly_id = identifier(data["assembly_id"], "assembly_id")
    title = text(data["title"], "title", TITLE_MAX)
    bits = integer(data.get("key_bits", _DEFAULT_KEY_BITS), "key_bits")
    if bits not in _KEY_BITS:
        raise Malformed("key_bits must be 2048, 3072 or 4096")
    threshold = integer(
        data.get("initiative_threshold", _DEFAULT_THRESHOLD), "initiative_threshold", 1
    )

    def retry(found: Appended, modulus_bits: int) -> JSONResponse:
        wanted: dict[str, JSONValue] = {"title": title, "initiative_threshold": threshold}
        if _same(found, wanted) and modulus_bits == bits:
            return created(found)
        raise Conflict(f"assembly {assembly_id!r} already exists")

    with services.board.reading(session) as state:
        known = state.assemblies.get(assembly_id)
        if known is not None:
            return retry(existing(services, session, known.index), known.issuer.modulus_len * 8)
    session.rollback()
    issuer = PrivateKey.generate(bits)  # seconds of work: done before taking the board lock
    with services.board.writing(session) as state:
        known = state.assemblies.get(assembly_id)
        if known is not None:
            return retry(existing(services, session, known.index), known.issuer.modulus_len * 8)
        services.keyring.store_issuer(session, assembly_id, issuer)
        record: dict[str, JSONValue] = {
            "type": "assembly",
            "assembly_id": assembly_id,
            "title": title,
            "issuer_key": b64u_encode(issuer.public_key().to_spki()),
            "variant": "RSABSSA-SHA384-PSS-Randomized",
            "initiative_threshold": threshold,
        }
        appended = services.board.append_authority(session, state, record)
    return created(appended)


@router.post(
    "/v1/assemblies/{assembly_id}/topics",
    response_model=None,
    status_code=201,
    summary="Add a topic",
)
def create_topic(
    assembly_id: str, _: AdminDep, services: ServicesDep, session: WriteSession, body: BodyDep
) -> JSONResponse:
    data = parse_body(body, frozenset({"topic_id", "title"}))
    topic_id = identifier(data["topic_id"], "topic_id")
    title = text(data["title"], "title", TITLE_MAX)
    with services.board.writing(session) as state:
        assembly = state.assembly(assembly_id)
        if topic_id in assembly.topics:
            found = existing(services, session, assembly.topics[topic_id])
            if _same(found, {"title": title}):
                return created(found)
            raise Conflict(f"topic {topic_id!r} already exists in this assembly")
        record: dict[str, JSONValue] = {
            "type": "topic",
            "assembly_id": assembly_id,
            "topic_id": topic_id,
            "title": title,
        }
        appended = services.board.append_authority(session, state, record)
    return created(appended)


_QUESTION_FIELDS = frozenset({"question_id", "topic_id", "title", "method", "options"})
_QUESTION_OPTIONAL = frozenset({"budget", "max_choices", "initiative_id"})


@router.post(
    "/v1/assemblies/{assembly_id}/questions",
    response_model=None,
    status_code=201,
    summary="Ask a question",
)
def create_question(
    assembly_id: str, _: AdminDep, services: ServicesDep, session: WriteSession, body: BodyDep
) -> JSONResponse:
    data = parse_body(body, _QUESTION_FIELDS, _QUESTION_OPTIONAL)
    question_id = identifier(data["question_id"], "question_id")
    identifier(data["topic_id"], "topic_id")
    text(data["title"], "title", TITLE_MAX)
    if "initiative_id" in data:
        identifier(data["initiative_id"], "initiative_id")
    try:
        question_spec(
            data["method"],
            data["options"],
            data.get("budget", ABSENT),
            data.get("max_choices", ABSENT),
        )
    except ValueError as exc:
        raise Malformed(str(exc)) from exc
    record: dict[str, JSONValue] = {"type": "question", "assembly_id": assembly_id, **data}
    with services.board.writing(session) as state:
        known = state.questions.get(question_id)
        if known is not None:
            found = existing(services, session, known.index)
            if _same(found, record, exact=True):
                return created(found)
        # The board's rules refuse anything else in their order (404 before the 409 of a taken id).
        appended = services.board.append_authority(session, state, record)
    return created(appended)


@router.post(
    "/v1/questions/{question_id}/close",
    response_model=None,
    summary="Close a question and publish its tally",
)
def close_question(
    question_id: str, _: AdminDep, services: ServicesDep, session: WriteSession
) -> JSONValue:
    with services.board.writing(session) as state:
        question = state.questions.get(question_id)
        if question is None:
            raise NotFound(f"unknown question {question_id!r}")
        if question.closed is not None:
            raise Conflict(f"question {question_id!r} is already closed")
        roll_size, issued = services.registrar.counters(session, question.assembly_id)
        record: dict[str, JSONValue] = {
            "type": "question_closed",
            "question_id": question_id,
            "roll_size": roll_size,
            "credentials_issued": issued,
        }
        services.board.append_authority(session, state, record)
        closed = state.questions[question_id].closed  # set by the fold at question_closed
        assert closed is not None
    return closed.result


@router.post(
    "/v1/assemblies/{assembly_id}/roll",
    response_model=None,
    summary="Add voters to the roll; get their codes",
)
def add_to_roll(
    assembly_id: str, _: AdminDep, services: ServicesDep, session: WriteSession, body: BodyDep
) -> dict[str, JSONValue]:
    data = parse_body(body, frozenset({"voters"}))
    voters = data["voters"]
    if not isinstance(voters, list) or not all(isinstance(v, str) for v in voters):
        raise Malformed("voters must be a list of strings")
    refs = [v for v in voters if isinstance(v, str)]
    check_refs(refs)  # 400 outranks the 404 of an unknown assembly
    with services.board.reading(session) as state:
        state.assembly(assembly_id)
    codes = services.registrar.add_to_roll(session, assembly_id, refs)
    session.commit()
    return {"codes": dict(codes)}
