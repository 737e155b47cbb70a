"""Properties of RFC 9474 blind RSA: standard PSS verifiers accept it, flipped bits are refused."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidSignature as CryptographyInvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.blind_rsa import (
    BlindingState,
    PrivateKey,
    PublicKey,
    Variant,
    blind,
    credential_message,
    finalize,
    prepare,
)
from crypto.errors import EncodingError, InvalidSignature

SLOW = settings(max_examples=20, deadline=None)
messages = st.binary(max_size=200)
identifiers = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=64)
pseudonyms = st.binary(min_size=32, max_size=32)


@pytest.fixture(scope="module")
def sk() -> PrivateKey:
    return PrivateKey.generate(2048)


def flip_bit(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def pss_verify(pk: PublicKey, msg: bytes, sig: bytes, salt_len: int) -> None:
    """Verification by cryptography alone, as any third-party PSS verifier would do it."""
    key = serialization.load_der_public_key(pk.to_spki())
    assert isinstance(key, rsa.RSAPublicKey)
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=salt_len)
    key.verify(sig, msg, pss, hashes.SHA384())


@SLOW
@given(msg=messages, sig_bit=st.integers(min_value=0), msg_bit=st.integers(min_value=0))
def test_protocol_credential_is_standard_pss(
    sk: PrivateKey, msg: bytes, sig_bit: int, msg_bit: int
) -> None:
    pk = sk.public_key()
    prefix, prepared = prepare(msg)
    assert len(prefix) == 32
    blinded, state = blind(pk, prepared)
    assert len(blinded) == pk.modulus_len and int.from_bytes(blinded, "big") < pk.n
    sig = finalize(pk, prepared, sk.blind_sign(blinded), state)
    pss_verify(pk, prepared, sig, 48)
    pk.verify(prepared, sig)

    bad_sig = flip_bit(sig, sig_bit % (8 * len(sig)))
    with pytest.raises(InvalidSignature):
        pk.verify(prepared, bad_sig)
    with pytest.raises(CryptographyInvalidSignature):
        pss_verify(pk, prepared, bad_sig, 48)
    bad_msg = flip_bit(prepared, msg_bit % (8 * len(prepared)))
    with pytest.raises(InvalidSignature):
        pk.verify(bad_msg, sig)
    with pytest.raises(CryptographyInvalidSignature):
        pss_verify(pk, bad_msg, sig, 48)


@SLOW
@given(msg=messages, variant=st.sampled_from(Variant))
def test_every_variant_round_trips(sk: PrivateKey, msg: bytes, variant: Variant) -> None:
    pk = sk.public_key()
    prefix, prepared = prepare(msg, variant)
    assert prepared == prefix + msg
    blinded, state = blind(pk, prepared, variant)
    blind_sig = sk.blind_sign(blinded)
    sig = finalize(pk, prepared, blind_sig, state, variant)
    pss_verify(pk, prepared, sig, variant.salt_len)
    restored = BlindingState.from_bytes(pk, state.to_bytes())
    assert finalize(pk, prepared, blind_sig, restored, variant) == sig
    other = next(v for v in Variant if v.salt_len != variant.salt_len)
    with pytest.raises(InvalidSignature):
        pk.verify(prepared, sig, other)


@settings(max_examples=200, deadline=None)
@given(bit=st.integers(min_value=0))
def test_spki_bit_flip_is_refused_or_another_key(sk: PrivateKey, bit: int) -> None:
    der = sk.public_key().to_spki()
    bit %= 8 * len(der)
    try:
        other = PublicKey.from_spki(flip_bit(der, bit))
    except EncodingError:
        return
    # Only a flip inside n can still parse, and then it names another key.
    assert bit >= 8 * 81
    assert other != sk.public_key()


@given(a=identifiers, b=identifiers, pk_a=pseudonyms, pk_b=pseudonyms)
def test_credential_message_is_injective(a: str, b: str, pk_a: bytes, pk_b: bytes) -> None:
    same = credential_message(a, pk_a) == credential_message(b, pk_b)
    assert same == ((a, pk_a) == (b, pk_b))
