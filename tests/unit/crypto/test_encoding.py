"""Strict base64url, RFC 8785 canonical JSON and the strict JSON reader (PROTOCOL §3, §10)."""

from __future__ import annotations

import pytest

from crypto.encoding import (
    MAX_SAFE_INTEGER,
    b64u_decode,
    b64u_encode,
    canonical_json,
    parse_json,
)
from crypto.errors import EncodingError


@pytest.mark.parametrize(
    ("data", "text"),
    [(b"", ""), (b"\x00", "AA"), (b"\xff\xfe", "__4"), (b"hello", "aGVsbG8")],
)
def test_b64u_known_answers(data: bytes, text: str) -> None:
    assert b64u_encode(data) == text
    assert b64u_decode(text) == data


@pytest.mark.parametrize(
    "text",
    [
        "AA==",  # padding
        "AA=",
        "A",  # impossible length
        "AB",  # non-zero trailing bits (the canonical form of b"\x00" is "AA")
        "a+b/",  # standard alphabet
        "aGVs bG8",  # whitespace
        "é",
    ],
)
def test_b64u_refuses_non_canonical_text(text: str) -> None:
    with pytest.raises(EncodingError):
        b64u_decode(text)


def test_b64u_checks_length_and_type() -> None:
    with pytest.raises(EncodingError, match="32 bytes"):
        b64u_decode(b64u_encode(bytes(31)), length=32)
    with pytest.raises(EncodingError):
        b64u_decode(b"AA")


def test_jcs_known_answer() -> None:
    # Keys sort by UTF-16 code units: U+1F600 (surrogates D83D..) sorts before U+FB33.
    value = {"b": [1, True, None, "é\n\u2028"], "a": {"z": -0, "\ufb33": 2, "\U0001f600": 3}}
    assert canonical_json(value) == (
        '{"a":{"z":0,"\U0001f600":3,"\ufb33":2},"b":[1,true,null,"é\\n\u2028"]}'.encode()
    )


def test_jcs_escapes_controls_in_lowercase_hex() -> None:
    assert canonical_json("\x01\x1f\"\\") == b'"\\u0001\\u001f\\"\\\\"'


@pytest.mark.parametrize(
    "value",
    [1.5, float("nan"), MAX_SAFE_INTEGER + 1, -MAX_SAFE_INTEGER - 1, {1: "x"}, b"x", "\ud800"],
)
def test_jcs_refuses_what_the_protocol_excludes(value: object) -> None:
    with pytest.raises(EncodingError):
        canonical_json(value)


@pytest.mark.parametrize(
    "text",
    [
        '{"a":1,"a":2}',  # repeated key
        "[1.0]",
        "[1e3]",
        "[NaN]",
        "[Infinity]",
        "[9007199254740992]",
        '["\\ud800"]',  # lone surrogate
        '{"\\udfff":1}',
        "[01]",
        "\ufeff[]",
        "[" * 40 + "]" * 40,  # nests deeper than 32 levels
        "[1,]",
        "",
    ],
)
def test_strict_parser_refuses(text: str) -> None:
    with pytest.raises(EncodingError):
        parse_json(text.encode())


def test_strict_parser_refuses_invalid_utf8() -> None:
    with pytest.raises(EncodingError, match="UTF-8"):
        parse_json(b'["\xff"]')


def test_strict_parser_accepts_the_protocol_subset() -> None:
    text = b' {"k": [0, -1, 9007199254740991, true, false, null, "\\u00e9"]} '
    assert parse_json(text) == {"k": [0, -1, MAX_SAFE_INTEGER, True, False, None, "é"]}
