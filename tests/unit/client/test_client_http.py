"""The HTTP layer (client/_client.py): request shapes, error mapping, retries, streaming."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from client import (
    BadRequest,
    Client,
    ClientError,
    Conflict,
    EnrollmentCodeUsed,
    Forbidden,
    MalformedResponse,
    NetworkError,
    NotFound,
    PayloadTooLarge,
    ServerFailed,
    ServerRefused,
    TooManyRequests,
    Unauthorized,
    UsageError,
)
from crypto.ed25519 import RECORD_DOMAIN, SigningKey, sign_object
from crypto.encoding import b64u_encode, canonical_json
from tests.unit.client.client_fakes import ADMIN_TOKEN, FakeServer, json_response, refuse

Handler = Callable[[httpx.Request], httpx.Response]


def recording(answer: httpx.Response) -> tuple[list[httpx.Request], Handler]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer

    return seen, handler


def make(handler: Handler, token: str | None = ADMIN_TOKEN) -> Client:
    return Client("http://isegoria.test", transport=httpx.MockTransport(handler),
                  admin_token=token, retry_delay=0)


PUBLISHED = {"index": 3, "envelope": {"record": {"type": "topic"}, "signer": "k", "sig": "s"}}


# --- request shapes ---------------------------------------------------------------------------


def test_create_assembly_sends_exact_body_and_admin_bearer() -> None:
    seen, handler = recording(json_response(201, PUBLISHED))
    published = make(handler).create_assembly("city", "City of A", key_bits=2048)
    (request,) = seen
    assert (request.method, request.url.path) == ("POST", "/v1/assemblies")
    assert request.content == b'{"assembly_id":"city","key_bits":2048,"title":"City of A"}'
    assert request.headers["Authorization"] == f"Bearer {ADMIN_TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert published.index == 3
    assert published.record == {"type": "topic"}


def test_create_question_omits_unused_optional_members() -> None:
    seen, handler = recording(json_response(201, PUBLISHED))
    make(handler).create_question(
        "city", "q1", topic_id="parks", title="Which?", method="approval",
        options=[{"id": "a", "title": "A"}], max_choices=2,
    )
    assert json.loads(seen[0].content) == {
        "question_id": "q1", "topic_id": "parks", "title": "Which?", "method": "approval",
        "options": [{"id": "a", "title": "A"}], "max_choices": 2,
    }
    assert seen[0].url.path == "/v1/assemblies/city/questions"


def test_admin_request_without_token_sends_nothing() -> None:
    seen, handler = recording(json_response(201, PUBLISHED))
    with pytest.raises(UsageError, match="ISEGORIA_ADMIN_TOKEN"):
        make(handler, token=None).create_topic("city", "parks", "Parks")
    assert seen == []


def test_credential_request_uses_the_code_not_the_admin_token() -> None:
    seen, handler = recording(json_response(200, {"blind_sig": b64u_encode(b"\x07" * 256)}))
    blind_sig = make(handler).request_credential("city", "the-code", b"\x05" * 256)
    (request,) = seen
    assert request.url.path == "/v1/assemblies/city/credentials"
    assert request.headers["Authorization"] == "Bearer the-code"
    assert request.content == canonical_json({"blinded_msg": b64u_encode(b"\x05" * 256)})
    assert blind_sig == b"\x07" * 256


def test_credential_answer_of_the_wrong_length_is_malformed() -> None:
    _, handler = recording(json_response(200, {"blind_sig": b64u_encode(b"\x07" * 255)}))
    with pytest.raises(MalformedResponse):
        make(handler).request_credential("city", "the-code", b"\x05" * 256)


def test_roll_and_close_and_suspend_shapes() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/roll"):
            return json_response(200, {"codes": {"r1": "c1", "r2": "c2"}})
        if request.url.path.endswith("/close"):
            return json_response(200, {"citizens": {}})
        return json_response(201, PUBLISHED)

    client = make(handler)
    assert client.add_to_roll("city", ["r1", "r2"]) == {"r1": "c1", "r2": "c2"}
    assert client.close_question("q1") == {"citizens": {}}
    client.suspend_lobby("acme", "fraud")
    assert [r.content for r in seen] == [b'{"voters":["r1","r2"]}', b"", b'{"reason":"fraud"}']
    assert [r.url.path for r in seen] == [
        "/v1/assemblies/city/roll", "/v1/questions/q1/close", "/v1/lobbies/acme/suspend"]


def test_roll_answer_must_list_exactly_the_voters() -> None:
    _, handler = recording(json_response(200, {"codes": {"r1": "c1"}}))
    with pytest.raises(MalformedResponse):
        make(handler).add_to_roll("city", ["r1", "r2"])


def test_apply_lobby_body_and_no_authorization() -> None:
    seen, handler = recording(json_response(202, {"lobby_id": "acme", "status": "pending"}))
    answer = make(handler).apply_lobby("acme", "KEY", {"legal_name": "Acme"}, "SIG")
    assert answer["status"] == "pending"
    assert json.loads(seen[0].content) == {
        "lobby_id": "acme", "lobby_key": "KEY", "declaration": {"legal_name": "Acme"},
        "sig": "SIG"}
    assert "Authorization" not in seen[0].headers


def test_path_segments_are_percent_encoded() -> None:
    seen, handler = recording(json_response(200, {}))
    make(handler).trace("q1", "a/../b")
    assert seen[0].url.raw_path == b"/v1/questions/q1/trace/a%2F..%2Fb"


def test_proof_queries() -> None:
    seen, handler = recording(json_response(200, {"inclusion_proof": [b64u_encode(b"h" * 32)]}))
    assert make(handler).inclusion_proof(2, 5) == (b"h" * 32,)
    assert dict(seen[0].url.params) == {"index": "2", "tree_size": "5"}


# --- error mapping ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, BadRequest), (401, Unauthorized), (403, Forbidden), (404, NotFound), (409, Conflict),
     (413, PayloadTooLarge), (429, TooManyRequests), (418, ServerRefused)],
)
def test_refusals_are_typed_and_carry_the_detail(status: int, kind: type[ServerRefused]) -> None:
    _, handler = recording(refuse(status, "because of reasons"))
    with pytest.raises(kind) as caught:
        make(handler).tally("q1")
    assert type(caught.value) is kind
    assert caught.value.status == status
    assert caught.value.detail == "because of reasons"
    assert "because of reasons" in caught.value.diagnostics()


def test_server_failure_and_non_json_detail() -> None:
    _, handler = recording(httpx.Response(500, content=b"Internal Server Error"))
    with pytest.raises(ServerFailed) as caught:
        make(handler).lobbies()
    assert (caught.value.status, caught.value.detail) == (500, "Internal Server Error")


def test_structured_detail_is_rendered_as_json() -> None:
    _, handler = recording(json_response(400, {"detail": [{"loc": ["body"], "msg": "bad"}]}))
    with pytest.raises(BadRequest) as caught:
        make(handler).lobbies()
    assert caught.value.detail == '[{"loc":["body"],"msg":"bad"}]'


def test_409_on_a_credential_request_is_enrollment_code_used() -> None:
    _, handler = recording(refuse(409, "enrollment code already used"))
    with pytest.raises(EnrollmentCodeUsed) as caught:
        make(handler).request_credential("city", "code", b"\x01" * 256)
    message = str(caught.value)
    assert "someone may have enrolled in your name" in message
    assert "contact the registrar" in message
    assert caught.value.status == 409


def test_409_elsewhere_is_a_plain_conflict() -> None:
    _, handler = recording(refuse(409, "duplicate"))
    with pytest.raises(Conflict) as caught:
        make(handler).create_topic("city", "parks", "Parks")
    assert not isinstance(caught.value, EnrollmentCodeUsed)


def test_redirects_are_not_followed() -> None:
    seen, handler = recording(httpx.Response(307, headers={"Location": "http://evil.test/"}))
    with pytest.raises(MalformedResponse):
        make(handler).create_topic("city", "parks", "Parks")
    assert len(seen) == 1


@pytest.mark.parametrize("body", [b"not json", b'{"a":1.5}', b'{"a":1,"a":2}', b"[]"])
def test_malformed_success_answers(body: bytes) -> None:
    _, handler = recording(httpx.Response(200, content=body))
    with pytest.raises(MalformedResponse):
        make(handler).lobbies()


def test_every_error_is_a_client_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ClientError):
        make(handler).lobbies()
    with pytest.raises(NetworkError):
        make(handler).board_sth()


# --- append retries ---------------------------------------------------------------------------


def _envelope() -> dict[str, object]:
    key = SigningKey(b"\x09" * 32)
    record = {"type": "support", "initiative_id": "i1", "pseudonym": key.public_key_b64u,
              "seq": 1, "withdrawn": False}
    return {"record": record, "signer": key.public_key_b64u,
            "sig": sign_object(key, RECORD_DOMAIN, record)}


def test_append_retries_network_errors_with_identical_bytes(server: FakeServer) -> None:
    server.fail_before = 2
    receipt = make(server).append(_envelope())  # type: ignore[arg-type]
    posts = [b for r, b in zip(server.requests, server.bodies, strict=True) if r.method == "POST"]
    assert len(posts) == 3
    assert len(set(posts)) == 1
    assert receipt.index == 2


def test_append_after_a_lost_answer_returns_the_original_receipt(server: FakeServer) -> None:
    server.drop_after = {"/v1/board"}  # the server appends, then the answer is lost
    receipt = make(server).append(_envelope())  # type: ignore[arg-type]
    assert len(server.leaves) == 3  # appended once only
    assert receipt.to_json() == server.receipt(2)


def test_append_gives_up_after_its_attempts(server: FakeServer) -> None:
    server.fail_before = 10
    client = Client("http://isegoria.test", transport=httpx.MockTransport(server),
                    append_attempts=3, retry_delay=0)
    with pytest.raises(NetworkError):
        client.append(_envelope())  # type: ignore[arg-type]
    assert len(server.requests) == 3


def test_append_does_not_retry_a_refusal(server: FakeServer) -> None:
    envelope = _envelope()
    envelope["sig"] = b64u_encode(bytes(64))
    with pytest.raises(Forbidden):
        make(server).append(envelope)  # type: ignore[arg-type]
    assert len(server.requests) == 1


def test_append_retries_a_gateway_failure_but_not_a_500() -> None:
    answers = [httpx.Response(503), refuse(400, "bad")]
    _, handler = recording(httpx.Response(500))
    seen: list[httpx.Request] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    with pytest.raises(BadRequest):
        make(flaky).append(_envelope())  # type: ignore[arg-type]
    assert len(seen) == 2
    with pytest.raises(ServerFailed):
        make(handler).append(_envelope())  # type: ignore[arg-type]


# --- the board stream -------------------------------------------------------------------------


class ChunkedStream(httpx.SyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield from self.chunks


def stream_of(chunks: list[bytes]) -> Client:
    return make(lambda request: httpx.Response(200, stream=ChunkedStream(chunks)))


def test_board_leaves_split_on_newline_only() -> None:
    leaf = '{"record":{"text":"a\u2028b\rc\x85"}}'.encode()
    data = leaf + b"\n" + b'{"x":1}\n'
    chunks = [data[i:i + 5] for i in range(0, len(data), 5)]
    assert list(stream_of(chunks).board_leaves()) == [leaf, b'{"x":1}']


def test_board_leaves_refuse_a_truncated_stream() -> None:
    with pytest.raises(MalformedResponse):
        list(stream_of([b'{"x":1}\n{"y"']).board_leaves())


def test_board_leaves_refuse_an_empty_line() -> None:
    with pytest.raises(MalformedResponse):
        list(stream_of([b'{"x":1}\n\n']).board_leaves())


def test_board_leaves_query_and_refusal() -> None:
    seen, handler = recording(refuse(400, "need start <= end"))
    with pytest.raises(BadRequest, match="need start"):
        list(make(handler).board_leaves(5, 2))
    assert dict(seen[0].url.params) == {"start": "5", "end": "2"}
