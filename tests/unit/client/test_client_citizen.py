"""A citizen's enrollment and records (client/citizen.py, client/_actor.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from client import (
    Citizen,
    Client,
    EnrollmentCodeUsed,
    Forbidden,
    NetworkError,
    PendingActionRefused,
    StoredReceipt,
    Unauthorized,
    UsageError,
    VerificationError,
    Wallet,
    parse_scope,
)
from crypto.blind_rsa import PrivateKey, credential_message
from crypto.ed25519 import RECORD_DOMAIN, SigningKey, verify_object
from crypto.encoding import b64u_decode, canonical_json
from tests.unit.client.client_fakes import PASSPHRASE, TINY, FakeServer, refuse


def posts(server: FakeServer, path: str) -> list[bytes]:
    return [body for request, body in zip(server.requests, server.bodies, strict=True)
            if request.method == "POST" and request.url.path == path]


@pytest.fixture
def citizen(client: Client, wallet: Wallet) -> Citizen:
    return Citizen(client, wallet)


@pytest.fixture
def enrolled(citizen: Citizen, server: FakeServer) -> Citizen:
    citizen.enroll("code-alice")
    server.ask("q1")
    return citizen


# --- enrollment -------------------------------------------------------------------------------


def test_enroll_publishes_a_verifiable_pseudonym_record(
    citizen: Citizen, server: FakeServer, issuer: PrivateKey, wallet_path: Path
) -> None:
    receipt = citizen.enroll("code-alice")
    (envelope,) = server.records("pseudonym")
    record = envelope["record"]
    assert set(record) == {"type", "assembly_id", "pseudonym", "msg_prefix", "credential"}
    assert record["assembly_id"] == "city"
    assert record["pseudonym"] == envelope["signer"] == citizen.pseudonym
    verify_object(envelope["signer"], RECORD_DOMAIN, record, envelope["sig"])
    prefix = b64u_decode(record["msg_prefix"], length=32)
    msg = credential_message("city", b64u_decode(citizen.pseudonym))
    issuer.public_key().verify(prefix + msg, b64u_decode(record["credential"]))
    assert receipt.index == 2
    opened = Wallet.open(wallet_path, PASSPHRASE)
    assert opened.enrolled and opened.enrollment is None and opened.pending is None
    assert opened.authority_key == server.authority.public_key_b64u
    assert opened.receipts[0].receipt == receipt


def test_enroll_request_carries_only_the_blinded_message(
    citizen: Citizen, server: FakeServer
) -> None:
    citizen.enroll("code-alice")
    (request,) = [r for r in server.requests if r.url.path.endswith("/credentials")]
    assert request.headers["Authorization"] == "Bearer code-alice"
    body = json.loads(request.content)
    assert list(body) == ["blinded_msg"]
    assert len(b64u_decode(body["blinded_msg"])) == 256
    # The registrar never sees the pseudonym key.
    assert b64u_decode(citizen.pseudonym) not in request.content


def test_used_code_raises_enrollment_code_used(citizen: Citizen, server: FakeServer) -> None:
    server.codes["code-alice"] = b"\x01" * 256  # someone else got a credential with it
    with pytest.raises(EnrollmentCodeUsed, match="someone may have enrolled in your name"):
        citizen.enroll("code-alice")
    assert server.records("pseudonym") == []


def test_unknown_code(citizen: Citizen) -> None:
    with pytest.raises(Unauthorized, match="unknown enrollment code"):
        citizen.enroll("code-nobody")


def test_interrupted_enrollment_retries_the_same_blinded_message(
    citizen: Citizen, server: FakeServer, client: Client, wallet_path: Path
) -> None:
    server.drop_after = {"/v1/assemblies/city/credentials"}  # issued, answer lost
    with pytest.raises(NetworkError):
        citizen.enroll("code-alice")
    # A new process opens the wallet again; the registrar must see the identical request.
    again = Citizen(client, Wallet.open(wallet_path, PASSPHRASE))
    again.enroll("code-alice")
    first, second = posts(server, "/v1/assemblies/city/credentials")
    assert first == second
    assert len(server.records("pseudonym")) == 1


def test_issuer_key_signed_by_another_key_is_never_used(
    client: Client, server: FakeServer, tmp_path: Path
) -> None:
    server.open_assembly("rogue", key=SigningKey(b"\x42" * 32))
    rogue = Citizen(client, Wallet.create(tmp_path / "w", PASSPHRASE, "rogue", limits=TINY))
    with pytest.raises(VerificationError):
        rogue.enroll("code-alice")
    assert posts(server, "/v1/assemblies/rogue/credentials") == []


def test_enroll_twice_is_refused(enrolled: Citizen) -> None:
    with pytest.raises(UsageError, match="already enrolled"):
        enrolled.enroll("code-alice")


def test_actions_need_enrollment(citizen: Citizen, server: FakeServer) -> None:
    with pytest.raises(UsageError, match="not enrolled"):
        citizen.vote("q1", "yes")
    assert posts(server, "/v1/board") == []


# --- records ----------------------------------------------------------------------------------


def _last(server: FakeServer) -> dict[str, Any]:
    envelope: dict[str, Any] = json.loads(server.leaves[-1])
    verify_object(envelope["signer"], RECORD_DOMAIN, envelope["record"], envelope["sig"])
    return envelope["record"]


def test_record_shapes_and_seq(enrolled: Citizen, server: FakeServer) -> None:
    me = enrolled.pseudonym
    other = SigningKey(b"\x42" * 32).public_key_b64u
    actions = [
        (lambda: enrolled.vote("q1", "yes"),
         {"type": "ballot", "question_id": "q1", "pseudonym": me, "choice": "yes"}),
        (lambda: enrolled.delegate({"topic": "parks"}, other),
         {"type": "delegation", "assembly_id": "city", "pseudonym": me, "delegate": other,
          "scope": {"topic": "parks"}}),
        (lambda: enrolled.delegate({"assembly": "city"}, None),
         {"type": "delegation", "assembly_id": "city", "pseudonym": me, "delegate": None,
          "scope": {"assembly": "city"}}),
        (lambda: enrolled.revoke({"question": "q1"}),
         {"type": "revocation", "assembly_id": "city", "pseudonym": me,
          "scope": {"question": "q1"}}),
        (lambda: enrolled.profile("Ada", "Parks first"),
         {"type": "delegate_profile", "assembly_id": "city", "pseudonym": me,
          "display_name": "Ada", "statement": "Parks first"}),
        (lambda: enrolled.opine("q1", "against", "Too costly"),
         {"type": "opinion", "question_id": "q1", "pseudonym": me, "stance": "against",
          "text": "Too costly"}),
        (lambda: enrolled.propose("parks", "more-trees", "More trees", "Plant them"),
         {"type": "initiative", "assembly_id": "city", "topic_id": "parks",
          "initiative_id": "more-trees", "pseudonym": me, "title": "More trees",
          "text": "Plant them"}),
        (lambda: enrolled.support("more-trees", withdrawn=True),
         {"type": "support", "initiative_id": "more-trees", "pseudonym": me, "withdrawn": True}),
    ]
    for seq, (act, expected) in enumerate(actions, start=1):
        receipt = act()
        assert _last(server) == expected | {"seq": seq}
        assert receipt.index == len(server.leaves) - 1
    assert enrolled.wallet.seq == len(actions)
    assert len(enrolled.wallet.receipts) == len(actions) + 1


@pytest.mark.parametrize(
    "act",
    [
        lambda c: c.delegate({"assembly": "other-city"}, None),
        lambda c: c.delegate({"topic": "parks", "question": "q1"}, None),
        lambda c: c.delegate({"region": "north"}, None),
        lambda c: c.delegate({"topic": "parks"}, c.pseudonym),
        lambda c: c.delegate({"topic": "parks"}, "not-a-key"),
        lambda c: c.opine("q1", "maybe", "hmm"),
        lambda c: c.vote("Q1", "yes"),
    ],
)
def test_bad_input_is_refused_before_sending(
    enrolled: Citizen, server: FakeServer, act: Any
) -> None:
    before = len(server.requests)
    with pytest.raises(UsageError):
        act(enrolled)
    assert len(server.requests) == before
    assert enrolled.wallet.seq == 0


def test_parse_scope() -> None:
    assert parse_scope("topic:parks") == {"topic": "parks"}
    for bad in ("parks", "region:x", "topic:", "topic:Parks"):
        with pytest.raises(UsageError):
            parse_scope(bad)


# --- pending envelopes ------------------------------------------------------------------------


def test_crash_then_same_action_resends_identical_bytes(
    enrolled: Citizen, server: FakeServer, client: Client, wallet_path: Path
) -> None:
    server.fail_before = 100
    with pytest.raises(NetworkError):
        enrolled.vote("q1", "yes")
    first = posts(server, "/v1/board")[-1]
    server.fail_before = 0
    # "After the crash": a new process, the wallet read back from disk.
    again = Citizen(client, Wallet.open(wallet_path, PASSPHRASE))
    assert again.wallet.pending is not None
    receipt = again.vote("q1", "yes")
    assert posts(server, "/v1/board")[-1] == first
    assert again.wallet.seq == 1 and again.wallet.pending is None
    assert server.leaves[-1] == first
    assert receipt.index == len(server.leaves) - 1


def test_lost_answer_then_retry_gets_the_original_receipt(
    enrolled: Citizen, server: FakeServer, client: Client, wallet_path: Path
) -> None:
    server.drop_after = {"/v1/board"}
    # The answer is lost and this client does not retry in-process.
    no_retry = Client("http://isegoria.test", transport=httpx.MockTransport(server),
                      append_attempts=1)
    with pytest.raises(NetworkError):
        Citizen(no_retry, enrolled.wallet).vote("q1", "no")
    size = len(server.leaves)
    again = Citizen(client, Wallet.open(wallet_path, PASSPHRASE))
    assert again.resume() is not None
    assert len(server.leaves) == size  # nothing appended twice
    assert again.wallet.receipts[-1].receipt.index == size - 1


def test_a_different_action_first_flushes_the_pending_one(
    enrolled: Citizen, server: FakeServer, client: Client, wallet_path: Path
) -> None:
    server.fail_before = 100
    with pytest.raises(NetworkError):
        enrolled.vote("q1", "yes")
    pending = posts(server, "/v1/board")[-1]
    server.fail_before = 0
    again = Citizen(client, Wallet.open(wallet_path, PASSPHRASE))
    again.opine("q1", "for", "Yes please")
    ballot, opinion = (json.loads(leaf) for leaf in server.leaves[-2:])
    assert canonical_json(ballot) == pending
    assert (ballot["record"]["seq"], opinion["record"]["seq"]) == (1, 2)


def test_a_refused_pending_action_is_reported_and_dropped(
    enrolled: Citizen, server: FakeServer, client: Client, wallet_path: Path
) -> None:
    server.fail_before = 100
    with pytest.raises(NetworkError):
        enrolled.vote("closed", "yes")
    server.fail_before = 0
    again = Citizen(client, Wallet.open(wallet_path, PASSPHRASE))
    with pytest.raises(PendingActionRefused, match="ballot") as caught:
        again.opine("q1", "for", "ok")
    assert caught.value.refusal.status == 409
    assert Wallet.open(wallet_path, PASSPHRASE).pending is None
    again.opine("q1", "for", "ok")  # now it goes through
    assert _last(server)["seq"] == 2


def test_a_refusal_clears_the_pending_envelope(enrolled: Citizen, server: FakeServer) -> None:
    server.overrides[("POST", "/v1/board")] = refuse(403, "pseudonym outside its assembly")
    with pytest.raises(Forbidden):
        enrolled.vote("q1", "yes")
    assert enrolled.wallet.pending is None


def test_a_bad_receipt_keeps_the_action_pending(
    enrolled: Citizen, server: FakeServer, wallet_path: Path
) -> None:
    server.ask("q2")
    server.ask("q3")  # so that the next receipt has a non-empty proof
    server.bad_receipt_proof = True
    with pytest.raises(VerificationError):
        enrolled.vote("q1", "yes")
    assert Wallet.open(wallet_path, PASSPHRASE).pending is not None
    server.bad_receipt_proof = False
    assert enrolled.resume() is not None


# --- receipts later ---------------------------------------------------------------------------


def test_check_receipt_now(enrolled: Citizen, server: FakeServer) -> None:
    receipt = enrolled.vote("q1", "yes")
    for n in range(4):
        server.ask(f"later-{n}")
    enrolled.check_receipt_now(receipt, enrolled.wallet.receipts[-1].envelope)
    server.forge_sth = True
    with pytest.raises(VerificationError):
        enrolled.check_receipt_now(receipt)


def test_check_receipt_uses_the_saved_envelope(enrolled: Citizen) -> None:
    receipt = enrolled.vote("q1", "yes")
    enrolled.check_receipt(receipt)
    enrolled.wallet.receipts[-1] = StoredReceipt(
        enrolled.wallet.receipts[0].envelope, receipt
    )  # as if the wallet had kept another envelope beside this receipt
    with pytest.raises(VerificationError, match="leaf hash"):
        enrolled.check_receipt(receipt)


def test_trace_uses_the_wallet_pseudonym(enrolled: Citizen) -> None:
    answer = enrolled.trace("q1")
    assert answer["pseudonym"] == enrolled.pseudonym
