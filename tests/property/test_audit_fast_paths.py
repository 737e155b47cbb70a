"""The replay's fast paths agree with the exact ones they stand in for, on random input.

* ``b64u_decode`` (one regex, a trailing-bit test, one C decode) against the decode-and-re-encode
  definition it replaced, on any text, valid or not;
* ``audit.records.b64u_form(n)`` (a regex) against ``b64u_decode(text, length=n)``;
* ``parse_envelope`` (members compared at once, checks planned per type, keys checked by regex)
  against the straightforward checks it replaced: same envelope, or the same first fault named;
* ``audit._leaf.plain_envelope`` (one regex over the whole leaf for records made of plain
  values, ``audit.records.plain_record_form``; else the leaf split at its fixed tail and the
  record re-encoded by the C encoder) against the exact path: strict parse, JCS,
  ``parse_envelope``; and a whole replay with the fast path against one without it: same
  report, or the same leaf and reason.

Besides random changes, every member of a record of each type is set to each of a list of
awkward values (and the signer and signature to nearly valid ones), through every path.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import random
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import audit.replay
from audit import Malformed, VerificationFailed, parse_envelope
from audit._leaf import PLAIN_LEAF, canonical_value, plain_envelope
from audit.records import (
    PROTOCOL,
    RECORD_FIELDS,
    TEXT_MAX,
    TITLE_MAX,
    VARIANT,
    Envelope,
    b64u_form,
    binary,
    identifier,
    integer,
    key,
    plain_record_form,
    scope,
    text,
)
from audit.replay import verify_board
from crypto.encoding import b64u_decode, b64u_encode, canonical_json
from crypto.errors import EncodingError
from tests.boardgen import BoardBuilder, random_board

Json = dict[str, Any]
Outcome = tuple[str, object]

# -- the definitions the fast paths replaced, verbatim ---------------------------------------


def reference_b64u_decode(text: object, *, length: int | None = None, what: str = "value") -> bytes:
    if not isinstance(text, str):
        raise EncodingError(f"{what} must be a base64url string")
    if re.fullmatch(r"[A-Za-z0-9_-]*", text) is None:
        raise EncodingError(f"{what} is not unpadded base64url")
    if len(text) % 4 == 1:
        raise EncodingError(f"{what} has an impossible base64url length")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:  # pragma: no cover - the regex and length check exclude it
        raise EncodingError(f"{what} is not base64url") from exc
    if b64u_encode(data) != text:
        raise EncodingError(f"{what} has non-zero trailing bits")
    if length is not None and len(data) != length:
        raise EncodingError(f"{what} must be {length} bytes, got {len(data)}")
    return data


def _reference_members(
    obj: object, required: frozenset[str], optional: frozenset[str], what: str
) -> Json:
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


def _reference_fields(r: Json) -> None:
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
        text(r["display_name"], "display_name", 100)
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


def reference_parse_envelope(obj: object) -> tuple[bytes, str, str]:
    members = frozenset({"record", "signer", "sig"})
    data = _reference_members(obj, members, frozenset(), "an envelope")
    key(data["signer"], "signer")
    binary(data["sig"], "sig", 64)
    record = data["record"]
    if not isinstance(record, dict):
        raise Malformed("record must be a JSON object")
    kind = record.get("type")
    if not isinstance(kind, str) or kind not in RECORD_FIELDS:
        raise Malformed("record type is missing or unknown")
    required, optional = RECORD_FIELDS[kind]
    fields = _reference_members(record, required | {"type"}, optional, f"a {kind} record")
    _reference_fields(fields)
    return canonical_json(fields), data["signer"], data["sig"]


# -- random input ------------------------------------------------------------------------------

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# Mostly the alphabet, with what standard base64, padding, whitespace and Unicode add.
_near_b64u = st.text(st.sampled_from(_ALPHABET) | st.sampled_from("+/= \n\x00é٣"), max_size=90)


@st.composite
def b64u_texts(draw: st.DrawFn) -> str:
    """Valid encodings (of 0-70 bytes, often 32 or 64), often altered in one character."""
    if draw(st.booleans()):
        return draw(_near_b64u)
    size = draw(st.sampled_from([32, 64]) | st.integers(0, 70))
    encoded = b64u_encode(draw(st.binary(min_size=size, max_size=size)))
    if encoded and draw(st.booleans()):  # often the last character, whose low bits may be unused
        at = draw(st.sampled_from([len(encoded) - 1]) | st.integers(0, len(encoded) - 1))
        encoded = encoded[:at] + draw(st.sampled_from(_ALPHABET + "+/=.")) + encoded[at + 1 :]
    if draw(st.integers(0, 5)) == 0:
        encoded += draw(st.sampled_from(["", "A", "AA", "=", "=="]))
    return encoded


def _outcome(call: Callable[[], object]) -> Outcome:
    try:
        return ("ok", call())
    except (EncodingError, Malformed) as exc:
        return (type(exc).__name__, str(exc))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    b64u_texts() | st.none() | st.integers() | st.binary(max_size=4),
    st.sampled_from([None, 0, 1, 32, 64]),
)
def test_b64u_decode_agrees_with_its_definition(value: object, length: int | None) -> None:
    assert _outcome(lambda: b64u_decode(value, length=length, what="x")) == _outcome(
        lambda: reference_b64u_decode(value, length=length, what="x")
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(b64u_texts(), st.sampled_from([0, 1, 2, 3, 31, 32, 33, 64, 65]))
def test_b64u_form_is_exactly_what_b64u_decode_accepts(value: str, length: int) -> None:
    accepted = _outcome(lambda: b64u_decode(value, length=length))[0] == "ok"
    assert (b64u_form(length).fullmatch(value) is not None) == accepted


@functools.cache
def _board() -> BoardBuilder:
    return random_board(random.Random(23), 60)


@functools.cache
def _envelopes() -> tuple[tuple[Json, ...], ...]:
    """The board's envelopes by record type, so that rare types are drawn as often."""
    by_type: dict[str, list[Json]] = {}
    for leaf in _board().leaves():
        envelope = json.loads(leaf)
        by_type.setdefault(envelope["record"]["type"], []).append(envelope)
    return tuple(tuple(envelopes) for _, envelopes in sorted(by_type.items()))


_NAMES = sorted({n for req, opt in RECORD_FIELDS.values() for n in req | opt} | {"type", "x"})
_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from([2**53 - 1, 2**53, 10_001])
    | st.sampled_from(["", "city", "q-single", "Q", "a" * 65, "x" * 201, *PROTOCOL.split("/")])
    | st.sampled_from(["for", "neutral", "genesis", "ballot", "tally", PROTOCOL, VARIANT])
    | b64u_texts()
)
def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


_json_values: st.SearchStrategy[Any] = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["assembly", "topic", "question", "x"]), inner, max_size=2),
    max_leaves=4,
) | st.integers(28, 34).map(_nested)  # lists nested around MAX_DEPTH


_B64U_MEMBERS = (
    "signer", "sig", "authority_key", "pseudonym", "lobby_key", "delegate", "msg_prefix"
)  # fmt: skip


@st.composite
def altered_envelopes(draw: st.DrawFn) -> Json:
    """A board's envelope with a few members of it or of its record dropped, added or changed.

    Half the time one of its base64url members (key, signature, prefix) is first replaced by
    a valid or nearly valid text: a wrong last character is easily missed otherwise.
    """
    of_a_type = draw(st.sampled_from(_envelopes()))
    envelope: Json = json.loads(json.dumps(draw(st.sampled_from(of_a_type))))
    record = envelope["record"]
    present = [name for name in _B64U_MEMBERS if name in envelope or name in record]
    if draw(st.booleans()) and present:
        name = draw(st.sampled_from(present))
        (envelope if name in envelope else record)[name] = draw(b64u_texts())
    for _ in range(draw(st.integers(0, 3))):
        target = envelope if draw(st.integers(0, 4)) == 0 else envelope.get("record")
        if not isinstance(target, dict):
            break
        names = ["record", "signer", "sig", "x"] if target is envelope else _NAMES
        name = draw(st.sampled_from(sorted(target) or names) | st.sampled_from(names))
        if draw(st.integers(0, 3)) == 0:
            target.pop(name, None)
        else:
            target[name] = draw(_json_values)
    return envelope


def _envelope_outcome(envelope: Envelope) -> tuple[bytes, str, str]:
    # JCS tells 1 from true, which == does not.
    return canonical_json(envelope.record.data), envelope.signer, envelope.sig


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(altered_envelopes())
def test_parse_envelope_agrees_with_the_plain_checks(envelope: Json) -> None:
    assert _outcome(lambda: _envelope_outcome(parse_envelope(envelope))) == _outcome(
        lambda: reference_parse_envelope(envelope)
    )


# -- the replay's fast path ---------------------------------------------------------------------


def _exact(leaf: bytes) -> Outcome:
    """What the exact path makes of a leaf: its envelope, or the fault it names."""
    try:
        value = canonical_value(leaf, 0)
    except VerificationFailed as exc:
        return ("VerificationFailed", exc.reason)
    return _outcome(lambda: _envelope_outcome(parse_envelope(value)))


_BYTE_EDITS: list[Callable[[bytes, int], bytes]] = [
    lambda leaf, at: leaf[:at] + leaf[at + 1 :],
    lambda leaf, at: leaf[:at] + b" " + leaf[at:],
    lambda leaf, at: leaf[:at] + bytes([leaf[at] ^ 1]) + leaf[at + 1 :],
    lambda leaf, at: leaf[:at] + bytes([leaf[at] ^ 0x20]) + leaf[at + 1 :],
    lambda leaf, at: leaf[:at] + b'"' + leaf[at:],
    lambda leaf, at: leaf[:at] + b"\\u0041" + leaf[at:],
    lambda leaf, at: leaf[:at] + b"[" + leaf[at:],
    lambda leaf, at: leaf[:at] + b"9" * 16 + leaf[at:],
    lambda leaf, at: leaf[:at] + b".5" + leaf[at:],
    lambda leaf, at: leaf[:at] + "é".encode() + leaf[at:],
    lambda leaf, at: leaf.replace(b'"seq":', b'"seq":1,"seq":', 1),
]


@st.composite
def altered_leaves(draw: st.DrawFn) -> bytes:
    """A board's leaf edited byte-wise, or an ``altered_envelopes`` one written canonically."""
    if draw(st.booleans()):
        envelope = draw(altered_envelopes())
        try:
            return canonical_json(envelope)
        except EncodingError:  # too large an integer, too deep: what the C encoder would write
            return json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode()
    leaf = draw(st.sampled_from(_board().leaves()))
    for _ in range(draw(st.integers(1, 2))):
        edit = draw(st.sampled_from(_BYTE_EDITS))
        leaf = edit(leaf, draw(st.integers(0, max(0, len(leaf) - 1))))
    return leaf


def test_the_fast_path_takes_every_plain_leaf_of_a_board() -> None:
    for leaf in _board().leaves():
        fast = plain_envelope(leaf)
        assert _exact(leaf)[0] == "ok"
        if leaf.isascii():
            assert fast is not None
            assert ("ok", _envelope_outcome(fast)) == _exact(leaf)
        else:  # the exact path decides what the C encoder might escape differently
            assert fast is None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(altered_leaves())
def test_the_fast_path_accepts_only_what_the_exact_path_accepts(leaf: bytes) -> None:
    fast = plain_envelope(leaf)
    if fast is not None:
        assert _exact(leaf) == ("ok", _envelope_outcome(fast))


_KEY = b64u_encode(bytes(range(32)))
_VALUES: list[Any] = [
    None, True, False, 0, 1, -1, 2**53 - 1, 2**53, -(2**53), 0.5, float("inf"), float("nan"),
    "", "city", "q-single", "Q", "a" * 65, "x" * 201, "x" * 10_001,
    _KEY, _KEY[:-1] + "B", _KEY + "A", b64u_encode(bytes(64)), b64u_encode(bytes(31)),
    [], {}, ["a"], {"assembly": "city"}, {"question": "q-none"}, {"topic": "parks", "x": 1},
    _nested(29), _nested(30), _nested(31), "for", PROTOCOL, VARIANT,
]  # fmt: skip


_SIG = b64u_encode(bytes(range(64)))
_SIGNATURES = [
    _SIG, _SIG[:-1] + "B", _SIG[:-1] + "E", _SIG[:-1], _SIG + "A", "+" + _SIG[1:], _SIG[:-2] + "==",
    _KEY, _KEY[:-1] + "B", _KEY[:-1] + "C", _KEY[:-1] + "E", "/" + _KEY[1:], _KEY[:-1] + "=",
    "", None,
]  # fmt: skip


def _each_change() -> list[Json]:
    """Every envelope of the board with one member of its record dropped or set to each value,
    or with its signer or signature replaced by a (nearly) valid one."""
    changed: list[Json] = []
    for envelope in (e for of_a_type in _envelopes() for e in of_a_type[:2]):
        for name in ("signer", "sig"):
            changed.extend(envelope | {name: value} for value in _SIGNATURES)
        for name in [*envelope["record"], "x"]:
            for value in [_VALUES, *_VALUES]:  # the list itself stands for "dropped"
                record = dict(envelope["record"])
                if value is _VALUES:
                    record.pop(name, None)
                else:
                    record[name] = value
                changed.append(envelope | {"record": record})
    return changed


def _parsed(envelope: Json) -> tuple[bytes, str, str]:
    return _envelope_outcome(parse_envelope(envelope))


def test_each_member_changed_to_each_value_is_judged_alike_by_every_path() -> None:
    for envelope in _each_change():
        expected = _outcome(functools.partial(reference_parse_envelope, envelope))
        assert _outcome(functools.partial(_parsed, envelope)) == expected
        try:
            leaf = canonical_json(envelope)
        except EncodingError:  # not JSON that JCS writes: what the C encoder would
            leaf = json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode()
        fast = plain_envelope(leaf)
        if fast is not None:
            assert ("ok", _envelope_outcome(fast)) == expected == _exact(leaf)
        elif expected[0] == "ok" and leaf.isascii() and leaf.count(b"[") + leaf.count(b"{") <= 32:
            assert _exact(leaf)[0] == "VerificationFailed"  # it misses no plain, valid leaf


def _replay(leaves: list[bytes]) -> Outcome:
    try:
        report = verify_board(leaves, sth=_board().sth())
    except VerificationFailed as exc:
        return ("VerificationFailed", (exc.leaf, exc.reason))
    return ("ok", (report.tree_size, report.root_hash))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), altered_leaves())
def test_a_replay_fails_alike_with_and_without_the_fast_path(where: int, leaf: bytes) -> None:
    leaves = _board().leaves()
    leaves[where % len(leaves)] = leaf
    with_fast = _replay(leaves)
    skipped: list[bytes] = []  # the leaves the patched replay sent down the exact path
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(audit.replay, "plain_envelope", lambda leaf: skipped.append(leaf))
        assert _replay(leaves) == with_fast
    assert skipped  # the patch took effect: replay looks the fast path up in audit.replay


# -- plain records: one regex for the whole leaf -----------------------------------------------

_PLAIN_KINDS = sorted(kind for kind in RECORD_FIELDS if plain_record_form(kind) is not None)


def test_the_plain_forms_cover_the_bulk_of_a_board() -> None:
    # The records a board holds by the million; a type gaining a field without a plain form
    # (or an optional one) drops out of this list, and this test says so.
    assert _PLAIN_KINDS == ["ballot", "delegation", "revocation", "support"]
    for leaf in _board().leaves():
        kind = json.loads(leaf)["record"]["type"]
        matched = PLAIN_LEAF.fullmatch(leaf.decode()) is not None
        assert matched is (kind in _PLAIN_KINDS), leaf
        if matched:
            fast = plain_envelope(leaf)
            assert fast is not None
            assert ("ok", _envelope_outcome(fast)) == _exact(leaf)


_KEYS = [_KEY, b64u_encode(bytes(range(1, 33)))]
# Per field: plain values, then near misses (a character, a digit or a member too many or
# too few, another JSON type, text that JCS escapes).
_PLAIN_VALUES: dict[str, list[Any]] = {
    "id": ["city", "q-single", "a" * 64, "0-9", "", "a" * 65, "City", "ci ty", 'c"y', "c\\y",
           "\u00e9", "q_1", "\x7f", 7, None, ["city"]],
    "pseudonym": [*_KEYS, _KEY[:-1] + "B", _KEY[:-1], _KEY + "A", "+" + _KEY[1:], _KEY + "=",
                  "", 1, None],
    "seq": [1, 9, 10**15 - 1, 10**15, 2**53 - 1, 2**53, 0, -1, True, "1", 1.5, None],
    "delegate": [None, *_KEYS, _KEY[:-1] + "B", "", "null", False],
    "scope": [{"assembly": "city"}, {"topic": "parks"}, {"question": "q-single"},
              {"assembly": "City"}, {"x": "city"}, {}, {"assembly": "city", "topic": "parks"},
              {"topic": 1}, "city", ["assembly", "city"], None],
    "choice": ["yes", [], ["a"], ["a", "b-2"], ["a", "a"], ["a" * 64], ["a" * 65], "", "Yes",
               [1], [["a"]], [None], {"a": "b"}, None, True, 3, ["a", 2]],
    "withdrawn": [True, False, 0, 1, None, "true"],
}  # fmt: skip


def _plain_value(name: str) -> st.SearchStrategy[Any]:
    values = _PLAIN_VALUES.get(name, _PLAIN_VALUES["id"])  # "id": every identifier field
    return st.sampled_from(values[: 3 if name in ("seq", "choice", "scope") else 2])


def _any_value(name: str) -> st.SearchStrategy[Any]:
    return st.sampled_from(_PLAIN_VALUES.get(name, _PLAIN_VALUES["id"])) | _json_values


@st.composite
def plain_leaves(draw: st.DrawFn) -> bytes:
    """Leaves of the plain types made of plain values, but for a near miss or two: a value (of
    a field, the type, the signer or the signature), or a member dropped or added."""
    kind = draw(st.sampled_from(_PLAIN_KINDS))
    required, _optional = RECORD_FIELDS[kind]
    record: Json = {name: draw(_plain_value(name)) for name in sorted(required)}
    record["type"] = kind
    envelope: Json = {"record": record, "sig": _SIG, "signer": record["pseudonym"]}
    for _ in range(draw(st.integers(0, 2))):
        change = draw(st.integers(0, 9))
        if change < 6:
            name = draw(st.sampled_from(sorted(required)))
            record[name] = draw(_any_value(name))
        elif change == 6:
            record["type"] = draw(st.sampled_from(["ballot", "support", "Ballot", "pseudonym"]))
        elif change == 7:
            name = draw(st.sampled_from(["sig", "signer"]))
            envelope[name] = draw(st.sampled_from(_SIGNATURES) | b64u_texts())
        elif change == 8:
            record.pop(draw(st.sampled_from(sorted(record))))
        else:
            record[draw(st.sampled_from(_NAMES))] = draw(_json_values)
    try:
        return canonical_json(envelope)
    except EncodingError:  # what the C encoder would write
        return json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode()


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plain_leaves())
def test_the_plain_form_of_a_leaf_makes_every_check_of_the_exact_path(leaf: bytes) -> None:
    exact = _exact(leaf)
    if leaf.isascii() and PLAIN_LEAF.fullmatch(leaf.decode()) is not None:
        fast = plain_envelope(leaf)
        assert fast is not None
        assert exact == ("ok", _envelope_outcome(fast))
    else:
        fast = plain_envelope(leaf)  # the general fast path, if it takes the leaf at all
        if fast is not None:
            assert exact == ("ok", _envelope_outcome(fast))
