"""Strict parsing of tree heads, receipts and creation answers (client/models.py)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from client import MalformedResponse, Published, Receipt, TreeHead
from crypto.encoding import b64u_encode
from tests.unit.client.client_fakes import FakeServer


@pytest.fixture
def receipt_json(server: FakeServer) -> dict[str, Any]:
    server.ask("q1")
    return server.receipt(2)


def test_receipt_round_trip(receipt_json: dict[str, Any]) -> None:
    receipt = Receipt.from_json(receipt_json)
    assert receipt.index == 2
    assert receipt.sth.tree_size == 3
    assert len(receipt.inclusion_proof) == 1  # leaf 2 of 3: its sibling is the subtree [0, 2)
    assert receipt.to_json() == receipt_json


def _mutations() -> list[tuple[str, Any]]:
    return [
        ("drop index", lambda r: r.pop("index")),
        ("extra member", lambda r: r.update(extra=1)),
        ("index is a bool", lambda r: r.update(index=True)),
        ("negative index", lambda r: r.update(index=-1)),
        ("index beyond 2^53", lambda r: r.update(index=2**53)),
        ("short leaf hash", lambda r: r.update(leaf_hash=b64u_encode(b"x" * 31))),
        ("padded leaf hash", lambda r: r.update(leaf_hash=b64u_encode(b"x" * 32) + "=")),
        ("proof not a list", lambda r: r.update(inclusion_proof="abc")),
        ("proof item short", lambda r: r.update(inclusion_proof=[b64u_encode(b"x" * 33)])),
        ("sth extra member", lambda r: r["sth"].update(extra=1)),
        ("sth missing sig", lambda r: r["sth"].pop("sig")),
        ("sth short sig", lambda r: r["sth"].update(sig=b64u_encode(b"x" * 63))),
        ("sth bad key", lambda r: r["sth"].update(authority_key="not base64!")),
        ("sth size string", lambda r: r["sth"].update(tree_size="3")),
        ("sth not an object", lambda r: r.update(sth=[])),
    ]


@pytest.mark.parametrize(("name", "mutate"), _mutations(), ids=[m[0] for m in _mutations()])
def test_receipt_parsing_is_strict(receipt_json: dict[str, Any], name: str, mutate: Any) -> None:
    broken = copy.deepcopy(receipt_json)
    mutate(broken)
    with pytest.raises(MalformedResponse):
        Receipt.from_json(broken)


def test_tree_head_signed_object(server: FakeServer) -> None:
    head = TreeHead.from_json(server.heads[0])
    assert head.signed_object() == {
        k: server.heads[0][k] for k in ("tree_size", "root_hash", "timestamp")}
    assert head.to_json() == server.heads[0]


def test_published_requires_an_envelope() -> None:
    with pytest.raises(MalformedResponse):
        Published.from_json({"index": 1, "envelope": {"record": {}, "signer": "k"}})
    with pytest.raises(MalformedResponse):
        Published.from_json({"index": 1, "envelope": {"record": [], "signer": "k", "sig": "s"}})
