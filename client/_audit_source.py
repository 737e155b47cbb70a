"""What ``isegoria audit`` reads, and the checks its commands share on what they read.

Input: JSON files, exported boards (one leaf per line) and a server's public GET paths
(``Server``), all read strictly: unreadable input raises ``UsageError`` (exit 2), a server's
malformed answer ``MalformedResponse``. The shared checks (a tree head's signature, one board
extending another, RFC 9162 §2.1.4) raise ``VerificationError`` (exit 1). Split from
``client.audit_cli``, which keeps the commands and their output.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import httpx

from audit import BoardState, Malformed, RecordRefused, parse_envelope
from audit.replay import TreeHead
from client.errors import (
    MalformedResponse,
    NetworkError,
    ServerFailed,
    UsageError,
    VerificationError,
    refusal_for,
)
from crypto.encoding import JSONValue, b64u_decode, parse_json
from crypto.errors import CryptoError
from crypto.merkle import leaf_hash, verify_consistency, verify_inclusion

__all__ = [
    "Server",
    "check_extends",
    "file_leaves",
    "head_object",
    "is_url",
    "parse_tree_head",
    "verify_head",
]

_TIMEOUT = 30.0


def is_url(text: str) -> bool:
    """Whether ``text`` names a server rather than a file."""
    return text.startswith(("http://", "https://"))


def head_object(value: JSONValue, path: Path) -> dict[str, JSONValue]:
    """The JSON object a tree head file ``path`` holds; else ``UsageError``."""
    if not isinstance(value, dict):
        raise UsageError(f"the tree head {path} must be a JSON object")
    return value


def parse_tree_head(value: object, what: str) -> TreeHead:
    """``TreeHead.from_json``, with ``Malformed`` raised as ``MalformedResponse``."""
    try:
        return TreeHead.from_json(value, what)
    except Malformed as exc:
        raise MalformedResponse(exc.detail) from exc


def file_leaves(handle: BinaryIO, name: str) -> Iterator[bytes]:
    """Each line of an export without its ``\\n``: exactly the leaf bytes."""
    try:
        for line in handle:
            yield line[:-1] if line.endswith(b"\n") else line
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from exc


class Server:
    """The public GET paths of one isegoria server (DESIGN §5), answers read strictly."""

    def __init__(self, url: str, transport: httpx.BaseTransport | None) -> None:
        if not is_url(url):
            raise UsageError(f"{url!r} is not an http:// or https:// URL")
        self._owns_transport = transport is None
        try:
            self._http = httpx.Client(
                base_url=url.rstrip("/"),
                transport=transport,
                timeout=_TIMEOUT,
                follow_redirects=False,
                headers={"User-Agent": "isegoria-audit/1"},
            )
        except (httpx.InvalidURL, ValueError) as exc:
            raise UsageError(f"{url!r} is not a usable URL: {exc}") from exc

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._owns_transport:  # a transport passed in belongs to the caller, who reuses it
            self._http.close()

    @staticmethod
    def _check(response: httpx.Response) -> None:
        if response.status_code >= 500:
            raise ServerFailed(response.status_code, response.text[:200])
        if response.status_code != 200:
            raise refusal_for(response.status_code, response.text[:200])

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except httpx.InvalidURL as exc:
            raise UsageError(f"unusable URL: {exc}") from exc
        except httpx.HTTPError as exc:
            raise NetworkError(f"cannot {what}: {exc}") from exc

    def json(self, path: str, **params: int) -> JSONValue:
        with self._errors(f"GET {path}"):
            response = self._http.get(path, params=params)
        self._check(response)
        try:
            return parse_json(response.content)
        except CryptoError as exc:
            raise MalformedResponse(f"GET {path} did not answer strict JSON: {exc}") from exc

    def sth(self) -> TreeHead:
        return parse_tree_head(self.json("/v1/board/sth"), "the server's tree head")

    def leaves(self, start: int, end: int) -> Iterator[bytes]:
        """``GET /v1/board``, streamed; split on ``\\n`` only (JCS leaves U+2028 unescaped)."""
        with self._errors("read the board"), self._http.stream(
            "GET", "/v1/board", params={"start": start, "end": end}
        ) as response:
            if response.status_code != 200:
                response.read()
                self._check(response)
            buffer = bytearray()
            for chunk in response.iter_bytes():
                buffer += chunk
                lines = buffer.split(b"\n")
                buffer = bytearray(lines.pop())
                yield from (bytes(line) for line in lines)
            if buffer:
                raise MalformedResponse("the board stream ends inside a leaf")

    def _hashes(self, path: str, member: str, **params: int) -> list[bytes]:
        answer = self.json(path, **params)
        items = answer.get(member) if isinstance(answer, dict) else None
        if not isinstance(items, list):
            raise MalformedResponse(f"GET {path} did not answer {{{member!r}: [...]}}")
        try:
            return [b64u_decode(h, length=32, what=member) for h in items]
        except CryptoError as exc:
            raise MalformedResponse(str(exc)) from exc

    def inclusion_proof(self, index: int, tree_size: int) -> list[bytes]:
        return self._hashes(
            "/v1/board/proof/inclusion", "inclusion_proof", index=index, tree_size=tree_size
        )

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        return self._hashes(
            "/v1/board/proof/consistency", "consistency_proof", first=first, second=second
        )

    def genesis_key(self, head: TreeHead) -> str:
        """The authority key of leaf 0, checked as genesis and as included under ``head``."""
        leaves = list(self.leaves(0, 1))
        if len(leaves) != 1 or head.tree_size < 1:
            raise VerificationError("the board has no genesis leaf")
        try:
            envelope = parse_envelope(parse_json(leaves[0]))
            state = BoardState()
            state.apply(envelope)
        except (CryptoError, RecordRefused) as exc:
            raise VerificationError(f"leaf 0 is not a valid genesis record: {exc}") from exc
        proof = self.inclusion_proof(0, head.tree_size)
        try:
            verify_inclusion(leaf_hash(leaves[0]), 0, head.tree_size, proof, head.root_hash)
        except CryptoError as exc:
            raise VerificationError(f"leaf 0 is not in the signed tree: {exc}") from exc
        assert state.authority_key is not None
        return state.authority_key


def verify_head(head: TreeHead, authority_key: str, what: str) -> None:
    """Check ``head``'s signature by ``authority_key``; else ``VerificationError``."""
    try:
        head.verify(authority_key)
    except CryptoError as exc:
        raise VerificationError(f"{what} (size {head.tree_size}) fails: {exc}") from exc


def check_extends(server: Server, old: TreeHead, new: TreeHead) -> None:
    """``new`` is at least as recent as ``old`` and its tree extends ``old``'s (§2.1.4.2)."""
    if new.tree_size < old.tree_size:
        raise VerificationError(
            f"the board shrank from {old.tree_size} to {new.tree_size} leaves: it was rewritten"
        )
    if new.timestamp < old.timestamp:
        raise VerificationError("the latest tree head is dated before an earlier one")
    proof = [] if new.tree_size == old.tree_size else server.consistency_proof(
        old.tree_size, new.tree_size
    )  # fmt: skip
    try:
        verify_consistency(old.tree_size, new.tree_size, proof, old.root_hash, new.root_hash)
    except CryptoError as exc:
        raise VerificationError(
            f"the board of {new.tree_size} leaves does not extend the one of {old.tree_size} "
            f"leaves: it was rewritten ({exc})"
        ) from exc
