"""Board trust (client/board.py): keys only from the signed board, receipts and tree heads."""

from __future__ import annotations

import json

import httpx
import pytest

from client import (
    Client,
    MalformedResponse,
    Receipt,
    TreeHead,
    VerificationError,
    fetch_assembly,
    fetch_authority_key,
    find_question,
    verify_receipt,
    verify_receipt_against,
    verify_tree_head,
)
from crypto.blind_rsa import PrivateKey
from crypto.ed25519 import SigningKey
from crypto.encoding import canonical_json
from tests.unit.client.client_fakes import FakeServer


def test_fetch_assembly_returns_the_board_issuer_key(
    server: FakeServer, client: Client, issuer: PrivateKey
) -> None:
    assembly = fetch_assembly(client, "city")
    assert assembly.issuer_key == issuer.public_key()
    assert assembly.index == 1
    assert assembly.authority_key == server.authority.public_key_b64u
    assert assembly.tree_head.tree_size == 2
    assert assembly.initiative_threshold == 100


def test_forged_tree_head_signature_is_refused(server: FakeServer, client: Client) -> None:
    server.forge_sth = True
    with pytest.raises(VerificationError, match="not signed by the authority key"):
        fetch_assembly(client, "city")


def test_tree_head_naming_another_authority_is_refused(server: FakeServer) -> None:
    other = SigningKey(b"\x42" * 32)
    forged = server.head(2, other) | {"authority_key": other.public_key_b64u}
    with pytest.raises(VerificationError, match="another authority key"):
        verify_tree_head(TreeHead.from_json(forged), server.authority.public_key_b64u)


def test_assembly_signed_by_another_key_is_refused(
    issuer: PrivateKey, client: Client, server: FakeServer
) -> None:
    server.open_assembly("rogue", key=SigningKey(b"\x42" * 32))
    with pytest.raises(VerificationError, match="not signed by the authority key"):
        fetch_assembly(client, "rogue")
    assert fetch_assembly(client, "city").issuer_key == issuer.public_key()


def test_assembly_record_with_a_bad_signature_is_refused(
    server: FakeServer, client: Client
) -> None:
    envelope = server.envelope(server.authority, {"type": "assembly", "assembly_id": "x"})
    envelope["record"]["title"] = "changed after signing"
    server.add(envelope)
    with pytest.raises(VerificationError, match="signature does not verify"):
        fetch_assembly(client, "x")


def test_a_missing_assembly_or_a_lying_locator(server: FakeServer, client: Client) -> None:
    with pytest.raises(VerificationError, match="not on the board"):
        fetch_assembly(client, "nowhere")
    # The server names the leaf; the client believes only the leaf itself.
    server.overrides[("GET", "/v1/assemblies/city")] = httpx.Response(
        200, json={"assembly_id": "city", "index": 0, "questions": []})
    with pytest.raises(VerificationError, match="not the record of assembly 'city'"):
        fetch_assembly(client, "city")


def test_a_leaf_not_in_the_signed_tree_is_refused(server: FakeServer, client: Client) -> None:
    def altered(leaves: list[bytes]) -> list[bytes]:
        envelopes = [json.loads(leaf) for leaf in leaves]
        for envelope in envelopes:
            envelope["record"]["title"] = "Other"
        return [canonical_json(envelope) for envelope in envelopes]

    server.served_leaves = altered
    with pytest.raises(VerificationError, match="not in the signed tree"):
        fetch_assembly(client, "city")


def test_a_leaf_not_served_is_refused(server: FakeServer, client: Client) -> None:
    server.served_leaves = lambda leaves: []
    with pytest.raises(MalformedResponse, match="did not serve leaf"):
        fetch_assembly(client, "city")


def test_a_forged_genesis_is_not_in_the_signed_tree(server: FakeServer, client: Client) -> None:
    impostor = SigningKey(b"\x42" * 32)
    forged = server.envelope(impostor, {"type": "genesis", "protocol": "isegoria/v1",
                                        "authority_key": impostor.public_key_b64u})
    server.served_leaves = lambda leaves: [canonical_json(forged)] if len(leaves) == 1 else leaves
    with pytest.raises(VerificationError, match="not in the signed tree"):
        fetch_assembly(client, "city")


def test_genesis_must_be_self_signed(issuer: PrivateKey) -> None:
    fake = FakeServer(issuer)
    impostor = SigningKey(b"\x42" * 32)
    record = json.loads(fake.leaves[0])["record"]
    fake.leaves[0] = canonical_json(fake.envelope(impostor, record))
    client = Client("http://t", transport=httpx.MockTransport(fake))
    with pytest.raises(VerificationError, match="genesis"):
        fetch_authority_key(client)


def test_pinned_authority_key_must_match(server: FakeServer, client: Client) -> None:
    assert fetch_authority_key(client) == server.authority.public_key_b64u
    pinned = SigningKey(b"\x42" * 32).public_key_b64u
    with pytest.raises(VerificationError, match="pinned"):
        fetch_assembly(client, "city", pinned=pinned)


def test_find_question(server: FakeServer, client: Client) -> None:
    server.ask("q1", "ranked", ("a", "b", "c"))
    question = find_question(client, "q1")
    assert question["method"] == "ranked"
    with pytest.raises(VerificationError):
        find_question(client, "q2")


# --- receipts ---------------------------------------------------------------------------------


def _receipt(server: FakeServer, index: int) -> tuple[Receipt, dict[str, object]]:
    return Receipt.from_json(server.receipt(index)), json.loads(server.leaves[index])


def test_verify_receipt(server: FakeServer) -> None:
    server.ask("q1")
    receipt, envelope = _receipt(server, 2)
    verify_receipt(receipt, server.authority.public_key_b64u, envelope)


def test_receipt_for_another_envelope_is_refused(server: FakeServer) -> None:
    server.ask("q1")
    receipt, _ = _receipt(server, 2)
    _, other = _receipt(server, 1)
    with pytest.raises(VerificationError, match="leaf hash"):
        verify_receipt(receipt, server.authority.public_key_b64u, other)


def test_receipt_with_a_bad_proof_is_refused(server: FakeServer) -> None:
    server.ask("q1")
    server.bad_receipt_proof = True
    receipt, envelope = _receipt(server, 2)
    with pytest.raises(VerificationError, match="inclusion proof"):
        verify_receipt(receipt, server.authority.public_key_b64u, envelope)


def test_receipt_with_a_later_tree_head_is_refused(server: FakeServer) -> None:
    server.ask("q1")
    server.ask("q2")
    # index + 2 is allowed only for a leaf that owed the next one (§5.4.3): + 3 never is.
    data = server.receipt(1) | {"sth": server.heads[3]}
    with pytest.raises(VerificationError, match=r"size 4, not 2 \(or 3\)"):
        verify_receipt(Receipt.from_json(data), server.authority.public_key_b64u)
    # Of size index + 2, the tree head must still hold the leaf by a valid proof.
    data = server.receipt(1) | {"sth": server.heads[2]}
    with pytest.raises(VerificationError, match="inclusion proof"):
        verify_receipt(Receipt.from_json(data), server.authority.public_key_b64u)


def test_receipt_under_another_authority_is_refused(server: FakeServer) -> None:
    receipt, _ = _receipt(server, 1)
    with pytest.raises(VerificationError):
        verify_receipt(receipt, SigningKey(b"\x42" * 32).public_key_b64u)


def test_receipt_against_a_later_head(server: FakeServer, client: Client) -> None:
    receipt, _ = _receipt(server, 1)
    for n in range(5):
        server.ask(f"q{n}")
    latest = client.board_sth()
    verify_receipt_against(client, receipt, latest, server.authority.public_key_b64u)


def test_receipt_against_a_forked_board(server: FakeServer, issuer: PrivateKey) -> None:
    server.ask("q1")
    receipt, _ = _receipt(server, 2)
    fork = FakeServer(issuer)  # same authority, same genesis, different history
    fork.open_assembly("elsewhere")
    for n in range(3):
        fork.ask(f"x{n}")
    forked = Client("http://t", transport=httpx.MockTransport(fork))
    with pytest.raises(VerificationError, match="does not extend"):
        verify_receipt_against(
            forked, receipt, forked.board_sth(), server.authority.public_key_b64u
        )


def test_receipt_against_an_older_head_is_refused(server: FakeServer, client: Client) -> None:
    server.ask("q1")
    receipt, _ = _receipt(server, 2)
    older = TreeHead.from_json(server.heads[1])
    with pytest.raises(VerificationError, match="went backwards"):
        verify_receipt_against(client, receipt, older, server.authority.public_key_b64u)
