"""Board trust: the SDK takes no key from the server, only from the signed board (DESIGN §4, §8).

* The authority key is the one leaf 0 (``genesis``) names and is signed by; a client may pin it.
* A tree head counts only if it names that key and its Ed25519 signature (``STH_DOMAIN``) holds.
* A scan of the board recomputes the RFC 9162 §2.1.1 root of the leaves received and compares it
  with the signed head, so the records found are the ones everybody else sees.
* An issuer key comes only from the ``assembly`` record the authority signed (§2: one key for all).
* A receipt is checked against its own tree head (RFC 9162 §2.1.3.2) and, later, against a newer
  head by a consistency proof (§2.1.4.2) and a fresh inclusion proof.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from client._client import Client
from client.errors import MalformedResponse, NotFound, VerificationError
from client.models import Receipt, TreeHead
from crypto.blind_rsa import PublicKey, Variant
from crypto.ed25519 import RECORD_DOMAIN, STH_DOMAIN, verify_object
from crypto.encoding import JSONValue, b64u_decode, canonical_json, parse_json
from crypto.errors import CryptoError
from crypto.merkle import RootAccumulator, leaf_hash, verify_consistency, verify_inclusion

__all__ = [
    "PROTOCOL",
    "Assembly",
    "fetch_assembly",
    "fetch_authority_key",
    "find_question",
    "verify_receipt",
    "verify_receipt_against",
    "verify_tree_head",
]

PROTOCOL = "isegoria/v1"
_VARIANT = Variant.SHA384_PSS_RANDOMIZED.name_string

Envelope = dict[str, JSONValue]


def verify_tree_head(head: TreeHead, authority_key: str) -> None:
    """Check that ``head`` names ``authority_key`` and is signed by it."""
    if head.authority_key != authority_key:
        raise VerificationError("the tree head names another authority key than the board's")
    try:
        verify_object(authority_key, STH_DOMAIN, head.signed_object(), head.sig)
    except CryptoError as exc:
        raise VerificationError(
            f"the tree head of size {head.tree_size} is not signed by the authority key"
        ) from exc


def _envelope(leaf: bytes, index: int) -> tuple[Envelope, dict[str, JSONValue]]:
    try:
        value = parse_json(leaf)
    except CryptoError as exc:
        raise VerificationError(f"leaf {index} is not strict JSON: {exc}") from exc
    if (
        not isinstance(value, dict)
        or set(value) != {"record", "signer", "sig"}
        or not isinstance(value["record"], dict)
        or not isinstance(value["signer"], str)
        or not isinstance(value["sig"], str)
    ):
        raise VerificationError(f"leaf {index} is not an envelope")
    if canonical_json(value) != leaf:
        raise VerificationError(f"leaf {index} is not in canonical form")
    return value, value["record"]


def _verify_envelope(envelope: Envelope, record: dict[str, JSONValue], index: int) -> None:
    signer, sig = envelope["signer"], envelope["sig"]
    assert isinstance(signer, str) and isinstance(sig, str)
    try:
        verify_object(signer, RECORD_DOMAIN, record, sig)
    except CryptoError as exc:
        raise VerificationError(f"leaf {index}: the signature does not verify") from exc


def _genesis_key(leaf: bytes) -> str:
    envelope, record = _envelope(leaf, 0)
    key = record.get("authority_key")
    if (
        record.get("type") != "genesis"
        or set(record) != {"type", "protocol", "authority_key"}
        or record["protocol"] != PROTOCOL
        or not isinstance(key, str)
        or envelope["signer"] != key
    ):
        raise VerificationError("leaf 0 is not a genesis record signed by its own authority key")
    _verify_envelope(envelope, record, 0)
    return key


def _check_pin(found: str, pinned: str | None) -> str:
    if pinned is not None and found != pinned:
        raise VerificationError("the board's authority key is not the one this wallet pinned")
    return found


def fetch_authority_key(client: Client, *, pinned: str | None = None) -> str:
    """The authority key named and signed by leaf 0 (and equal to ``pinned`` when given)."""
    leaves = list(client.board_leaves(0, 1))
    if len(leaves) != 1:
        raise VerificationError("the board has no genesis leaf")
    return _check_pin(_genesis_key(leaves[0]), pinned)


def _scan(
    client: Client, pinned: str | None, want: Callable[[Mapping[str, JSONValue]], bool]
) -> tuple[str, TreeHead, list[tuple[int, Envelope]]]:
    """Read the whole board under the current signed head; the envelopes ``want`` picks."""
    head = client.board_sth()
    if head.tree_size == 0:
        raise VerificationError("the board is empty: it has no genesis")
    accumulator = RootAccumulator()
    authority: str | None = None
    found: list[tuple[int, Envelope]] = []
    for index, leaf in enumerate(client.board_leaves(0, head.tree_size)):
        if index >= head.tree_size:
            raise VerificationError("the board holds more leaves than its signed head")
        if index == 0:
            authority = _check_pin(_genesis_key(leaf), pinned)
            verify_tree_head(head, authority)
        accumulator.append(leaf)
        envelope, record = _envelope(leaf, index)
        if want(record):
            _verify_envelope(envelope, record, index)
            found.append((index, envelope))
    if authority is None or accumulator.size != head.tree_size:
        raise VerificationError("the board holds fewer leaves than its signed head")
    if accumulator.root() != head.root_hash:
        raise VerificationError("the board's leaves do not hash to the signed root")
    return authority, head, found


def _authority_record(
    found: list[tuple[int, Envelope]], authority: str, what: str
) -> tuple[int, dict[str, JSONValue]]:
    if not found:
        raise VerificationError(f"{what} is not on the board")
    if len(found) > 1:
        raise VerificationError(f"{what} appears more than once on the board")
    index, envelope = found[0]
    if envelope["signer"] != authority:
        raise VerificationError(f"{what} (leaf {index}) is not signed by the authority key")
    record = envelope["record"]
    assert isinstance(record, dict)
    return index, record


@dataclass(frozen=True, slots=True)
class Assembly:
    """An assembly as its authority-signed board record states it."""

    assembly_id: str
    title: str
    issuer_key: PublicKey
    initiative_threshold: int
    index: int
    authority_key: str
    tree_head: TreeHead


def fetch_assembly(client: Client, assembly_id: str, *, pinned: str | None = None) -> Assembly:
    """The assembly whose issuer key every client sees (§2): its record's leaf, located by
    ``GET /v1/assemblies/{a}`` and checked by an inclusion proof under the signed tree head,
    whose key is leaf 0's (itself proven in the tree) or ``pinned``."""
    authority, head = _signed_head(client, pinned)
    index, record = _authority_record_at(
        client, head, authority, "assembly", assembly_id, client.assembly_index
    )
    if record.get("variant") != _VARIANT:
        raise VerificationError(f"assembly {assembly_id!r} does not use {_VARIANT}")
    title, threshold = record.get("title"), record.get("initiative_threshold")
    try:
        issuer_key = PublicKey.from_spki(b64u_decode(record.get("issuer_key"), what="issuer_key"))
    except CryptoError as exc:
        raise VerificationError(f"assembly {assembly_id!r} has an unusable issuer key") from exc
    if not isinstance(title, str) or isinstance(threshold, bool) or not isinstance(threshold, int):
        raise MalformedResponse(f"the record of assembly {assembly_id!r} is malformed")
    return Assembly(assembly_id, title, issuer_key, threshold, index, authority, head)


def find_question(
    client: Client, question_id: str, *, pinned: str | None = None
) -> dict[str, JSONValue]:
    """The authority-signed ``question`` record (its method and options): the one leaf
    ``GET /v1/questions/{q}`` names, checked by an inclusion proof under the signed tree head,
    O(log n) whatever the board's size."""
    authority, head = _signed_head(client, pinned)
    return _authority_record_at(
        client, head, authority, "question", question_id, client.question_index
    )[1]


def _authority_record_at(
    client: Client,
    head: TreeHead,
    authority: str,
    kind: str,
    ident: str,
    locate: Callable[[str], int],
) -> tuple[int, dict[str, JSONValue]]:
    """The ``kind`` record ``ident``: at the leaf the server names (``locate``), proven in
    ``head``'s tree, signed by ``authority``, and the record asked for."""
    what = f"{kind} {ident!r}"
    try:
        index = locate(ident)
    except NotFound as exc:
        raise VerificationError(f"{what} is not on the board") from exc
    envelope, record = _located(client, head, index)
    if record.get("type") != kind or record.get(f"{kind}_id") != ident:
        raise VerificationError(f"leaf {index} is not the record of {what}")
    return _authority_record([(index, envelope)], authority, what)


def _signed_head(client: Client, pinned: str | None) -> tuple[str, TreeHead]:
    """The current signed tree head and the authority key it verifies under: ``pinned``, or
    (first contact) the key of leaf 0, whose place in that tree is proven too."""
    head = client.board_sth()
    if head.tree_size == 0:
        raise VerificationError("the board is empty: it has no genesis")
    if pinned is not None:
        _check_pin(head.authority_key, pinned)
        verify_tree_head(head, pinned)
        return pinned, head
    authority = _genesis_key(_proven_leaf(client, head, 0))
    verify_tree_head(head, authority)
    return authority, head


def _located(
    client: Client, head: TreeHead, index: int
) -> tuple[Envelope, dict[str, JSONValue]]:
    """Leaf ``index`` as an envelope, proven in ``head``'s tree, its signature checked."""
    envelope, record = _envelope(_proven_leaf(client, head, index), index)
    _verify_envelope(envelope, record, index)
    return envelope, record


def _proven_leaf(client: Client, head: TreeHead, index: int) -> bytes:
    """The bytes of leaf ``index``, proven in ``head``'s tree by an inclusion proof."""
    if index >= head.tree_size:
        raise VerificationError(f"leaf {index} is beyond the signed tree head")
    leaves = list(client.board_leaves(index, index + 1))
    if len(leaves) != 1:
        raise MalformedResponse(f"the board did not serve leaf {index}")
    try:
        proof = client.inclusion_proof(index, head.tree_size)
        verify_inclusion(leaf_hash(leaves[0]), index, head.tree_size, proof, head.root_hash)
    except CryptoError as exc:
        raise VerificationError(f"leaf {index} is not in the signed tree: {exc}") from exc
    return leaves[0]


def list_questions(
    client: Client, assembly_id: str, *, pinned: str | None = None
) -> list[tuple[dict[str, JSONValue], bool]]:
    """The assembly's authority-signed ``question`` records in board order, each with whether
    it is closed, read from the board (there is no listing path to trust instead)."""
    asked: dict[str, dict[str, JSONValue]] = {}
    closed: set[str] = set()
    authority, _, found = _scan(
        client,
        pinned,
        lambda r: r.get("type") in ("question", "question_closed"),
    )
    for index, envelope in found:
        if envelope["signer"] != authority:
            raise VerificationError(f"leaf {index} is not signed by the authority key")
        record = envelope["record"]
        assert isinstance(record, dict)
        question_id = record.get("question_id")
        if not isinstance(question_id, str):
            raise MalformedResponse(f"leaf {index} has no question_id")
        if record.get("type") == "question_closed":
            closed.add(question_id)
        elif record.get("assembly_id") == assembly_id:
            asked[question_id] = record
    return [(record, question_id in closed) for question_id, record in asked.items()]


def verify_receipt(
    receipt: Receipt, authority_key: str, envelope: Mapping[str, JSONValue] | None = None
) -> None:
    """Check a receipt against its own tree head, and against ``envelope`` when known."""
    if envelope is not None and leaf_hash(canonical_json(envelope)) != receipt.leaf_hash:
        raise VerificationError("the receipt's leaf hash is not the hash of the envelope sent")
    # index + 1, or index + 2 when the leaf owed the next one (an admitting support, §5.4.3).
    if not receipt.index + 1 <= receipt.sth.tree_size <= receipt.index + 2:
        raise VerificationError(
            f"the receipt for leaf {receipt.index} carries a tree head of size "
            f"{receipt.sth.tree_size}, not {receipt.index + 1} (or {receipt.index + 2})"
        )
    verify_tree_head(receipt.sth, authority_key)
    try:
        verify_inclusion(
            receipt.leaf_hash,
            receipt.index,
            receipt.sth.tree_size,
            receipt.inclusion_proof,
            receipt.sth.root_hash,
        )
    except CryptoError as exc:
        raise VerificationError(f"the receipt's inclusion proof fails: {exc}") from exc


def verify_receipt_against(
    client: Client, receipt: Receipt, latest: TreeHead, authority_key: str
) -> None:
    """Check that the board under ``latest`` still holds the receipt's leaf (DESIGN §8)."""
    verify_tree_head(latest, authority_key)
    old = receipt.sth
    if latest.tree_size < old.tree_size or latest.timestamp < old.timestamp:
        raise VerificationError(
            f"the latest tree head (size {latest.tree_size}) is older than the receipt's "
            f"(size {old.tree_size}): the board went backwards"
        )
    try:
        proof = client.consistency_proof(old.tree_size, latest.tree_size)
        verify_consistency(old.tree_size, latest.tree_size, proof, old.root_hash, latest.root_hash)
    except CryptoError as exc:
        raise VerificationError(
            f"the board of size {latest.tree_size} does not extend the receipt's board of size "
            f"{old.tree_size}: {exc}"
        ) from exc
    try:
        path = client.inclusion_proof(receipt.index, latest.tree_size)
        verify_inclusion(receipt.leaf_hash, receipt.index, latest.tree_size, path, latest.root_hash)
    except CryptoError as exc:
        raise VerificationError(
            f"leaf {receipt.index} is not in the board of size {latest.tree_size}: {exc}"
        ) from exc
