"""The board: signed tree heads, leaves, appends and Merkle proofs (docs/PROTOCOL.md §4, §5)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from audit import Malformed
from crypto.encoding import JSONValue, b64u_encode
from service.deps import BodyDep, ReadSession, ServicesDep

router = APIRouter(prefix="/v1/board", tags=["board"])

_BATCH = 1000


def query_int(request: Request, name: str, default: int | None = None) -> int:
    """An optional non-negative integer query parameter (400 when malformed or missing)."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise Malformed(f"{name} is given more than once")
    if not values or values[0] == "":
        if default is None:
            raise Malformed(f"{name} is required")
        return default
    text = values[0]
    if not text.isdigit() or len(text) > 16 or (len(text) > 1 and text[0] == "0"):
        raise Malformed(f"{name} must be a non-negative decimal integer")
    return int(text)


@router.get("/sth", response_model=None, summary="The latest signed tree head")
def sth(services: ServicesDep, session: ReadSession) -> dict[str, JSONValue]:
    return services.board.tree_head(session)


@router.get(
    "", response_model=None, summary="Leaves [start, end) as NDJSON, each line the exact leaf bytes"
)
def leaves(request: Request, services: ServicesDep, session: ReadSession) -> StreamingResponse:
    size = services.board.store.size(session)
    start = query_int(request, "start", 0)
    end = query_int(request, "end", size)
    if not start <= end <= size:
        raise Malformed(f"need 0 <= start <= end <= {size}")

    def lines() -> Iterator[bytes]:
        with services.read_sessions() as own:
            for first in range(start, end, _BATCH):
                for leaf in services.board.store.leaves(own, first, min(first + _BATCH, end)):
                    yield leaf + b"\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.post(
    "",
    response_model=None,
    status_code=201,
    summary="Append a signed envelope; returns its receipt (200 with the original on a retry)",
)
async def append(services: ServicesDep, body: BodyDep) -> JSONResponse:
    # Parsing and the signature check run here; the board's writer thread appends the
    # envelope with whatever else is queued, in one transaction, and answers through a future.
    submission = services.board.prepare(body)
    posted = await asyncio.wrap_future(services.board.submit(submission))
    return JSONResponse(posted.receipt, status_code=201 if posted.created else 200)


@router.get(
    "/proof/inclusion",
    response_model=None,
    summary="An inclusion proof of a leaf in a tree of some size",
)
def inclusion(
    request: Request, services: ServicesDep, session: ReadSession
) -> dict[str, JSONValue]:
    size = services.board.store.size(session)
    index = query_int(request, "index")
    tree_size = query_int(request, "tree_size", size)
    if not index < tree_size <= size:
        raise Malformed(f"need index < tree_size <= {size}")
    proof = services.board.store.inclusion_proof(session, index, tree_size)
    return {"inclusion_proof": [b64u_encode(node) for node in proof]}


@router.get(
    "/proof/consistency", response_model=None, summary="A consistency proof between two tree sizes"
)
def consistency(
    request: Request, services: ServicesDep, session: ReadSession
) -> dict[str, JSONValue]:
    size = services.board.store.size(session)
    first = query_int(request, "first")
    second = query_int(request, "second", size)
    if not 1 <= first <= second <= size:
        raise Malformed(f"need 1 <= first <= second <= {size}")
    if first == second:
        return {"consistency_proof": []}
    proof = services.board.store.consistency_proof(session, first, second)
    return {"consistency_proof": [b64u_encode(node) for node in proof]}
