"""Ed25519 over canonical JSON with domain separation (PROTOCOL §4)."""

from __future__ import annotations

import pytest

from crypto.ed25519 import (
    LOBBY_APPLICATION_DOMAIN,
    RECORD_DOMAIN,
    STH_DOMAIN,
    SigningKey,
    sign_object,
    verify_object,
)
from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import EncodingError, InvalidSignature

SEED = bytes(range(32))


def test_domains_are_the_protocol_bytes() -> None:
    assert RECORD_DOMAIN == b"isegoria/v1/record\x00"
    assert STH_DOMAIN == b"isegoria/v1/sth\x00"
    assert LOBBY_APPLICATION_DOMAIN == b"isegoria/v1/lobby-application\x00"


def test_signature_is_deterministic_and_verifies() -> None:
    key = SigningKey(SEED)
    record = {"type": "genesis", "protocol": "isegoria/v1", "authority_key": key.public_key_b64u}
    sig = sign_object(key, RECORD_DOMAIN, record)
    assert sig == sign_object(SigningKey(SEED), RECORD_DOMAIN, dict(reversed(record.items())))
    verify_object(key.public_key_b64u, RECORD_DOMAIN, record, sig)


def test_domain_separation() -> None:
    key = SigningKey(SEED)
    sig = sign_object(key, RECORD_DOMAIN, {"a": 1})
    with pytest.raises(InvalidSignature):
        verify_object(key.public_key_b64u, STH_DOMAIN, {"a": 1}, sig)


def test_small_order_key_and_non_canonical_s_are_refused() -> None:
    key = SigningKey(SEED)
    sig = b64u_decode(sign_object(key, RECORD_DOMAIN, {"a": 1}))
    # The identity point (small order) as a public key.
    identity = b64u_encode(b"\x01" + bytes(31))
    with pytest.raises(InvalidSignature):
        verify_object(identity, RECORD_DOMAIN, {"a": 1}, b64u_encode(sig))
    # S + L (the group order) is the same scalar, non-canonically encoded.
    order = 2**252 + 27742317777372353535851937790883648493
    s = int.from_bytes(sig[32:], "little") + order
    forged = sig[:32] + s.to_bytes(32, "little")
    with pytest.raises(InvalidSignature):
        verify_object(key.public_key_b64u, RECORD_DOMAIN, {"a": 1}, b64u_encode(forged))


def test_lengths_are_checked() -> None:
    key = SigningKey(SEED)
    sig = sign_object(key, RECORD_DOMAIN, {"a": 1})
    with pytest.raises(EncodingError):
        verify_object(b64u_encode(bytes(31)), RECORD_DOMAIN, {"a": 1}, sig)
    with pytest.raises(EncodingError):
        verify_object(key.public_key_b64u, RECORD_DOMAIN, {"a": 1}, sig[:-2])
    with pytest.raises(ValueError, match="32 bytes"):
        SigningKey(bytes(33))


def test_repr_hides_the_secret() -> None:
    key = SigningKey(SEED)
    assert SEED.hex() not in repr(key)
    assert b64u_encode(SEED) not in repr(key)
