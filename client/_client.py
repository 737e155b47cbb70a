"""The HTTP layer: one method per DESIGN §5 path, over an injectable ``httpx`` transport.

Request bodies are sent as canonical JSON (RFC 8785), so an envelope sent twice is sent as the
same bytes. Answers are read with the strict JSON reader and parsed into :mod:`client.models`;
error answers become the typed refusals of :mod:`client.errors`, carrying the server's
``detail``. Only ``POST /v1/board`` is retried: DESIGN §10 makes an identical envelope return the
original receipt, so resending after a network failure can never append twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from urllib.parse import quote

import httpx

from client.errors import (
    Conflict,
    EnrollmentCodeUsed,
    MalformedResponse,
    NetworkError,
    ServerFailed,
    UsageError,
    refusal_for,
)
from client.models import Published, Receipt, TreeHead, json_object, parse_hashes
from crypto.encoding import JSONValue, b64u_decode, b64u_encode, canonical_json, parse_json
from crypto.errors import EncodingError

__all__ = ["DEFAULT_URL", "Client"]

DEFAULT_URL = "http://127.0.0.1:8000"
_USER_AGENT = "isegoria-client/1"
_JSON = "application/json"
# Gateway failures say nothing about whether the leaf was appended; a retry settles it.
_RETRY_STATUSES = frozenset({502, 503, 504})
_DETAIL_MAX = 500


def _segment(value: str) -> str:
    """One path segment, percent-encoded so that no identifier can change the path."""
    if not value:
        raise UsageError("an identifier must not be empty")
    return quote(value, safe="")


def _detail(response: httpx.Response) -> str:
    """The server's ``detail``, as text, whatever shape the error body has."""
    try:
        body = parse_json(response.content)
    except EncodingError:
        return response.text[:_DETAIL_MAX] or response.reason_phrase
    if isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
        if isinstance(detail, str):
            return detail
        return canonical_json(detail).decode()[:_DETAIL_MAX]
    return canonical_json(body).decode()[:_DETAIL_MAX]


def _raise_for_status(response: httpx.Response) -> None:
    status = response.status_code
    if status < 300:
        return
    if status < 400:
        raise MalformedResponse(f"unexpected redirect ({status}) from {response.url}")
    if status < 500:
        raise refusal_for(status, _detail(response))
    raise ServerFailed(status, _detail(response))


class Client:
    """A client of one isegoria server (DESIGN §5).

    ``transport`` replaces the network (``httpx.MockTransport`` in unit tests,
    ``httpx.ASGITransport`` against the app). ``admin_token`` is sent only on admin paths.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        transport: httpx.BaseTransport | None = None,
        admin_token: str | None = None,
        timeout: float = 30.0,
        append_attempts: int = 4,
        retry_delay: float = 0.5,
    ) -> None:
        if append_attempts < 1:
            raise ValueError("append_attempts must be at least 1")
        self._http = httpx.Client(
            base_url=base_url,
            transport=transport,
            timeout=timeout,
            headers={"User-Agent": _USER_AGENT, "Accept": _JSON},
            follow_redirects=False,  # never resend a bearer token to another place
        )
        self._admin_token = admin_token
        self._append_attempts = append_attempts
        self._retry_delay = retry_delay

    # --- plumbing ------------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _send(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, JSONValue] | None = None,
        params: Mapping[str, int] | None = None,
        bearer: str | None = None,
    ) -> httpx.Response:
        headers: dict[str, str] = {}
        content: bytes | None = None
        if body is not None:
            content = canonical_json(body)
            headers["Content-Type"] = _JSON
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        try:
            response = self._http.request(
                method, path, content=content, params=dict(params or {}), headers=headers
            )
        except httpx.TransportError as exc:
            raise NetworkError(
                f"cannot reach the server at {self._http.base_url} for {method} {path}: {exc}"
            ) from exc
        _raise_for_status(response)
        return response

    def _json(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, JSONValue] | None = None,
        params: Mapping[str, int] | None = None,
        bearer: str | None = None,
    ) -> JSONValue:
        response = self._send(method, path, body=body, params=params, bearer=bearer)
        try:
            return parse_json(response.content)
        except EncodingError as exc:
            raise MalformedResponse(f"{method} {path}: {exc}") from exc

    def _object(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, JSONValue] | None = None,
        params: Mapping[str, int] | None = None,
        bearer: str | None = None,
    ) -> dict[str, JSONValue]:
        answer = self._json(method, path, body=body, params=params, bearer=bearer)
        return json_object(answer, f"the answer to {method} {path}")

    def _published(
        self, path: str, body: Mapping[str, JSONValue] | None = None
    ) -> Published:
        """An admin creation: 201 appended, 200 the same request carried out before."""
        response = self._send("POST", path, body=body, bearer=self._admin())
        try:
            answer = parse_json(response.content)
        except EncodingError as exc:
            raise MalformedResponse(f"POST {path}: {exc}") from exc
        return Published.from_json(answer, created=response.status_code == 201)

    def _admin(self) -> str:
        if not self._admin_token:
            raise UsageError("this request needs the admin token (ISEGORIA_ADMIN_TOKEN)")
        return self._admin_token

    # --- the board -----------------------------------------------------------------------------

    def board_sth(self) -> TreeHead:
        """``GET /v1/board/sth``: the latest signed tree head (not yet verified)."""
        return TreeHead.from_json(self._json("GET", "/v1/board/sth"))

    def board_leaves(self, start: int | None = None, end: int | None = None) -> Iterator[bytes]:
        """``GET /v1/board``: the leaf bytes of ``[start, end)``, streamed one at a time."""
        params = {k: v for k, v in (("start", start), ("end", end)) if v is not None}
        try:
            with self._http.stream("GET", "/v1/board", params=params) as response:
                if response.status_code >= 300:
                    response.read()
                    _raise_for_status(response)
                # Split on b"\n" only: httpx's line reader also splits on \r and U+2028, which
                # JCS leaves unescaped inside strings.
                buffer = bytearray()
                for chunk in response.iter_bytes():
                    buffer += chunk
                    while (cut := buffer.find(b"\n")) >= 0:
                        line = bytes(buffer[:cut])
                        del buffer[: cut + 1]
                        if not line:
                            raise MalformedResponse("the board stream holds an empty line")
                        yield line
                if buffer:
                    raise MalformedResponse("the board stream ends inside a leaf")
        except httpx.TransportError as exc:
            raise NetworkError(f"cannot read the board: {exc}") from exc

    def append(self, envelope: Mapping[str, JSONValue]) -> Receipt:
        """``POST /v1/board``: append a signed envelope; retried with the identical bytes."""
        for attempt in range(self._append_attempts):
            last = attempt == self._append_attempts - 1
            try:
                return Receipt.from_json(self._json("POST", "/v1/board", body=envelope))
            except NetworkError:
                if last:
                    raise
            except ServerFailed as exc:
                if last or exc.status not in _RETRY_STATUSES:
                    raise
            time.sleep(self._retry_delay * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def inclusion_proof(self, index: int, tree_size: int | None = None) -> tuple[bytes, ...]:
        """``GET /v1/board/proof/inclusion``: the audit path of leaf ``index``."""
        params = {"index": index} | ({} if tree_size is None else {"tree_size": tree_size})
        obj = self._object("GET", "/v1/board/proof/inclusion", params=params)
        answer = json_object(obj, "inclusion proof answer", frozenset({"inclusion_proof"}))
        return parse_hashes(answer["inclusion_proof"], "inclusion_proof")

    def consistency_proof(self, first: int, second: int | None = None) -> tuple[bytes, ...]:
        """``GET /v1/board/proof/consistency``: from the tree of ``first`` leaves to ``second``."""
        params = {"first": first} | ({} if second is None else {"second": second})
        obj = self._object("GET", "/v1/board/proof/consistency", params=params)
        answer = json_object(obj, "consistency proof answer", frozenset({"consistency_proof"}))
        return parse_hashes(answer["consistency_proof"], "consistency_proof")

    # --- admin ---------------------------------------------------------------------------------

    def create_assembly(
        self,
        assembly_id: str,
        title: str,
        *,
        key_bits: int | None = None,
        initiative_threshold: int | None = None,
    ) -> Published:
        """``POST /v1/assemblies`` (admin): the ``assembly`` record, with a fresh issuer key."""
        body: dict[str, JSONValue] = {"assembly_id": assembly_id, "title": title}
        if key_bits is not None:
            body["key_bits"] = key_bits
        if initiative_threshold is not None:
            body["initiative_threshold"] = initiative_threshold
        return self._published("/v1/assemblies", body)

    def create_topic(self, assembly_id: str, topic_id: str, title: str) -> Published:
        """``POST /v1/assemblies/{a}/topics`` (admin)."""
        path = f"/v1/assemblies/{_segment(assembly_id)}/topics"
        body: dict[str, JSONValue] = {"topic_id": topic_id, "title": title}
        return self._published(path, body)

    def create_question(
        self,
        assembly_id: str,
        question_id: str,
        *,
        topic_id: str,
        title: str,
        method: str,
        options: Sequence[Mapping[str, JSONValue]],
        budget: int | None = None,
        max_choices: int | None = None,
        initiative_id: str | None = None,
    ) -> Published:
        """``POST /v1/assemblies/{a}/questions`` (admin); unused optional members are absent."""
        body: dict[str, JSONValue] = {
            "question_id": question_id,
            "topic_id": topic_id,
            "title": title,
            "method": method,
            "options": [dict(option) for option in options],
        }
        optional: dict[str, JSONValue | None] = {
            "budget": budget, "max_choices": max_choices, "initiative_id": initiative_id
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        path = f"/v1/assemblies/{_segment(assembly_id)}/questions"
        return self._published(path, body)

    def close_question(self, question_id: str) -> dict[str, JSONValue]:
        """``POST /v1/questions/{q}/close`` (admin): appends the close and the tally; its result."""
        path = f"/v1/questions/{_segment(question_id)}/close"
        return self._object("POST", path, bearer=self._admin())

    def add_to_roll(self, assembly_id: str, voters: Sequence[str]) -> dict[str, str]:
        """``POST /v1/assemblies/{a}/roll`` (admin): the enrollment code of each voter ref."""
        path = f"/v1/assemblies/{_segment(assembly_id)}/roll"
        body: dict[str, JSONValue] = {"voters": list(voters)}
        obj = self._object("POST", path, body=body, bearer=self._admin())
        codes = json_object(json_object(obj, "roll answer", frozenset({"codes"}))["codes"], "codes")
        result: dict[str, str] = {}
        for ref, code in codes.items():
            if not isinstance(code, str) or not code:
                raise MalformedResponse(f"the code of {ref!r} is not a string")
            result[ref] = code
        if set(result) != set(voters):
            raise MalformedResponse("the roll answer does not list exactly the voters sent")
        return result

    def approve_lobby(self, lobby_id: str) -> Published:
        """``POST /v1/lobbies/{l}/approve`` (admin): appends ``lobby_registered``."""
        path = f"/v1/lobbies/{_segment(lobby_id)}/approve"
        return self._published(path)

    def suspend_lobby(self, lobby_id: str, reason: str) -> Published:
        """``POST /v1/lobbies/{l}/suspend`` (admin): appends ``lobby_suspended`` (final)."""
        path = f"/v1/lobbies/{_segment(lobby_id)}/suspend"
        body: dict[str, JSONValue] = {"reason": reason}
        return self._published(path, body)

    # --- citizens and lobbies ------------------------------------------------------------------

    def request_credential(self, assembly_id: str, code: str, blinded_msg: bytes) -> bytes:
        """``POST /v1/assemblies/{a}/credentials``: the blind signature of ``blinded_msg``.

        A 409 raises :class:`EnrollmentCodeUsed`: the same request again would have been
        answered with the same signature, so another request used this code.
        """
        if not code:
            raise UsageError("the enrollment code is empty")
        path = f"/v1/assemblies/{_segment(assembly_id)}/credentials"
        body: dict[str, JSONValue] = {"blinded_msg": b64u_encode(blinded_msg)}
        try:
            obj = self._object("POST", path, body=body, bearer=code)
        except Conflict as exc:
            raise EnrollmentCodeUsed(exc.status, exc.detail) from exc
        answer = json_object(obj, "credential answer", frozenset({"blind_sig"}))
        try:
            return b64u_decode(answer["blind_sig"], length=len(blinded_msg), what="blind_sig")
        except EncodingError as exc:
            raise MalformedResponse(str(exc)) from exc

    def apply_lobby(
        self, lobby_id: str, lobby_key: str, declaration: Mapping[str, JSONValue], sig: str
    ) -> dict[str, JSONValue]:
        """``POST /v1/lobbies``: a signed application, pending until an admin approves it."""
        body: dict[str, JSONValue] = {
            "lobby_id": lobby_id,
            "lobby_key": lobby_key,
            "declaration": dict(declaration),
            "sig": sig,
        }
        return self._object("POST", "/v1/lobbies", body=body)

    # --- public reads --------------------------------------------------------------------------

    def question_index(self, question_id: str) -> int:
        """``GET /v1/questions/{q}``: the leaf index of the question's record."""
        return self._index(f"/v1/questions/{_segment(question_id)}")

    def assembly_index(self, assembly_id: str) -> int:
        """``GET /v1/assemblies/{a}``: the leaf index of the assembly's record."""
        return self._index(f"/v1/assemblies/{_segment(assembly_id)}")

    def _index(self, path: str) -> int:
        index = self._object("GET", path).get("index")
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise MalformedResponse(f"GET {path}: no leaf index")
        return index

    def tally(self, question_id: str) -> dict[str, JSONValue]:
        """``GET /v1/questions/{q}/tally``: the published result (404 until closed)."""
        return self._object("GET", f"/v1/questions/{_segment(question_id)}/tally")

    def lobbies(self) -> dict[str, JSONValue]:
        """``GET /v1/lobbies``: the public register."""
        return self._object("GET", "/v1/lobbies")

    def lobby(self, lobby_id: str) -> dict[str, JSONValue]:
        """``GET /v1/lobbies/{l}``: declarations, suspensions and positions of one lobby."""
        return self._object("GET", f"/v1/lobbies/{_segment(lobby_id)}")

    def lobbies_csv(self) -> str:
        """``GET /v1/lobbies.csv``: the register as RFC 4180 CSV."""
        return self._send("GET", "/v1/lobbies.csv").text

    def trace(self, question_id: str, pseudonym: str) -> dict[str, JSONValue]:
        """``GET /v1/questions/{q}/trace/{p}``: where ``pseudonym``'s voice went."""
        path = f"/v1/questions/{_segment(question_id)}/trace/{_segment(pseudonym)}"
        return self._object("GET", path)

    def delegates(self, assembly_id: str) -> dict[str, JSONValue]:
        """``GET /v1/assemblies/{a}/delegates``: profiles and incoming delegations."""
        return self._object("GET", f"/v1/assemblies/{_segment(assembly_id)}/delegates")

    def initiatives(self, assembly_id: str) -> dict[str, JSONValue]:
        """``GET /v1/assemblies/{a}/initiatives``: citizens' proposals and their supports."""
        return self._object("GET", f"/v1/assemblies/{_segment(assembly_id)}/initiatives")

    def opinions(self, question_id: str) -> dict[str, JSONValue]:
        """``GET /v1/questions/{q}/opinions``: argued opinions by stance."""
        return self._object("GET", f"/v1/questions/{_segment(question_id)}/opinions")
