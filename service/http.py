"""HTTP plumbing shared by every router: the body limit, strict bodies and error mapping.

Status codes and their precedence are the protocol's (docs/PROTOCOL.md §10): 413 is decided
here before any route runs; every refusal is ``{"detail": ...}`` with its 4xx code; FastAPI's
own validation errors (a query parameter that is not an integer, say) are 400, not 422.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from audit import Malformed, RecordRefused
from audit.records import exact_members
from crypto.encoding import JSONValue, parse_json
from crypto.errors import EncodingError
from service import errors
from service.deps import AdminUnauthorized

__all__ = ["MAX_BODY", "BodyLimit", "install_error_handlers", "parse_body"]

#: The protocol's request size limit: 64 KiB, chunked bodies included.
MAX_BODY = 65_536
#: Seconds a client is asked to wait when the database cannot be reached (503).
RETRY_AFTER_UNAVAILABLE = 5

_log = logging.getLogger("isegoria.http")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BodyLimit:
    """ASGI middleware: buffer at most ``limit`` body bytes, answer 413 beyond.

    It also writes the access log: method, route template (``/v1/questions/{question_id}/...``,
    so no pseudonym or other value), status and duration only — never the client's address,
    headers or query string (enrollment codes travel in headers).
    """

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def send_logged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            body = await self._read(scope, receive)
            if body is None:
                await self._too_large(send_logged)
                return
            delivered = False

            async def replay() -> Message:
                nonlocal delivered
                if delivered:
                    return await receive()
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}

            await self.app(scope, replay, send_logged)
        finally:
            route = scope.get("route")
            _log.info(
                "%s %s %d %.1fms",
                scope.get("method"),
                getattr(route, "path", "(no route)"),
                status,
                (time.perf_counter() - started) * 1000,
            )

    async def _read(self, scope: Scope, receive: Receive) -> bytes | None:
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                return None  # refused before reading; a malformed length is the server's to 400
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    @staticmethod
    async def _too_large(send: Send) -> None:
        payload = b'{"detail":"request body larger than 65536 bytes"}'
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def parse_body(
    body: bytes, required: frozenset[str], optional: frozenset[str] = frozenset()
) -> dict[str, JSONValue]:
    """A JSON object body with exactly its listed members (400 otherwise)."""
    try:
        value = parse_json(body)
    except EncodingError as exc:
        raise errors_400(str(exc)) from exc
    return exact_members(value, required, optional, "the request body")


def errors_400(detail: str) -> RecordRefused:
    return Malformed(detail)


_SERVICE_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (AdminUnauthorized, 401),
    (errors.RateLimited, 429),
    (errors.Unauthorized, 401),
    (errors.CodeUsed, 409),
    (errors.EnrollmentClosed, 409),
    (errors.DuplicateKey, 409),
    (errors.MissingKey, 404),
    (errors.InvalidRoll, 400),
    (errors.InvalidBlindedMessage, 400),
    (errors.OutOfRange, 400),
)


def install_error_handlers(app: FastAPI) -> None:
    """Map every refusal to ``{"detail": ...}`` with the protocol's status code."""

    async def refused(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RecordRefused)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    async def service_error(request: Request, exc: Exception) -> JSONResponse:
        for kind, status in _SERVICE_STATUS:
            if isinstance(exc, kind):
                headers = {}
                if isinstance(exc, errors.RateLimited):
                    headers["Retry-After"] = str(exc.retry_after)
                if status == 401:
                    headers["WWW-Authenticate"] = "Bearer"
                return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)
        raise exc

    async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in exc.errors()
        )
        return JSONResponse({"detail": f"invalid request: {problems}"}, status_code=400)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        # Lost connections and refused ones: the request changed nothing (its transaction
        # never committed) and may be sent again as it is. Only the error's class is logged:
        # its text holds the statement's parameters.
        _log.warning("database unavailable: %s", type(exc).__name__)
        return JSONResponse(
            {"detail": "the database is unavailable; send the same request again later"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE)},
        )

    async def database_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DBAPIError)
        if exc.connection_invalidated:
            return await unavailable(request, exc)
        raise exc

    app.add_exception_handler(OperationalError, unavailable)
    app.add_exception_handler(DBAPIError, database_error)
    app.add_exception_handler(RecordRefused, refused)
    app.add_exception_handler(errors.ServiceError, service_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
