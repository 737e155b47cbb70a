"""The exact encodings of the isegoria protocol (docs/PROTOCOL.md §3 and §10).

* base64url without padding (RFC 4648 §5), decoded strictly: no padding, no character outside
  ``[A-Za-z0-9_-]``, no non-zero trailing bits, so every value has exactly one text form;
* canonical JSON, RFC 8785 (JCS), restricted to objects, arrays, strings, integers with
  |n| ≤ 2^53 − 1, booleans and null (written by the C ``json`` encoder when the text is ASCII,
  which is then exactly JCS, else by a writer that follows the RFC step by step);
* a strict JSON reader that refuses what JCS cannot represent or what two parsers could read
  differently: floats and exponents, huge integers, repeated keys, lone surrogates, invalid UTF-8.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from _json import make_encoder
from collections.abc import Mapping, Sequence
from json.encoder import encode_basestring
from typing import NoReturn, TypeAlias

from crypto.errors import EncodingError

__all__ = [
    "MAX_DEPTH",
    "MAX_SAFE_INTEGER",
    "JSONValue",
    "b64u_decode",
    "b64u_encode",
    "canonical_json",
    "parse_json",
]

JSONValue: TypeAlias = (
    "bool | int | str | list[JSONValue] | dict[str, JSONValue] | None"
)

#: JCS serialises numbers as IEEE doubles: only integers in this range survive exactly.
MAX_SAFE_INTEGER = 2**53 - 1
#: No protocol object nests deeper than a handful of levels; the bound keeps parsing iterative-safe.
MAX_DEPTH = 32

_B64U = re.compile(r"[A-Za-z0-9_-]*")
_B64U_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B64U_TO_B64 = bytes.maketrans(b"-_", b"+/")
_PADDING = (b"", b"", b"==", b"=")
# By len(text) % 4: 2 characters carry 12 bits for 8 (4 unused), 3 carry 18 for 16 (2 unused).
_LAST_CHARS = ("", "", _B64U_ALPHABET[::16], _B64U_ALPHABET[::4])
_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")


def _not_json(value: object) -> NoReturn:  # pragma: no cover - _plain admits no other type
    raise TypeError(f"{type(value).__name__} is not a protocol JSON value")


# The C encoder behind json.dumps, set as JCS writes: sorted keys, "," and ":" and no other
# whitespace, strings escaped as RFC 8785 §3.2.2.2 escapes them (only '"', '\\' and controls,
# the short forms where there is one, else \u00xx in lower case), non-ASCII left as it is.
_C_ENCODER = make_encoder(None, _not_json, encode_basestring, None, ":", ",", True, False, False)


def b64u_encode(data: bytes) -> str:
    """Encode bytes as base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: object, *, length: int | None = None, what: str = "value") -> bytes:
    """Decode unpadded base64url strictly, optionally checking the decoded length."""
    if not isinstance(text, str):
        raise EncodingError(f"{what} must be a base64url string")
    if _B64U.fullmatch(text) is None:
        raise EncodingError(f"{what} is not unpadded base64url")
    tail = len(text) % 4
    if tail == 1:
        raise EncodingError(f"{what} has an impossible base64url length")
    # The unused low bits of the last character must be zero: exactly when re-encoding the
    # decoded bytes gives the text back, without decoding and re-encoding.
    if tail and text[-1] not in _LAST_CHARS[tail]:
        raise EncodingError(f"{what} has non-zero trailing bits")
    # The regex admits only the alphabet, and the padding is added here, so the lenient
    # decoder sees exactly standard base64; str.translate is ~10x slower than bytes.translate.
    data = binascii.a2b_base64(text.encode("ascii").translate(_B64U_TO_B64) + _PADDING[tail])
    if length is not None and len(data) != length:
        raise EncodingError(f"{what} must be {length} bytes, got {len(data)}")
    return data


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def _check_string(value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EncodingError("strings must be valid Unicode (no lone surrogates)") from exc


def _serialise(value: object, out: list[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise EncodingError(f"JSON nests deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, bool):
        out.append("null" if value is None else ("true" if value else "false"))
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise EncodingError("integers must satisfy |n| <= 2^53 - 1")
        out.append(str(int(value)))
    elif isinstance(value, str):
        _check_string(value)
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, Mapping):
        out.append("{")
        keys = list(value)
        for key in keys:
            if not isinstance(key, str):
                raise EncodingError("object keys must be strings")
            _check_string(key)
        for i, key in enumerate(sorted(keys, key=_utf16_key)):
            if i:
                out.append(",")
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _serialise(value[key], out, depth + 1)
        out.append("}")
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _serialise(item, out, depth + 1)
        out.append("]")
    else:
        raise EncodingError(f"{type(value).__name__} is not a protocol JSON value")


def _plain(value: object, depth: int) -> bool:
    """Whether ``value`` holds only dicts with str keys, lists, str, bool, None and integers in
    JCS's range, at most ``MAX_DEPTH`` deep: then the C encoder writes what ``_serialise`` does,
    whenever its text is ASCII."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER  # type: ignore[operator]
    if depth >= MAX_DEPTH:
        return False
    if kind is dict:
        return all(
            type(k) is str and _plain(v, depth + 1)
            for k, v in value.items()  # type: ignore[attr-defined]
        )
    if kind is list:
        return all(_plain(item, depth + 1) for item in value)  # type: ignore[attr-defined]
    return False


def canonical_json(value: object) -> bytes:
    """Serialise a protocol value with RFC 8785 (JCS): sorted keys, no whitespace, UTF-8."""
    if _plain(value, 0):
        # The common case, written by the C encoder: ASCII keys sort by UTF-16 unit as by code
        # point, and ASCII strings are escaped alike (RFC 8785 §3.2.2.2; the property tests
        # compare both writers).
        text = "".join(_C_ENCODER(value, 0))
        if text.isascii():
            return text.encode("ascii")
    out: list[str] = []
    _serialise(value, out, 0)
    return "".join(out).encode("utf-8")


def _pairs(pairs: list[tuple[str, JSONValue]]) -> dict[str, JSONValue]:
    result: dict[str, JSONValue] = {}
    for key, value in pairs:
        _check_string(key)
        if key in result:
            raise EncodingError(f"JSON object repeats the key {key!r}")
        result[key] = value
    return result


def _integer(text: str) -> int:
    if _INTEGER.fullmatch(text) is None:  # pragma: no cover - json's grammar already ensures it
        raise EncodingError("JSON numbers must be integers")
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise EncodingError("integers must satisfy |n| <= 2^53 - 1")
    return value


def _no_float(text: str) -> int:
    raise EncodingError("JSON numbers must be integers (no fraction, no exponent)")


def _no_constant(text: str) -> int:
    raise EncodingError(f"{text} is not JSON")


def _check_strings(value: JSONValue, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise EncodingError(f"JSON nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        _check_string(value)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            _check_strings(item, depth + 1)


def parse_json(data: bytes | str) -> JSONValue:
    """Parse untrusted JSON strictly (docs/PROTOCOL.md §10); raise EncodingError otherwise."""
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EncodingError("JSON must be UTF-8") from exc
    else:
        text = data
    if text.startswith("\ufeff"):
        raise EncodingError("JSON must not start with a byte order mark")
    try:
        value: JSONValue = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_int=_integer,
            parse_float=_no_float,
            parse_constant=_no_constant,
        )
    except RecursionError as exc:
        raise EncodingError(f"JSON nests deeper than {MAX_DEPTH} levels") from exc
    except json.JSONDecodeError as exc:
        raise EncodingError(f"malformed JSON: {exc.msg} at position {exc.pos}") from exc
    _check_strings(value, 0)
    return value
