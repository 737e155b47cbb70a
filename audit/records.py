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
    "OWED_TYPES",
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
#: Records that stand only right after the record that owes them (docs/PROTOCOL.md §4.6).
OWED_TYPES: Final = frozenset({"tally", "initiative_admitted"})
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
    if obj.keys() == required:  # the common case, decided without building sets
        return obj
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
            if not isinstance(ident, str) or _ID.fullmatch(ident) is None:
                identifier(ident, f"{kind} scope")  # raises, naming the fault
            return known, ident
    raise Malformed('scope must be {"assembly"|"topic"|"question": id}')


def b64u_form(length: int) -> re.Pattern[str]:
    """The texts ``b64u_decode(text, length=length)`` accepts: the alphabet, the exact number of
    characters, and a last character whose unused low bits are zero."""
    groups, rest = divmod(length, 3)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = ("", f"[{alphabet[::16]}]", f"[{alphabet[::4]}]")[rest]
    return re.compile(f"[A-Za-z0-9_-]{{{4 * groups + rest}}}{last}")


_B64U_32: Final = b64u_form(32)
_B64U_64: Final = b64u_form(64)


def _check_b64u(value: object, form: re.Pattern[str], what: str, length: int) -> None:
    """``binary(value, what, length)`` without decoding when ``value`` is plainly in ``form``;
    anything else takes ``binary`` itself, which names the fault."""
    if not isinstance(value, str) or form.fullmatch(value) is None:
        binary(value, what, length)


def _check_own_fields(t: str, r: dict[str, JSONValue]) -> None:
    """The checks of a type's own fields, after the common ones."""
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
        _check_b64u(r["msg_prefix"], _B64U_32, "msg_prefix", 32)
        binary(r["credential"], "credential")
    if t == "delegation":
        if r["delegate"] is not None:
            _check_b64u(r["delegate"], _B64U_32, "delegate", 32)
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


_Names = tuple[str, ...]
_Plan = tuple[frozenset[str], frozenset[str], str, _Names, _Names, _Names, _Names]


def _plan(kind: str, required: frozenset[str], optional: frozenset[str]) -> _Plan:
    """A type's members (with ``type``), optional members and name in errors; then, of the
    checks every record shares (identifiers, keys, seq, title, in this order, so the first
    fault named does not depend on the type), the fields the type allows."""
    allowed = required | optional

    def present(*names: str) -> _Names:
        return tuple(name for name in names if name in allowed)

    return (
        required | {"type"},
        optional,
        f"a {kind} record",
        present("assembly_id", "topic_id", "question_id", "lobby_id", "initiative_id"),
        present("authority_key", "pseudonym", "lobby_key"),
        present("seq"),
        present("title"),
    )


_PLANS: Final = {kind: _plan(kind, *fields) for kind, fields in RECORD_FIELDS.items()}


def parse_record(obj: object) -> Record:
    """Check a record's members, then the type checks that need no board state."""
    if not isinstance(obj, dict):
        raise Malformed("record must be a JSON object")
    kind = obj.get("type")
    if not isinstance(kind, str) or kind not in _PLANS:
        raise Malformed("record type is missing or unknown")
    members, optional, what, ids, keys, seq, title = _PLANS[kind]
    data = exact_members(obj, members, optional, what)
    for name in ids:
        if name in data:
            identifier(data[name], name)
    for name in keys:
        if name in data:
            _check_b64u(data[name], _B64U_32, name, 32)
    for name in seq:
        if name in data:
            integer(data[name], name, 1)
    for name in title:
        if name in data:
            text(data[name], name, TITLE_MAX)
    _check_own_fields(kind, data)
    return Record(data)


# -- plain records: one regex stands for the JSON, JCS and shape checks ----------------------

_ID_TEXT = '"[a-z0-9-]{1,64}"'
_KEY_TEXT = f'"{_B64U_32.pattern}"'

#: For each field named here, a regex of JCS texts of values that pass every check
#: ``parse_record`` makes of that field, in every record type that has it: ASCII without '"',
#: '\\' or control characters (so JCS writes them as they are), integers of at most 15 digits
#: (so below 2^53), objects of one member. Keep it in step with ``parse_record``: a check added
#: there for one of these fields must hold for every text its regex matches.
_PLAIN_FIELDS: Final[Mapping[str, str]] = {
    "assembly_id": _ID_TEXT,
    "topic_id": _ID_TEXT,
    "question_id": _ID_TEXT,
    "lobby_id": _ID_TEXT,
    "initiative_id": _ID_TEXT,
    "pseudonym": _KEY_TEXT,
    "seq": "[1-9][0-9]{0,14}",
    "delegate": f"(?:null|{_KEY_TEXT})",
    "scope": '\\{"(?:assembly|topic|question)":' + _ID_TEXT + "\\}",
    "choice": f"(?:{_ID_TEXT}|\\[(?:{_ID_TEXT}(?:,{_ID_TEXT})*)?\\])",
    "withdrawn": "(?:true|false)",
}


def plain_record_form(kind: str) -> str | None:
    """A regex of JCS texts of ``kind`` records that ``parse_record`` accepts, each field in
    its plain form; None when the type has an optional field or one without a plain form."""
    required, optional = RECORD_FIELDS[kind]
    if optional or not required <= _PLAIN_FIELDS.keys():
        return None
    forms = {name: _PLAIN_FIELDS[name] for name in required} | {"type": f'"{re.escape(kind)}"'}
    # JCS sorts members by UTF-16 code units, which for these ASCII names is str order.
    return "\\{" + ",".join(f'"{name}":{forms[name]}' for name in sorted(forms)) + "\\}"


_ENVELOPE: Final = frozenset({"record", "signer", "sig"})


def parse_envelope(obj: object) -> Envelope:
    """Check an envelope's shape (400 on any defect); signatures are checked by the state."""
    data = exact_members(obj, _ENVELOPE, frozenset(), "an envelope")
    signer, sig = data["signer"], data["sig"]
    _check_b64u(signer, _B64U_32, "signer", 32)
    _check_b64u(sig, _B64U_64, "sig", 64)
    record = parse_record(data["record"])
    assert isinstance(signer, str)
    assert isinstance(sig, str)
    return Envelope(record, signer, sig)
