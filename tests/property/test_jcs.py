"""Canonical JSON invariants: key order never matters, and parse ∘ serialise is the identity."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.encoding import (
    MAX_SAFE_INTEGER,
    b64u_decode,
    b64u_encode,
    canonical_json,
    parse_json,
)

_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_scalars = st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | _text
values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=20,
)


# ASCII, control characters included: the texts parse_canonical's fast path takes.
_ascii = st.text(st.characters(max_codepoint=0x7F), max_size=12)
ascii_values = st.recursive(
    st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | _ascii,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_ascii, inner, max_size=4),
    max_leaves=20,
)


def _shuffled(value: Any, seed: int) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        items = items[seed % (len(items) or 1) :] + items[: seed % (len(items) or 1)]
        return {k: _shuffled(v, seed + 1) for k, v in reversed(items)}
    if isinstance(value, list):
        return [_shuffled(v, seed + 1) for v in value]
    return value


@given(values, st.integers(0, 100))
def test_jcs_ignores_key_order(value: Any, seed: int) -> None:
    assert canonical_json(_shuffled(value, seed)) == canonical_json(value)


@given(values)
def test_jcs_round_trips_through_the_strict_parser(value: Any) -> None:
    data = canonical_json(value)
    assert parse_json(data) == value
    assert canonical_json(parse_json(data)) == data


@given(values)
def test_jcs_is_pythons_sorted_compact_json_for_bmp_keys(value: Any) -> None:
    # PROTOCOL §3: for keys that sort the same in UTF-16 and code points, JCS is json.dumps.
    def bmp_only(v: Any) -> bool:
        if isinstance(v, dict):
            return all(max(map(ord, k), default=0) < 0xD800 and bmp_only(x) for k, x in v.items())
        if isinstance(v, list):
            return all(bmp_only(x) for x in v)
        return True

    if bmp_only(value):
        expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert canonical_json(value) == expected.encode()


@given(st.binary(max_size=100))
def test_b64u_round_trips(data: bytes) -> None:
    assert b64u_decode(b64u_encode(data)) == data


@given(ascii_values | values, st.integers(0, 100), st.booleans(), st.sampled_from([None, 0, 2]))
def test_any_serialisation_reads_back_to_the_same_jcs(
    value: Any, seed: int, ascii_only: bool, indent: int | None
) -> None:
    text = json.dumps(_shuffled(value, seed), ensure_ascii=ascii_only, indent=indent)
    assert parse_json(text.encode()) == value
    assert canonical_json(parse_json(text.encode())) == canonical_json(value)


def _reference_jcs(value: Any) -> bytes:
    """The pure-Python writer canonical_json falls back to, which follows RFC 8785 step by step."""
    from crypto.encoding import _serialise

    out: list[str] = []
    _serialise(value, out, 0)
    return "".join(out).encode("utf-8")


@given(ascii_values | values)
def test_the_fast_writer_agrees_with_the_reference_writer(value: Any) -> None:
    assert canonical_json(value) == _reference_jcs(value)


@given(ascii_values, st.sampled_from([1.5, 2**53, -(2**53), float("inf"), b"x", (1, 2), {1: 2}]))
def test_values_jcs_cannot_write_are_refused_whatever_the_path(value: Any, bad: Any) -> None:
    from crypto.errors import EncodingError

    for wrapped in ([value, bad], {"a": value, "b": bad}, bad):
        try:
            expected: bytes | type[Exception] = _reference_jcs(wrapped)
        except EncodingError:
            expected = EncodingError
        if expected is EncodingError:
            with pytest.raises(EncodingError):
                canonical_json(wrapped)
        else:
            assert canonical_json(wrapped) == expected
