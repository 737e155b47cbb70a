"""Server answers parsed strictly (DESIGN §4, §5, §10): signed tree heads, receipts, creations.

Every parser checks the exact member set, integer ranges and base64url lengths, and raises
:class:`~client.errors.MalformedResponse` on anything else, so verification code only ever sees
well-formed values. ``to_json`` gives back the exact object that was parsed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from client.errors import MalformedResponse
from crypto.encoding import MAX_SAFE_INTEGER, JSONValue, b64u_decode, b64u_encode
from crypto.errors import EncodingError

__all__ = ["Published", "Receipt", "TreeHead", "json_object"]

_HASH_SIZE = 32
_KEY_SIZE = 32
_SIGNATURE_SIZE = 64


def json_object(
    value: object, what: str, members: frozenset[str] | None = None
) -> dict[str, JSONValue]:
    """``value`` as a JSON object, with exactly ``members`` when given."""
    if not isinstance(value, dict):
        raise MalformedResponse(f"{what} must be a JSON object")
    if members is not None and set(value) != members:
        raise MalformedResponse(
            f"{what} must have exactly the members {', '.join(sorted(members))}"
        )
    return value


def _integer(value: object, what: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedResponse(f"{what} must be an integer")
    if not low <= value <= MAX_SAFE_INTEGER:
        raise MalformedResponse(f"{what} is out of range")
    return value


def _binary(value: object, what: str, length: int) -> bytes:
    try:
        return b64u_decode(value, length=length, what=what)
    except EncodingError as exc:
        raise MalformedResponse(str(exc)) from exc


def _b64u_text(value: object, what: str, length: int) -> str:
    _binary(value, what, length)
    assert isinstance(value, str)
    return value


def parse_hashes(value: object, what: str) -> tuple[bytes, ...]:
    """A JSON list of base64url SHA-256 hashes."""
    if not isinstance(value, list):
        raise MalformedResponse(f"{what} must be a list")
    return tuple(_binary(item, f"{what}[{i}]", _HASH_SIZE) for i, item in enumerate(value))


_TREE_HEAD_MEMBERS = frozenset({"tree_size", "root_hash", "timestamp", "sig", "authority_key"})


@dataclass(frozen=True, slots=True)
class TreeHead:
    """A signed tree head (DESIGN §4) as ``GET /v1/board/sth`` and receipts carry it."""

    tree_size: int
    root_hash: bytes
    timestamp: int
    sig: str
    authority_key: str

    @classmethod
    def from_json(cls, value: object, what: str = "tree head") -> TreeHead:
        obj = json_object(value, what, _TREE_HEAD_MEMBERS)
        return cls(
            tree_size=_integer(obj["tree_size"], f"{what} tree_size"),
            root_hash=_binary(obj["root_hash"], f"{what} root_hash", _HASH_SIZE),
            timestamp=_integer(obj["timestamp"], f"{what} timestamp"),
            sig=_b64u_text(obj["sig"], f"{what} sig", _SIGNATURE_SIZE),
            authority_key=_b64u_text(obj["authority_key"], f"{what} authority_key", _KEY_SIZE),
        )

    def signed_object(self) -> dict[str, JSONValue]:
        """The object the authority signs: ``{tree_size, root_hash, timestamp}``."""
        return {
            "tree_size": self.tree_size,
            "root_hash": b64u_encode(self.root_hash),
            "timestamp": self.timestamp,
        }

    def to_json(self) -> dict[str, JSONValue]:
        return {**self.signed_object(), "sig": self.sig, "authority_key": self.authority_key}


_RECEIPT_MEMBERS = frozenset({"index", "leaf_hash", "sth", "inclusion_proof"})


@dataclass(frozen=True, slots=True)
class Receipt:
    """The answer to ``POST /v1/board``: where the leaf is, and the proof that it is there."""

    index: int
    leaf_hash: bytes
    sth: TreeHead
    inclusion_proof: tuple[bytes, ...]

    @classmethod
    def from_json(cls, value: object) -> Receipt:
        obj = json_object(value, "receipt", _RECEIPT_MEMBERS)
        return cls(
            index=_integer(obj["index"], "receipt index"),
            leaf_hash=_binary(obj["leaf_hash"], "receipt leaf_hash", _HASH_SIZE),
            sth=TreeHead.from_json(obj["sth"], "receipt sth"),
            inclusion_proof=parse_hashes(obj["inclusion_proof"], "receipt inclusion_proof"),
        )

    def to_json(self) -> dict[str, JSONValue]:
        return {
            "index": self.index,
            "leaf_hash": b64u_encode(self.leaf_hash),
            "sth": self.sth.to_json(),
            "inclusion_proof": [b64u_encode(h) for h in self.inclusion_proof],
        }


_PUBLISHED_MEMBERS = frozenset({"index", "envelope"})
_ENVELOPE_MEMBERS = frozenset({"record", "signer", "sig"})


@dataclass(frozen=True, slots=True)
class Published:
    """The answer to an admin creation: the leaf index and the envelope the authority signed."""

    index: int
    envelope: Mapping[str, JSONValue]
    created: bool = True
    """False when the same request had already been carried out (200): nothing was appended."""

    @classmethod
    def from_json(cls, value: object, *, created: bool = True) -> Published:
        obj = json_object(value, "answer", _PUBLISHED_MEMBERS)
        envelope = json_object(obj["envelope"], "envelope", _ENVELOPE_MEMBERS)
        json_object(envelope["record"], "record")
        return cls(index=_integer(obj["index"], "index"), envelope=envelope, created=created)

    @property
    def record(self) -> Mapping[str, JSONValue]:
        record = self.envelope["record"]
        assert isinstance(record, dict)
        return record
