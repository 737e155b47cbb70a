"""The registrar's one public path: a blind signature for an enrollment code (§2, §5).

The code travels as ``Authorization: Bearer <code>``; nothing here logs it, the client's
address, or anything that could link a person to a pseudonym: the registrar never sees one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from audit import Malformed
from audit.records import binary
from crypto.encoding import JSONValue, b64u_encode
from service.deps import BodyDep, Services, ServicesDep, bearer
from service.errors import InvalidBlindedMessage, Unauthorized
from service.http import parse_body

router = APIRouter(tags=["registrar"])

# Failed attempts are counted per client under an opaque per-process key, never the address.
_SALT = secrets.token_bytes(32)


def client_key(request: Request) -> str:
    host = request.client.host if request.client else ""
    return hmac.new(_SALT, host.encode(), hashlib.sha256).hexdigest()


@router.post(
    "/v1/assemblies/{assembly_id}/credentials",
    response_model=None,
    summary="Blind-sign a credential (Authorization: Bearer <enrollment code>)",
)
async def issue_credential(
    assembly_id: str, request: Request, services: ServicesDep, body: BodyDep
) -> dict[str, JSONValue]:
    code = bearer(request)
    if code is None:
        raise Unauthorized("an enrollment code is required: Authorization: Bearer <code>")
    malformed: Malformed | None = None
    try:
        data = parse_body(body, frozenset({"blinded_msg"}))
        blinded = binary(data["blinded_msg"], "blinded_msg")
    except Malformed as exc:
        # 401 outranks 400: the registrar checks the code first, then refuses the empty message.
        malformed, blinded = exc, b""
    # The database and the RSA operation run in one trip to the thread pool.
    blind_sig = await run_in_threadpool(
        _issue, services, assembly_id, code, blinded, client_key(request), malformed
    )
    return {"blind_sig": b64u_encode(blind_sig)}


def _issue(
    services: Services,
    assembly_id: str,
    code: str,
    blinded: bytes,
    client: str,
    malformed: Malformed | None,
) -> bytes:
    with services.write_sessions() as session:
        try:
            blind_sig = services.registrar.issue(session, assembly_id, code, blinded, client=client)
        except InvalidBlindedMessage:
            session.commit()  # keep the failure count of the rate limiter consistent with the DB
            if malformed is not None:
                raise malformed from None
            raise
        session.commit()
    return blind_sig
