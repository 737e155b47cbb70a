"""One board leaf's bytes: its envelope and its signature, read fast (docs/PROTOCOL.md §4).

A canonical leaf is JCS({record, sig, signer}), so its layout is fixed around the record: the
fast paths here read the envelope (``plain_envelope``) and check the Ed25519 signature
(``leaf_signature_ok``) straight from the bytes, and agree with the exact checks
(``exact_envelope``: strict parse, RFC 8785 JCS, ``parse_envelope``) they stand in for. Split
from ``audit.replay``, which folds the leaves; the leaf's layout constants are globals of this
module, bound once, so the per-leaf path adds no lookup.
"""

from __future__ import annotations

import binascii
import json
import re
from _json import make_encoder, make_scanner
from collections.abc import Sequence
from json.encoder import encode_basestring
from typing import NoReturn

import nacl.bindings
import nacl.exceptions

from audit.errors import Malformed, VerificationFailed
from audit.records import (
    RECORD_FIELDS,
    Envelope,
    Record,
    b64u_form,
    parse_envelope,
    parse_record,
    plain_record_form,
)
from crypto.ed25519 import RECORD_DOMAIN
from crypto.encoding import MAX_DEPTH, MAX_SAFE_INTEGER, JSONValue, canonical_json, parse_json
from crypto.errors import EncodingError

__all__ = [
    "PLAIN_LEAF",
    "canonical_value",
    "check_signatures",
    "exact_envelope",
    "leaf_signature_ok",
    "plain_envelope",
    "read_leaf",
]

# A canonical leaf is {"record":<JCS(record)>,"sig":"<86 chars>","signer":"<43 chars>"}: JCS
# sorts "record" < "sig" < "signer", and base64url needs no escaping.
_HEAD = b'{"record":'
_HEAD_TEXT = _HEAD.decode()
_SIG_MARK, _SIGNER_MARK, _END = b',"sig":"', b'","signer":"', b'"}'
_SIG_CHARS, _KEY_CHARS = 86, 43
_TAIL = len(_SIG_MARK) + _SIG_CHARS + len(_SIGNER_MARK) + _KEY_CHARS + len(_END)
# Offsets of the record in a leaf, and of the signature and the key in its tail.
_BODY_AT = len(_HEAD)
_SIG_AT = len(_SIG_MARK)
_SIG_END = _SIG_AT + _SIG_CHARS
_SIGNER_AT = _SIG_END + len(_SIGNER_MARK)
_SIGNER_END = _SIGNER_AT + _KEY_CHARS


def _strict_int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise ValueError("integer out of range")
    return value


def _refuse(text: str) -> int:
    raise ValueError("not an integer")


def _not_json(value: object) -> NoReturn:
    raise TypeError(f"{type(value).__name__} is not JSON")


# Built once: json.loads and json.dumps build a new decoder or encoder per call given options.
# The encoder is the C one behind json.dumps(sort_keys=True, separators=(",", ":"),
# ensure_ascii=False), called without the Python set-up around it (half the cost of a record)
# and without tracking containers (parsed JSON is never circular); it returns the parts.
_DECODER = json.JSONDecoder(parse_int=_strict_int, parse_float=_refuse, parse_constant=_refuse)
_ENCODER = make_encoder(None, _not_json, encode_basestring, None, ":", ",", True, False, True)


#: The tail of a canonical leaf, with the signature and key as ``b64u_decode`` accepts them.
_TAIL_FORM = re.compile(
    f',"sig":"(?P<sig>{b64u_form(64).pattern})","signer":"(?P<signer>{b64u_form(32).pattern})"}}'
)
#: Whole canonical leaves whose record has a plain form (the bulk of a board: ballots,
#: delegations, revocations, supports): this one match makes every check of the exact path.
PLAIN_LEAF = re.compile(
    '\\{"record":(?:'
    + "|".join(form for kind in RECORD_FIELDS if (form := plain_record_form(kind)))
    + ")"
    + _TAIL_FORM.pattern
)
# The C scanner behind json.loads, built as json.decoder builds it, without the wrapper around
# it: for plain leaves, whose numbers are all integers below 2^53, it makes the value the strict
# decoder makes. (typeshed types its argument as a scanner; it reads a decoder's attributes.)
_SCAN_PLAIN = make_scanner(json.JSONDecoder())  # type: ignore[arg-type]
_B64U_TO_B64 = bytes.maketrans(b"-_", b"+/")


def leaf_signature_ok(leaf: bytes) -> bool:
    """The Ed25519 check ``BoardState`` makes, read straight from a canonical leaf's bytes.

    Pure and picklable, for a process pool. The verdict equals ``audit.signature_ok`` for every
    leaf that is canonical and well-formed, which the replay checks before it uses the verdict.
    """
    tail = leaf[-_TAIL:]
    if (
        len(leaf) <= _BODY_AT + _TAIL
        or not leaf.startswith(_HEAD)
        or not tail.startswith(_SIG_MARK)
        or tail[_SIG_END:_SIGNER_AT] != _SIGNER_MARK
        or not tail.endswith(_END)
    ):
        return False
    # Decoded leniently, but the replay decodes them strictly (``parse_envelope``) before it
    # uses the verdict. The marks hold no "-" or "_": the tail is translated in one go.
    b64 = tail.translate(_B64U_TO_B64)
    try:
        sig = binascii.a2b_base64(b64[_SIG_AT:_SIG_END] + b"==")  # 86 characters
        signer = binascii.a2b_base64(b64[_SIGNER_AT:_SIGNER_END] + b"=")  # 43 characters
        nacl.bindings.crypto_sign_open(sig + RECORD_DOMAIN + leaf[_BODY_AT:-_TAIL], signer)
    except (nacl.exceptions.CryptoError, binascii.Error, ValueError, TypeError):
        return False
    return True


def check_signatures(leaves: Sequence[bytes]) -> bytes:
    """``leaf_signature_ok`` over a chunk, as one byte (1 or 0) per leaf: cheap to pickle."""
    return bytes(leaf_signature_ok(leaf) for leaf in leaves)


def plain_envelope(leaf: bytes) -> Envelope | None:
    """The envelope of a plainly canonical, well-formed leaf; None sends it down the exact path.

    Such a leaf is ``{"record":R,"sig":"S","signer":"K"}`` with S and K valid base64url, which
    JCS writes as they are: the leaf is canonical exactly when R is. Most leaves match
    ``PLAIN_LEAF``, whose R is one of the ``plain_record_form`` texts: strict JSON, its own JCS
    form and a record ``parse_record`` accepts, so the match alone decides. Otherwise, for ASCII
    text with at most ``MAX_DEPTH`` brackets, the C ``json`` module's sorted compact output is
    JCS, so R is when that output reproduces it (which also rules out repeated keys), and
    ``parse_record`` checks R. A leaf accepted here is accepted by the exact path with the same
    envelope; any other leaf takes that path, which names the fault.
    """
    if not leaf.isascii():
        return None
    text = leaf.decode("ascii")
    plain = PLAIN_LEAF.fullmatch(text)
    if plain is not None:
        record = Record(_SCAN_PLAIN(text, _BODY_AT)[0])
        return Envelope(record, plain["signer"], plain["sig"])
    if leaf.count(b"{") + leaf.count(b"[") > MAX_DEPTH:
        return None
    body_end = len(text) - _TAIL
    tail = _TAIL_FORM.fullmatch(text, body_end) if body_end > _BODY_AT else None
    if tail is None or not text.startswith(_HEAD_TEXT):
        return None
    body = text[_BODY_AT:body_end]
    try:
        value, end = _DECODER.raw_decode(body)
        if end != len(body) or "".join(_ENCODER(value, 0)) != body:
            return None
        return Envelope(parse_record(value), tail["signer"], tail["sig"])
    except (ValueError, RecursionError):  # Malformed is a ValueError
        return None


def read_leaf(leaf: bytes) -> Envelope:
    """The envelope of a stored leaf: ``plain_envelope``, else the strict reading, which raises
    ``EncodingError`` or ``Malformed`` (for a server catching up with its own store)."""
    envelope = plain_envelope(leaf)
    return parse_envelope(parse_json(leaf)) if envelope is None else envelope


def canonical_value(leaf: bytes, index: int) -> JSONValue:
    """The leaf's JSON value, if the leaf is exactly its JCS form; else VerificationFailed."""
    try:
        parsed = parse_json(leaf)
        canonical = canonical_json(parsed)
    except EncodingError as exc:
        raise VerificationFailed(index, f"the leaf is not strict JSON: {exc}") from exc
    if canonical != leaf:
        raise VerificationFailed(
            index, "the leaf bytes are not the canonical JSON (RFC 8785) of its envelope"
        )
    return parsed


def exact_envelope(leaf: bytes, index: int) -> Envelope:
    """The envelope of leaf ``index`` by the exact checks; else VerificationFailed."""
    value = canonical_value(leaf, index)
    try:
        return parse_envelope(value)
    except Malformed as exc:
        raise VerificationFailed(index, f"malformed envelope: {exc.detail}") from exc
