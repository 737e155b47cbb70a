"""crypto.keystore: sealing keys, purpose-bound SecretBox seals, passphrase seals (Argon2id)."""

from __future__ import annotations

import hashlib
import inspect
import pickle
import struct

import nacl.bindings
import nacl.pwhash.argon2id as argon2id
import pytest
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from crypto.errors import CryptoError, EncodingError, UnsealError
from crypto.keystore import (
    PassphraseKey,
    SealingKey,
    seal,
    seal_with_passphrase,
    unseal,
    unseal_with_passphrase,
)

SEALED_HEADER = b"isegoria/v1/sealed\x00"
PASSPHRASE_HEADER = b"isegoria/v1/pwsealed\x00"
FAST = {"opslimit": argon2id.OPSLIMIT_MIN, "memlimit": argon2id.MEMLIMIT_MIN}
KEY_BYTES = bytes(range(32))
SALT = bytes(range(100, 116))


def flip(blob: bytes, index: int) -> bytes:
    return blob[:index] + bytes([blob[index] ^ 0x01]) + blob[index + 1 :]


@pytest.fixture
def key() -> SealingKey:
    return SealingKey.from_bytes(KEY_BYTES)


# --- SealingKey ------------------------------------------------------------------------------


def test_from_bytes_keeps_the_bytes() -> None:
    assert SealingKey.from_bytes(KEY_BYTES).to_bytes() == KEY_BYTES


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_from_bytes_refuses_other_lengths(size: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        SealingKey.from_bytes(b"\x01" * size)


@pytest.mark.parametrize("value", [bytearray(32), "k" * 32, memoryview(bytes(32)), None])
def test_from_bytes_refuses_non_bytes(value: object) -> None:
    with pytest.raises(TypeError):
        SealingKey.from_bytes(value)  # type: ignore[arg-type]


def test_repr_and_str_hide_the_key() -> None:
    secret = b"\xab" * 32
    key = SealingKey.from_bytes(secret)
    for shown in (repr(key), str(key), f"{key!r} {key}"):
        assert "ab" not in shown.lower()
        assert repr(secret) not in shown
        assert shown.startswith("SealingKey(")


def test_key_cannot_be_pickled() -> None:
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(SealingKey.from_bytes(KEY_BYTES))


def test_key_has_no_instance_dict() -> None:
    with pytest.raises(AttributeError):
        SealingKey.from_bytes(KEY_BYTES).extra = 1  # type: ignore[attr-defined]


def test_generate_makes_fresh_keys() -> None:
    keys = {SealingKey.generate().to_bytes() for _ in range(8)}
    assert len(keys) == 8
    assert all(len(k) == 32 for k in keys)


def test_derive_matches_an_independent_argon2id() -> None:
    # OpenSSL's Argon2id (through cryptography) with libsodium's mapping: t = opslimit,
    # m = memlimit / 1024 KiB, one lane, no secret or associated data, version 0x13.
    for opslimit, memlimit in [(1, 8192), (2, 16 * 1024), (3, 64 * 1024)]:
        derived = SealingKey.derive(b"correct horse", SALT, opslimit=opslimit, memlimit=memlimit)
        expected = Argon2id(
            salt=SALT, length=32, iterations=opslimit, lanes=1, memory_cost=memlimit // 1024
        ).derive(b"correct horse")
        assert derived.to_bytes() == expected


def test_derive_depends_on_every_input() -> None:
    base = SealingKey.derive(b"pass", SALT, **FAST).to_bytes()
    assert SealingKey.derive(b"pass", SALT, **FAST).to_bytes() == base
    assert SealingKey.derive(b"pasS", SALT, **FAST).to_bytes() != base
    assert SealingKey.derive(b"pass", flip(SALT, 0), **FAST).to_bytes() != base
    assert SealingKey.derive(b"pass", SALT, opslimit=2, memlimit=8192).to_bytes() != base
    assert SealingKey.derive(b"pass", SALT, opslimit=1, memlimit=16384).to_bytes() != base


def test_derive_defaults_are_libsodium_moderate() -> None:
    for function in (SealingKey.derive, seal_with_passphrase):
        parameters = inspect.signature(function).parameters
        assert parameters["opslimit"].default == argon2id.OPSLIMIT_MODERATE
        assert parameters["memlimit"].default == argon2id.MEMLIMIT_MODERATE


@pytest.mark.parametrize("salt", [b"", SALT[:15], SALT + b"x"])
def test_derive_refuses_a_salt_of_the_wrong_length(salt: bytes) -> None:
    with pytest.raises(ValueError, match="salt"):
        SealingKey.derive(b"pass", salt, **FAST)


def test_derive_refuses_an_empty_passphrase() -> None:
    with pytest.raises(ValueError, match="passphrase"):
        SealingKey.derive(b"", SALT, **FAST)


def test_derive_refuses_a_text_passphrase() -> None:
    with pytest.raises(TypeError):
        SealingKey.derive("pass", SALT, **FAST)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("opslimit", "memlimit", "error"),
    [
        (0, 8192, ValueError),
        (1, 8191, ValueError),
        (argon2id.OPSLIMIT_MAX + 1, 8192, ValueError),
        (True, 8192, TypeError),
        (1, 8192.0, TypeError),
    ],
)
def test_derive_refuses_limits_out_of_range(
    opslimit: int, memlimit: int, error: type[Exception]
) -> None:
    with pytest.raises(error):
        SealingKey.derive(b"pass", SALT, opslimit=opslimit, memlimit=memlimit)


# --- seal / unseal ---------------------------------------------------------------------------


@pytest.mark.parametrize("plaintext", [b"", b"x", b"\x00" * 32, bytes(range(256)) * 40])
def test_round_trip(key: SealingKey, plaintext: bytes) -> None:
    sealed = seal(key, plaintext, purpose="authority")
    assert unseal(key, sealed, purpose="authority") == plaintext
    assert len(sealed) == len(SEALED_HEADER) + 24 + 16 + len(plaintext)
    assert sealed.startswith(SEALED_HEADER)


def test_opens_with_an_equal_key_from_elsewhere(key: SealingKey) -> None:
    sealed = seal(key, b"seed", purpose="registrar")
    assert unseal(SealingKey.from_bytes(KEY_BYTES), sealed, purpose="registrar") == b"seed"


def test_each_seal_uses_a_fresh_nonce(key: SealingKey) -> None:
    blobs = {seal(key, b"same", purpose="authority") for _ in range(8)}
    assert len(blobs) == 8


def test_plaintext_is_not_in_the_blob(key: SealingKey) -> None:
    secret = b"issuer private key, never in clear" * 3
    assert secret[:16] not in seal(key, secret, purpose="issuer:a")


def test_pinned_format(key: SealingKey) -> None:
    # Built by hand from the documented layout with libsodium and hashlib only.
    purpose = "issuer:assembly-1"
    subkey = hashlib.blake2b(
        SEALED_HEADER + purpose.encode(), digest_size=32, key=KEY_BYTES
    ).digest()
    nonce = bytes(range(24))
    box = nacl.bindings.crypto_secretbox_easy(b"the issuer key", nonce, subkey)
    blob = SEALED_HEADER + nonce + box
    assert unseal(key, blob, purpose=purpose) == b"the issuer key"


def test_wrong_key_is_refused(key: SealingKey) -> None:
    sealed = seal(key, b"seed", purpose="authority")
    with pytest.raises(UnsealError):
        unseal(SealingKey.generate(), sealed, purpose="authority")


def test_an_issuer_key_cannot_be_swapped_in_as_the_authority_key(key: SealingKey) -> None:
    sealed = seal(key, b"issuer key", purpose="issuer:a")
    with pytest.raises(UnsealError):
        unseal(key, sealed, purpose="authority")
    with pytest.raises(UnsealError):
        unseal(key, sealed, purpose="issuer:b")


def test_every_flipped_byte_is_refused(key: SealingKey) -> None:
    sealed = seal(key, b"0123456789", purpose="authority")
    for index in range(len(sealed)):
        expected = EncodingError if index < len(SEALED_HEADER) else UnsealError
        with pytest.raises(expected):
            unseal(key, flip(sealed, index), purpose="authority")


@pytest.mark.parametrize("cut", [1, 16, 26])
def test_truncated_blob_is_refused(key: SealingKey, cut: int) -> None:
    sealed = seal(key, b"0123456789", purpose="authority")
    with pytest.raises(CryptoError):
        unseal(key, sealed[:-cut], purpose="authority")


@pytest.mark.parametrize(
    "blob",
    [b"", SEALED_HEADER, SEALED_HEADER + bytes(39), b"isegoria/v2/sealed\x00" + bytes(60)],
)
def test_malformed_blob_is_an_encoding_error(key: SealingKey, blob: bytes) -> None:
    with pytest.raises(EncodingError):
        unseal(key, blob, purpose="authority")


def test_appended_bytes_are_refused(key: SealingKey) -> None:
    sealed = seal(key, b"seed", purpose="authority")
    with pytest.raises(UnsealError):
        unseal(key, sealed + b"\x00", purpose="authority")


@pytest.mark.parametrize("purpose", ["", "a\x00b", "x" * 256, "é" * 128, "a\ud800"])
def test_bad_purpose_is_refused(key: SealingKey, purpose: str) -> None:
    with pytest.raises(ValueError, match="purpose"):
        seal(key, b"seed", purpose=purpose)
    sealed = seal(key, b"seed", purpose="authority")
    with pytest.raises(ValueError, match="purpose"):
        unseal(key, sealed, purpose=purpose)


def test_longest_purpose_is_accepted(key: SealingKey) -> None:
    purpose = "x" * 255
    assert unseal(key, seal(key, b"s", purpose=purpose), purpose=purpose) == b"s"


def test_wrong_types_are_refused(key: SealingKey) -> None:
    with pytest.raises(TypeError):
        seal(KEY_BYTES, b"seed", purpose="authority")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        seal(key, "seed", purpose="authority")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        seal(key, b"seed", purpose=b"authority")  # type: ignore[arg-type]
    sealed = seal(key, b"seed", purpose="authority")
    with pytest.raises(TypeError):
        unseal(key, bytearray(sealed), purpose="authority")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        unseal(KEY_BYTES, sealed, purpose="authority")  # type: ignore[arg-type]


# --- passphrase seals ------------------------------------------------------------------------


def test_passphrase_round_trip() -> None:
    sealed = seal_with_passphrase(b"hunter2", b"pseudonym seed", purpose="pseudonym", **FAST)
    assert unseal_with_passphrase(b"hunter2", sealed, purpose="pseudonym") == b"pseudonym seed"


def test_passphrase_blob_carries_its_salt_and_cost() -> None:
    sealed = seal_with_passphrase(b"pw", b"x", purpose="wallet", opslimit=2, memlimit=16384)
    assert sealed.startswith(PASSPHRASE_HEADER)
    offset = len(PASSPHRASE_HEADER)
    assert struct.unpack(">QQ", sealed[offset : offset + 16]) == (2, 16384)
    assert len(sealed) == offset + 16 + 16 + 24 + 16 + 1
    other = seal_with_passphrase(b"pw", b"x", purpose="wallet", opslimit=2, memlimit=16384)
    assert sealed[offset + 16 : offset + 32] != other[offset + 16 : offset + 32]  # fresh salt


def test_passphrase_pinned_format() -> None:
    # Built by hand from the documented layout: OpenSSL's Argon2id, hashlib, libsodium's box.
    salt, nonce = bytes(range(16)), bytes(range(24, 48))
    key = Argon2id(salt=salt, length=32, iterations=1, lanes=1, memory_cost=8).derive(b"pw")
    header = PASSPHRASE_HEADER + struct.pack(">QQ", 1, 8192) + salt
    subkey = hashlib.blake2b(header + b"wallet", digest_size=32, key=key).digest()
    box = nacl.bindings.crypto_secretbox_easy(b"seed", nonce, subkey)
    blob = header + nonce + box
    assert unseal_with_passphrase(b"pw", blob, purpose="wallet") == b"seed"


def test_wrong_passphrase_is_refused() -> None:
    sealed = seal_with_passphrase(b"hunter2", b"seed", purpose="pseudonym", **FAST)
    with pytest.raises(UnsealError):
        unseal_with_passphrase(b"hunter3", sealed, purpose="pseudonym")


def test_passphrase_wrong_purpose_is_refused() -> None:
    sealed = seal_with_passphrase(b"pw", b"seed", purpose="pseudonym", **FAST)
    with pytest.raises(UnsealError):
        unseal_with_passphrase(b"pw", sealed, purpose="lobby-key")


def test_passphrase_every_flipped_byte_is_refused() -> None:
    sealed = seal_with_passphrase(b"pw", b"0123456789", purpose="wallet", **FAST)
    for index in range(len(sealed)):
        # Flipping the lowest bit keeps every cost within bounds or below the minimum.
        with pytest.raises(CryptoError):
            unseal_with_passphrase(b"pw", flip(sealed, index), purpose="wallet")


def test_a_changed_cost_changes_the_key() -> None:
    sealed = seal_with_passphrase(b"pw", b"seed", purpose="wallet", **FAST)
    offset = len(PASSPHRASE_HEADER)
    # 8193 bytes is still 8 KiB to libsodium: only the header's authentication catches it.
    for cost in [(2, 8192), (1, 16384), (1, 8193), (1, 9215)]:
        altered = sealed[:offset] + struct.pack(">QQ", *cost) + sealed[offset + 16 :]
        with pytest.raises(UnsealError):
            unseal_with_passphrase(b"pw", altered, purpose="wallet")


@pytest.mark.parametrize(
    "cost",
    [
        (0, 8192),
        (1, 8191),
        (argon2id.OPSLIMIT_SENSITIVE + 1, 8192),
        (1, argon2id.MEMLIMIT_SENSITIVE + 1),
        (2**64 - 1, 2**64 - 1),
    ],
)
def test_a_cost_out_of_bounds_is_refused_before_derivation(cost: tuple[int, int]) -> None:
    sealed = seal_with_passphrase(b"pw", b"seed", purpose="wallet", **FAST)
    offset = len(PASSPHRASE_HEADER)
    altered = sealed[:offset] + struct.pack(">QQ", *cost) + sealed[offset + 16 :]
    with pytest.raises(EncodingError, match="cost"):
        unseal_with_passphrase(b"pw", altered, purpose="wallet")


@pytest.mark.parametrize(
    ("opslimit", "memlimit"),
    [(argon2id.OPSLIMIT_SENSITIVE + 1, 8192), (1, argon2id.MEMLIMIT_SENSITIVE + 1), (0, 8192)],
)
def test_seal_refuses_a_cost_it_could_not_open(opslimit: int, memlimit: int) -> None:
    with pytest.raises(ValueError):
        seal_with_passphrase(b"pw", b"seed", purpose="w", opslimit=opslimit, memlimit=memlimit)


def test_formats_do_not_mix(key: SealingKey) -> None:
    by_key = seal(key, b"seed", purpose="wallet")
    by_passphrase = seal_with_passphrase(b"pw", b"seed", purpose="wallet", **FAST)
    with pytest.raises(EncodingError):
        unseal_with_passphrase(b"pw", by_key, purpose="wallet")
    with pytest.raises(EncodingError):
        unseal(key, by_passphrase, purpose="wallet")


@pytest.mark.parametrize(
    "blob",
    [b"", PASSPHRASE_HEADER, PASSPHRASE_HEADER + struct.pack(">QQ", 1, 8192) + bytes(55)],
)
def test_short_passphrase_blob_is_an_encoding_error(blob: bytes) -> None:
    with pytest.raises(EncodingError):
        unseal_with_passphrase(b"pw", blob, purpose="wallet")


def test_passphrase_checks_happen_before_derivation() -> None:
    with pytest.raises(ValueError, match="passphrase"):
        seal_with_passphrase(b"", b"seed", purpose="wallet", **FAST)
    with pytest.raises(ValueError, match="purpose"):
        seal_with_passphrase(b"pw", b"seed", purpose="", **FAST)
    with pytest.raises(TypeError):
        seal_with_passphrase(b"pw", "seed", purpose="wallet", **FAST)  # type: ignore[arg-type]


def test_errors_are_crypto_errors() -> None:
    assert issubclass(UnsealError, CryptoError)
    assert issubclass(EncodingError, CryptoError)
    assert issubclass(EncodingError, ValueError)


# --- PassphraseKey: derive once, seal many times -----------------------------------------------


def test_a_passphrase_key_seals_again_without_deriving(argon2_derivations: list[int]) -> None:
    key = PassphraseKey.derive(b"pw", **FAST)
    derivations = argon2_derivations
    derivations.clear()
    first = key.seal(b"seed v1", purpose="wallet")
    second = key.seal(b"seed v2", purpose="wallet")
    assert derivations == []
    header = len(PASSPHRASE_HEADER) + 16 + 16
    assert first[:header] == second[:header]  # same salt and cost
    assert first[header : header + 24] != second[header : header + 24]  # fresh nonces
    assert key.unseal(second, purpose="wallet") == b"seed v2"
    # The blobs are ordinary passphrase-sealed blobs, and the format's own reader opens them.
    assert unseal_with_passphrase(b"pw", first, purpose="wallet") == b"seed v1"
    reopened = PassphraseKey.for_sealed(b"pw", second)
    assert reopened.unseal(first, purpose="wallet") == b"seed v1"
    assert len(derivations) == 2


def test_a_passphrase_key_opens_only_its_own_blobs() -> None:
    key = PassphraseKey.derive(b"pw", **FAST)
    other_salt = seal_with_passphrase(b"pw", b"seed", purpose="wallet", **FAST)
    with pytest.raises(UnsealError):
        key.unseal(other_salt, purpose="wallet")
    mine = key.seal(b"seed", purpose="wallet")
    with pytest.raises(UnsealError):
        key.unseal(mine, purpose="lobby-key")
    with pytest.raises(UnsealError):
        key.unseal(flip(mine, len(mine) - 1), purpose="wallet")
    with pytest.raises(UnsealError):
        PassphraseKey.for_sealed(b"wrong", mine).unseal(mine, purpose="wallet")
    with pytest.raises(EncodingError):
        key.unseal(seal(SealingKey.from_bytes(KEY_BYTES), b"seed", purpose="wallet"), purpose="w")


def test_a_passphrase_key_refuses_a_costly_blob_before_deriving() -> None:
    costly = PASSPHRASE_HEADER + struct.pack(">QQ", 5, 1 << 31) + bytes(16 + 24 + 16)
    with pytest.raises(EncodingError, match="cost"):
        PassphraseKey.for_sealed(b"pw", costly)
    with pytest.raises(ValueError, match="opslimit"):
        PassphraseKey.derive(b"pw", opslimit=argon2id.OPSLIMIT_SENSITIVE + 1)


def test_a_passphrase_key_stays_secret() -> None:
    key = PassphraseKey.derive(b"pw", **FAST)
    assert repr(key) == "PassphraseKey(<secret>)"
    with pytest.raises(TypeError):
        pickle.dumps(key)
