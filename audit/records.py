"""The shape of envelopes and records (docs/PROTOCOL.md §4 and §10).

Shape checks need no board state: exact member sets, types, identifiers, base64url lengths,
integer ranges and text bounds. Anything wrong here is a 400 (``Malformed``). What depends on
the board (does the question exist, is the signer entitled) is decided by ``audit.state``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from audit.errors import Malformed
from crypto.encoding import MAX_SAFE_INTEGER, JSONValue, b64u_decode, canonical_json
from crypto.errors import EncodingError
from delegation import ScopeKind

__all__ = [
    "AUTHORITY_TYPES",
    "LOBBY_TYPES",
    "PSEUDONYM_TYPES",
    "RECORD_FIELDS",
    "Envelope",
    "Record",
    "parse_envelope",
]

PROTOCOL: Final = "isegoria/v1"
VARIANT: Final = "RSABSSA-SHA384-PSS-Randomized"

_ID = re.compile(r"[a-z0-9-]{1,64}")
_SCOPE_KINDS: Final[tuple[ScopeKind, ...]] = ("assembly", "topic", "question")

#: Text bounds (characters). The protocol's 64 KiB body limit bounds everything else.
TITLE_MAX: Final = 200
NAME_MAX: Final = 100
TEXT_MAX: Final = 10_000

# type -> (required fields besides "type", optional fields)
RECORD_FIELDS: Final[Mapping[str, tuple[frozenset[str], frozenset[str]]]] = {
    "genesis": (frozenset({"protocol", "authority_key"}), frozenset()),
    "assembly": (
        frozenset({"assembly_id", "title", "issuer_key", "variant", "initiative_threshold"}),
        frozenset(),
    ),
    "topic": (frozenset({"assembly_id", "topic_id", "title"}), frozenset()),
    "question": (
        frozenset({"assembly_id", "topic_id", "question_id", "title", "method", "options"}),
        frozenset({"budget", "max_choices", "initiative_id"}),
    ),
    "question_closed": (
        frozenset({"question_id", "roll_size", "credentials_issued"}),
        frozenset(),
    ),
    "tally": (frozenset({"question_id", "result"}), frozenset()),
    "lobby_registered": (frozenset({"lobby_id", "lobby_key", "declaration"}), frozenset()),
    "lobby_suspended": (frozenset({"lobby_id", "reason"}), frozenset()),
    "initiative_admitted": (
        frozenset({"initiative_id", "supports", "supports_with_delegation", "threshold"}),
        frozenset(),
    ),
    "pseudonym": (
        frozenset({"assembly_id", "pseudonym", "msg_prefix", "credential"}),
        frozenset(),
    ),
    "ballot": (frozenset({"question_id", "pseudonym", "seq", "choice"}), frozenset()),
    "delegation": (
        frozenset({"assembly_id", "pseudonym", "delegate", "scope", "seq"}),
        frozenset(),
    ),
    "revocation": (frozenset({"assembly_id", "pseudonym", "scope", "seq"}), frozenset()),
    "delegate_profile": (
        frozenset({"assembly_id", "pseudonym", "display_name", "statement", "seq"}),
        frozenset(),
    ),
    "opinion": (
        frozenset({"question_id", "pseudonym", "seq", "stance", "text"}),
        frozenset(),
    ),
    "initiative": (
        frozenset(
            {"assembly_id", "topic_id", "initiative_id", "pseudonym", "seq", "title", "text"}
        ),
        frozenset(),
    ),
    "support": (frozenset({"initiative_id", "pseudonym", "seq", "withdrawn"}), frozenset()),
    "lobby_position": (
        frozenset({"question_id", "lobby_id", "seq", "choice", "statement"}),
        frozenset(),
    ),
}

AUTHORITY_TYPES: Final = frozenset(
    {
        "genesis",
        "assembly",
        "topic",
        "question",
        "question_closed",
        "tally",
        "lobby_registered",
        "lobby_suspended",
        "initiative_admitted",
    }
)
PSEUDONYM_TYPES: Final = frozenset(
    {
        "pseudonym",
        "ballot",
        "delegation",
        "revocation",
        "delegate_profile",
        "opinion",
        "initiative",
        "support",
    }
)
LOBBY_TYPES: Final = frozenset({"lobby_position"})


class Record:
    """A record whose shape has been checked, with typed accessors."""

    __slots__ = ("data", "type")

    def __init__(self, data: dict[str, JSONValue]) -> None:
        self.data = data
        self.type = str(data["type"])

    def s(self, name: str) -> str:
        value = self.data[name]
        assert isinstance(value, str)
        return value

    def i(self, name: str) -> int:
        value = self.data[name]
        assert isinstance(value, int)
        return value

    def get(self, name: str) -> JSONValue:
        return self.data.get(name)

    def has(self, name: str) -> bool:
        return name in self.data


@dataclass(frozen=True, slots=True)
class Envelope:
    """A signed record: ``signer`` (base64url Ed25519 key) over the record's JCS bytes."""

    record: Record
    signer: str
    sig: str

    def to_json(self) -> dict[str, JSONValue]:
        return {"record": self.record.data, "signer": self.signer, "sig": self.sig}

    def leaf_bytes(self) -> bytes:
        return canonical_json(self.to_json())


def exact_members(
    obj: object, required: frozenset[str], optional: frozenset[str], what: str
) -> dict[str, JSONValue]:
    """Check that ``obj`` is an object with exactly the required and allowed members."""
    if not isinstance(obj, dict):
        raise Malformed(f"{what} must be a JSON object")
    keys = set(obj)
    missing = required - keys
    if missing:
        raise Malformed(f"{what} lacks {', '.join(sorted(missing))}")
    unknown = keys - required - optional
    if unknown:
        raise Malformed(f"{what} has unknown members {', '.join(sorted(unknown))}")
    return obj


def identifier(value: object, what: str) -> str:
    if not isinstance(value, str) or _ID.fullmatch(value) is None:
        raise Malformed(f"{what} must be 1-64 characters of [a-z0-9-]")
    return value


def text(value: object, what: str, limit: int, *, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise Malformed(f"{what} must be a string")
    if not value and not empty:
        raise Malformed(f"{what} must not be empty")
    if len(value) > limit:
        raise Malformed(f"{what} is longer than {limit} characters")
    return value


def integer(value: object, what: str, low: int = 0, high: int = MAX_SAFE_INTEGER) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Malformed(f"{what} must be an integer")
    if not low <= value <= high:
        raise Malformed(f"{what} must be between {low} and {high}")
    return value


def key(value: object, what: str) -> bytes:
    try:
        return b64u_decode(value, length=32, what=what)
    except EncodingError as exc:
        raise Malformed(str(exc)) from exc


def binary(value: object, what: str, length: int | None = None) -> bytes:
    try:
        return b64u_decode(value, length=length, what=what)
    except EncodingError as exc:
        raise Malformed(str(exc)) from exc


def scope(value: object) -> tuple[ScopeKind, str]:
    """A scope ``{"assembly"|"topic"|"question": id}`` as a (kind, id) pair."""
    if not isinstance(value, dict) or len(value) != 1:
        raise Malformed('scope must be {"assembly"|"topic"|"question": id}')
    ((kind, ident),) = value.items()
    for known in _SCOPE_KINDS:
        if kind == known:
            return known, identifier(ident, f"{kind} scope")
    raise Malformed('scope must be {"assembly"|"topic"|"question": id}')


def _check_record_fields(r: dict[str, JSONValue]) -> None:
    """Type checks of the fields that do not depend on a method or a declaration."""
    for name in ("assembly_id", "topic_id", "question_id", "lobby_id", "initiative_id"):
        if name in r:
            identifier(r[name], name)
    for name in ("authority_key", "pseudonym", "lobby_key"):
        if name in r:
            key(r[name], name)
    if "seq" in r:
        integer(r["seq"], "seq", 1)
    for name in ("title",):
        if name in r:
            text(r[name], name, TITLE_MAX)
    t = r["type"]
    if t == "genesis" and r["protocol"] != PROTOCOL:
        raise Malformed(f"protocol must be {PROTOCOL!r}")
    if t == "assembly":
        if r["variant"] != VARIANT:
            raise Malformed(f"variant must be {VARIANT!r}")
        integer(r["initiative_threshold"], "initiative_threshold", 1)
        binary(r["issuer_key"], "issuer_key")
    if t == "question_closed":
        integer(r["roll_size"], "roll_size")
        integer(r["credentials_issued"], "credentials_issued")
    if t == "initiative_admitted":
        for name in ("supports", "supports_with_delegation", "threshold"):
            integer(r[name], name)
    if t == "lobby_suspended":
        text(r["reason"], "reason", TEXT_MAX)
    if t == "pseudonym":
        binary(r["msg_prefix"], "msg_prefix", 32)
        binary(r["credential"], "credential")
    if t == "delegation":
        if r["delegate"] is not None:
            key(r["delegate"], "delegate")
        scope(r["scope"])
    if t == "revocation":
        scope(r["scope"])
    if t == "delegate_profile":
        text(r["display_name"], "display_name", NAME_MAX)
        text(r["statement"], "statement", TEXT_MAX, empty=True)
    if t == "opinion":
        if r["stance"] not in ("for", "against", "neutral"):
            raise Malformed('stance must be "for", "against" or "neutral"')
        text(r["text"], "text", TEXT_MAX)
    if t == "initiative":
        text(r["text"], "text", TEXT_MAX)
    if t == "support" and not isinstance(r["withdrawn"], bool):
        raise Malformed("withdrawn must be a boolean")
    if t == "lobby_position":
        text(r["statement"], "statement", TEXT_MAX)


def parse_record(obj: object) -> Record:
    if not isinstance(obj, dict):
        raise Malformed("record must be a JSON object")
    kind = obj.get("type")
    if not isinstance(kind, str) or kind not in RECORD_FIELDS:
        raise Malformed("record type is missing or unknown")
    required, optional = RECORD_FIELDS[kind]
    data = exact_members(obj, required | {"type"}, optional, f"a {kind} record")
    _check_record_fields(data)
    return Record(data)


def parse_envelope(obj: object) -> Envelope:
    """Check an envelope's shape (400 on any defect); signatures are checked by the state."""
    data = exact_members(obj, frozenset({"record", "signer", "sig"}), frozenset(), "an envelope")
    key(data["signer"], "signer")
    binary(data["sig"], "sig", 64)
    record = parse_record(data["record"])
    signer, sig = data["signer"], data["sig"]
    assert isinstance(signer, str)
    assert isinstance(sig, str)
    return Envelope(record, signer, sig)
