"""RFC 9474 blind RSA: Appendix A vectors, SPKI bytes (§10) and the refusals.

Vectors: tests/vectors/rfc9474.json, RFC 9474 Appendix A.1-A.4 (source in tests/vectors/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from crypto import blind_rsa
from crypto.blind_rsa import (
    CREDENTIAL_DOMAIN,
    BlindingState,
    PrivateKey,
    PublicKey,
    Variant,
    blind,
    credential_message,
    finalize,
    prepare,
)
from crypto.errors import CryptoError, EncodingError, InvalidSignature

VECTORS_PATH = Path(__file__).parents[2] / "vectors" / "rfc9474.json"
VECTORS: list[dict[str, str]] = json.loads(VECTORS_PATH.read_text())
EXPECTED_NAMES = [
    "RSABSSA-SHA384-PSS-Randomized",
    "RSABSSA-SHA384-PSSZERO-Randomized",
    "RSABSSA-SHA384-PSS-Deterministic",
    "RSABSSA-SHA384-PSSZERO-Deterministic",
]
FIELDS = {"name", "p", "q", "d", "e", "n", "msg", "msg_prefix", "prepared_msg", "salt",
          "encoded_msg", "inv", "blinded_msg", "blind_sig", "sig"}  # fmt: skip

# docs/PROTOCOL.md §10, verbatim.
ALGORITHM_IDENTIFIER = bytes.fromhex(
    "303d06092a864886f70d01010a3030a00d300b0609608648016503040202a11a301806092a864886f70d010108"
    "300b0609608648016503040202a203020130"
)
# The same with NULL hash parameters: in the hash, in the MGF1 hash, in both (§10 readers).
NULL_PARAM_IDENTIFIERS = [
    bytes.fromhex(
        "303f06092a864886f70d01010a3032a00f300d06096086480165030402020500a11a301806092a864886f70d"
        "010108300b0609608648016503040202a203020130"
    ),
    bytes.fromhex(
        "303f06092a864886f70d01010a3032a00d300b0609608648016503040202a11c301a06092a864886f70d0101"
        "08300d06096086480165030402020500a203020130"
    ),
    bytes.fromhex(
        "304106092a864886f70d01010a3034a00f300d06096086480165030402020500a11c301a06092a864886f70d"
        "010108300d06096086480165030402020500a203020130"
    ),
]
RSA_ENCRYPTION_IDENTIFIER = bytes.fromhex("300d06092a864886f70d0101010500")


def vector_id(vector: dict[str, str]) -> str:
    return vector["name"]


def h(vector: dict[str, str], key: str) -> bytes:
    return bytes.fromhex(vector[key])


def i(vector: dict[str, str], key: str) -> int:
    return int(vector[key], 16)


def vector_key(vector: dict[str, str]) -> PrivateKey:
    return PrivateKey._from_components(
        p=i(vector, "p"), q=i(vector, "q"), d=i(vector, "d"), e=i(vector, "e"), n=i(vector, "n")
    )


def der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def spki_with(algorithm_identifier: bytes, key: rsa.RSAPublicKey) -> bytes:
    """An SPKI built from cryptography's own rsaEncryption one, with another identifier."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    start = der.index(RSA_ENCRYPTION_IDENTIFIER)
    inner = algorithm_identifier + der[start + len(RSA_ENCRYPTION_IDENTIFIER) :]
    return b"\x30" + der_length(len(inner)) + inner


def flip_bit(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@pytest.fixture(scope="module")
def sk() -> PrivateKey:
    return PrivateKey.generate(2048)


@pytest.fixture(scope="module")
def crypto_sk(sk: PrivateKey) -> rsa.RSAPrivateKey:
    key = serialization.load_der_private_key(sk.to_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@pytest.fixture(scope="module")
def signed(sk: PrivateKey) -> tuple[bytes, bytes]:
    """A (prepared_msg, sig) pair of the default variant under ``sk``."""
    pk = sk.public_key()
    _, prepared = prepare(b"a message")
    blinded, state = blind(pk, prepared)
    return prepared, finalize(pk, prepared, sk.blind_sign(blinded), state)


# --- the vector file --------------------------------------------------------------------------


def test_vector_file_assumptions() -> None:
    assert [v["name"] for v in VECTORS] == EXPECTED_NAMES
    for v in VECTORS:
        assert set(v) == FIELDS
        for key in ("p", "q", "d", "e", "n", "msg", "inv"):
            assert v[key] == VECTORS[0][key]  # one key, one msg, one inv (README)
    assert i(VECTORS[0], "n").bit_length() == 4096
    assert i(VECTORS[0], "e") == 65537


@pytest.mark.parametrize("vector", VECTORS, ids=vector_id)
def test_vector_variant(vector: dict[str, str]) -> None:
    variant = Variant.from_name_string(vector["name"])
    assert variant.name_string == vector["name"]
    assert variant.salt_len == len(h(vector, "salt"))
    assert variant.randomized == (len(h(vector, "msg_prefix")) == 32)
    assert variant.randomized == bool(vector["msg_prefix"])


@pytest.mark.parametrize("vector", VECTORS, ids=vector_id)
def test_vector_prepare(vector: dict[str, str]) -> None:
    variant = Variant.from_name_string(vector["name"])
    assert h(vector, "msg_prefix") + h(vector, "msg") == h(vector, "prepared_msg")
    prefix, prepared = prepare(h(vector, "msg"), variant)
    assert len(prefix) == (32 if variant.randomized else 0)
    assert prepared == prefix + h(vector, "msg")


@pytest.mark.parametrize("vector", VECTORS, ids=vector_id)
def test_vector_encoding(vector: dict[str, str]) -> None:
    em_bits = i(vector, "n").bit_length() - 1
    encoded = blind_rsa._emsa_pss_encode(h(vector, "prepared_msg"), h(vector, "salt"), em_bits)
    assert encoded == h(vector, "encoded_msg")


@pytest.mark.parametrize("vector", VECTORS, ids=vector_id)
def test_vector_blind_sign_finalize_verify(vector: dict[str, str]) -> None:
    variant = Variant.from_name_string(vector["name"])
    sk = vector_key(vector)
    pk = sk.public_key()
    prepared = h(vector, "prepared_msg")
    salt, inv = h(vector, "salt"), i(vector, "inv")
    blinded, state = blind_rsa._blind_with(pk, prepared, salt, inv, variant)
    assert blinded == h(vector, "blinded_msg")
    assert sk.blind_sign(blinded) == h(vector, "blind_sig")
    assert finalize(pk, prepared, h(vector, "blind_sig"), state, variant) == h(vector, "sig")
    # The state saved and restored (a client interrupted between blind and finalize).
    saved = state.to_bytes()
    assert saved == inv.to_bytes(pk.modulus_len, "big")
    restored = BlindingState.from_bytes(pk, saved)
    assert finalize(pk, prepared, h(vector, "blind_sig"), restored, variant) == h(vector, "sig")
    pk.verify(prepared, h(vector, "sig"), variant)
    with pytest.raises(InvalidSignature):
        pk.verify(flip_bit(prepared, 0), h(vector, "sig"), variant)
    with pytest.raises(InvalidSignature):
        pk.verify(prepared, flip_bit(h(vector, "sig"), 77), variant)


@pytest.mark.parametrize("vector", VECTORS, ids=vector_id)
def test_vector_wrong_salt_length_variant_rejected(vector: dict[str, str]) -> None:
    variant = Variant.from_name_string(vector["name"])
    other = next(v for v in Variant if v.salt_len != variant.salt_len)
    with pytest.raises(InvalidSignature):
        vector_key(vector).public_key().verify(h(vector, "prepared_msg"), h(vector, "sig"), other)


def test_vector_key_spki_round_trip() -> None:
    pk = vector_key(VECTORS[0]).public_key()
    assert pk.modulus_len == 512
    assert PublicKey.from_spki(pk.to_spki()) == pk


# --- verification refusals -------------------------------------------------------------------


def test_exact_salt_length_is_enforced(sk: PrivateKey, crypto_sk: rsa.RSAPrivateKey) -> None:
    # A PSS signature with a 32-byte salt is valid PSS, but not this variant (salt 48, no auto).
    msg = b"salt 32"
    sig = crypto_sk.sign(msg, padding.PSS(padding.MGF1(hashes.SHA384()), 32), hashes.SHA384())
    with pytest.raises(InvalidSignature):
        sk.public_key().verify(msg, sig)
    sig48 = crypto_sk.sign(msg, padding.PSS(padding.MGF1(hashes.SHA384()), 48), hashes.SHA384())
    sk.public_key().verify(msg, sig48)
    with pytest.raises(InvalidSignature):
        sk.public_key().verify(msg, sig48, Variant.SHA384_PSSZERO_RANDOMIZED)


def test_sig_at_or_above_modulus_rejected(sk: PrivateKey, signed: tuple[bytes, bytes]) -> None:
    pk = sk.public_key()
    prepared, _ = signed
    for s in (pk.n, pk.n + 1, 2 ** (8 * pk.modulus_len) - 1):
        with pytest.raises(InvalidSignature, match="out of range"):
            pk.verify(prepared, s.to_bytes(pk.modulus_len, "big"))


@pytest.mark.parametrize("change", ["short", "long", "leading-zero", "empty"])
def test_sig_wrong_length_rejected(
    sk: PrivateKey, signed: tuple[bytes, bytes], change: str
) -> None:
    prepared, sig = signed
    bad = {"short": sig[1:], "long": sig + b"\x00", "leading-zero": b"\x00" + sig, "empty": b""}
    with pytest.raises(InvalidSignature, match="length"):
        sk.public_key().verify(prepared, bad[change])


def test_flipped_bits_rejected(sk: PrivateKey, signed: tuple[bytes, bytes]) -> None:
    prepared, sig = signed
    pk = sk.public_key()
    pk.verify(prepared, sig)
    for bit in (0, 7, 1000, 8 * len(sig) - 1):
        with pytest.raises(InvalidSignature):
            pk.verify(prepared, flip_bit(sig, bit))
    for bit in (0, 8 * len(prepared) - 1):
        with pytest.raises(InvalidSignature):
            pk.verify(flip_bit(prepared, bit), sig)


# --- SPKI (docs/PROTOCOL.md §10) --------------------------------------------------------------


def test_spki_bytes_are_exactly_section_10(sk: PrivateKey) -> None:
    pk = sk.public_key()
    der = pk.to_spki()
    body = pk.n.to_bytes(257, "big")  # 2048-bit n has its top bit set: one 0x00 in DER
    rsa_public_key = bytes.fromhex("3082010a02820101") + body + bytes.fromhex("0203010001")
    bit_string = bytes.fromhex("0382010f00") + rsa_public_key
    assert der == bytes.fromhex("30820152") + ALGORITHM_IDENTIFIER + bit_string
    assert PublicKey.from_spki(der) == pk
    # Independent reader: cryptography parses id-RSASSA-PSS keys too.
    loaded = serialization.load_der_public_key(der)
    assert isinstance(loaded, rsa.RSAPublicKey)
    assert loaded.public_numbers() == rsa.RSAPublicNumbers(pk.e, pk.n)


@pytest.mark.parametrize("identifier", NULL_PARAM_IDENTIFIERS, ids=["hash", "mgf", "both"])
def test_spki_null_parameter_forms_accepted(
    sk: PrivateKey, crypto_sk: rsa.RSAPrivateKey, identifier: bytes
) -> None:
    pk = PublicKey.from_spki(spki_with(identifier, crypto_sk.public_key()))
    assert pk == sk.public_key()
    assert pk.to_spki()[4:67] == ALGORITHM_IDENTIFIER  # written back in the canonical form


def test_spki_rsa_encryption_rejected(crypto_sk: rsa.RSAPrivateKey) -> None:
    der = crypto_sk.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(EncodingError, match="id-RSASSA-PSS"):
        PublicKey.from_spki(der)


def test_spki_other_pss_parameters_rejected(crypto_sk: rsa.RSAPrivateKey) -> None:
    salt32 = ALGORITHM_IDENTIFIER[:-1] + b"\x20"
    sha256 = ALGORITHM_IDENTIFIER.replace(bytes.fromhex("608648016503040202"),
                                          bytes.fromhex("608648016503040201"))  # fmt: skip
    # An explicit trailer field [3] INTEGER 1: DER forbids encoding the default.
    oid, params = ALGORITHM_IDENTIFIER[2:13], ALGORITHM_IDENTIFIER[15:]
    trailer = b"\x30\x42" + oid + b"\x30\x35" + params + bytes.fromhex("a303020101")
    for identifier in (salt32, sha256, trailer):
        with pytest.raises(EncodingError):
            PublicKey.from_spki(spki_with(identifier, crypto_sk.public_key()))


def test_spki_malformed_rejected(sk: PrivateKey) -> None:
    der = sk.public_key().to_spki()
    assert der[67:72] == bytes.fromhex("0382010f00")  # the BIT STRING header, 0 unused bits
    cases = {
        "empty": b"",
        "truncated": der[:-1],
        "trailing": der + b"\x00",
        "non-minimal length": b"\x30\x83\x00" + der[2:],
        "indefinite length": b"\x30\x80" + der[4:] + b"\x00\x00",
        "SET not SEQUENCE": b"\x31" + der[1:],
        "unused bits": der[:71] + b"\x01" + der[72:],
        "negative n": der[:80] + b"\x80" + der[81:],
    }
    for case in cases.values():
        with pytest.raises(EncodingError):
            PublicKey.from_spki(case)


@pytest.mark.parametrize("change", ["1024 bits", "e=3", "e=65539"])
def test_spki_key_policy(crypto_sk: rsa.RSAPrivateKey, change: str) -> None:
    n = crypto_sk.public_key().public_numbers().n
    numbers = {
        "1024 bits": rsa.RSAPublicNumbers(65537, n >> 1024 | 1),
        "e=3": rsa.RSAPublicNumbers(3, n),
        "e=65539": rsa.RSAPublicNumbers(65539, n),
    }
    der = spki_with(ALGORITHM_IDENTIFIER, numbers[change].public_key())
    with pytest.raises(EncodingError, match=r"65537|2048"):
        PublicKey.from_spki(der)


def test_public_key_constructor_checks_policy() -> None:
    n = i(VECTORS[0], "n")
    with pytest.raises(EncodingError):
        PublicKey(n, 3)
    with pytest.raises(EncodingError):
        PublicKey(n >> 1, 65537)  # 4095 bits
    with pytest.raises(EncodingError):
        PublicKey(n + 1, 65537)  # even


# --- blind, blind_sign, finalize --------------------------------------------------------------


def test_blind_sign_refuses_bad_blinded_msg(sk: PrivateKey) -> None:
    pk = sk.public_key()
    with pytest.raises(EncodingError, match="below the modulus"):
        sk.blind_sign(pk.n.to_bytes(pk.modulus_len, "big"))
    with pytest.raises(EncodingError, match="below the modulus"):
        sk.blind_sign(b"\xff" * pk.modulus_len)
    for bad in (b"\x01" * (pk.modulus_len - 1), b"\x00" + b"\x01" * pk.modulus_len, b""):
        with pytest.raises(EncodingError, match="length"):
            sk.blind_sign(bad)


def test_blind_sign_fault_is_detected() -> None:
    sk = vector_key(VECTORS[0])
    blinded = h(VECTORS[0], "blinded_msg")
    assert sk.blind_sign(blinded) == h(VECTORS[0], "blind_sig")
    sk._dp += 2  # a corrupted CRT half, as a fault would produce
    with pytest.raises(CryptoError, match="fault") as info:
        sk.blind_sign(blinded)
    assert type(info.value) is CryptoError


def test_blind_refuses_non_coprime_message(monkeypatch: pytest.MonkeyPatch) -> None:
    sk = vector_key(VECTORS[0])
    pk = sk.public_key()
    multiple_of_p = (i(VECTORS[0], "p") * 12345).to_bytes(pk.modulus_len, "big")
    monkeypatch.setattr(blind_rsa, "_emsa_pss_encode", lambda *_: multiple_of_p)
    with pytest.raises(EncodingError, match="coprime"):
        blind(pk, b"msg")


def test_blind_with_wrong_salt_length_refused() -> None:
    pk = vector_key(VECTORS[0]).public_key()
    variant = Variant.SHA384_PSS_RANDOMIZED
    with pytest.raises(EncodingError, match="salt"):
        blind_rsa._blind_with(pk, b"m", bytes(32), i(VECTORS[0], "inv"), variant)


def test_blinding_is_randomized(sk: PrivateKey) -> None:
    pk = sk.public_key()
    first, _ = blind(pk, b"same")
    second, _ = blind(pk, b"same")
    assert first != second
    assert len(first) == pk.modulus_len


@pytest.mark.parametrize("variant", list(Variant), ids=lambda v: v.name_string)
def test_round_trip_each_variant(sk: PrivateKey, variant: Variant) -> None:
    pk = sk.public_key()
    prefix, prepared = prepare(b"round trip", variant)
    blinded, state = blind(pk, prepared, variant)
    sig = finalize(pk, prepared, sk.blind_sign(blinded), state, variant)
    pk.verify(prepared, sig, variant)
    assert prepared == prefix + b"round trip"


def test_finalize_refuses_bad_blind_sig(sk: PrivateKey) -> None:
    pk = sk.public_key()
    _, prepared = prepare(b"finalize")
    blinded, state = blind(pk, prepared)
    blind_sig = sk.blind_sign(blinded)
    other, _ = blind(pk, prepared)
    cases = [
        sk.blind_sign(other),  # a signature for another blinding
        flip_bit(blind_sig, 3),
        blind_sig[1:],
        pk.n.to_bytes(pk.modulus_len, "big"),
    ]
    for case in cases:
        with pytest.raises(InvalidSignature):
            finalize(pk, prepared, case, state)
    with pytest.raises(InvalidSignature):
        finalize(pk, prepared + b"x", blind_sig, state)
    vector_pk = vector_key(VECTORS[0]).public_key()
    with pytest.raises(InvalidSignature, match="another issuer key"):
        finalize(vector_pk, prepared, blind_sig, state)
    assert finalize(pk, prepared, blind_sig, state) != blind_sig


def test_prepare_prefix_is_fresh() -> None:
    first, prepared = prepare(b"m")
    second, _ = prepare(b"m")
    assert len(first) == 32 and first != second
    assert prepared == first + b"m"
    assert prepare(b"m", Variant.SHA384_PSS_DETERMINISTIC) == (b"", b"m")


# --- keys ------------------------------------------------------------------------------------


def test_generate_refuses_other_sizes() -> None:
    for bits in (1024, 2047, 3071, 8192):
        with pytest.raises(ValueError, match="2048, 3072 or 4096"):
            PrivateKey.generate(bits)


def test_pkcs8_round_trip(sk: PrivateKey) -> None:
    data = sk.to_bytes()
    again = PrivateKey.from_bytes(data)
    assert again.public_key() == sk.public_key()
    assert again.to_bytes() == data
    blinded = (12345).to_bytes(sk.public_key().modulus_len, "big")
    assert again.blind_sign(blinded) == sk.blind_sign(blinded)


def test_pkcs8_refusals(crypto_sk: rsa.RSAPrivateKey, sk: PrivateKey) -> None:
    pkcs1 = crypto_sk.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    ec_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    small = rsa.generate_private_key(65537, 1024).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    data = sk.to_bytes()
    cases = (b"", b"garbage", pkcs1, ec_key, small, data[:-1], data + b"\x00", flip_bit(data, 800))
    for bad in cases:
        with pytest.raises(EncodingError):
            PrivateKey.from_bytes(bad)


def test_private_components_checked() -> None:
    v = VECTORS[0]
    parts: dict[str, Any] = {k: i(v, k) for k in ("p", "q", "d", "e", "n")}
    for change in ({"d": parts["d"] + 2}, {"p": parts["q"]}, {"q": parts["q"] + 2}):
        with pytest.raises(EncodingError):
            PrivateKey._from_components(**{**parts, **change})
    with pytest.raises(TypeError):
        PrivateKey()


def test_restoring_a_blinding_state_refuses_what_is_no_unblinder() -> None:
    vector = VECTORS[0]
    pk = vector_key(vector).public_key()
    size, n, p = pk.modulus_len, i(vector, "n"), i(vector, "p")
    good = i(vector, "inv").to_bytes(size, "big")
    for data in (
        good[1:],  # too short
        b"\x00" + good,  # too long
        bytes(size),  # zero
        (1).to_bytes(size, "big"),  # the unit that blinds nothing
        n.to_bytes(size, "big"),  # not reduced
        p.to_bytes(size, "big"),  # shares a factor with n: no inverse
    ):
        with pytest.raises(EncodingError):
            BlindingState.from_bytes(pk, data)
    other = PrivateKey.generate(2048).public_key()
    with pytest.raises(InvalidSignature, match="another issuer key"):
        restored = BlindingState.from_bytes(pk, good)
        finalize(other, h(vector, "prepared_msg"), h(vector, "blind_sig"), restored)


def test_secrets_not_in_repr(sk: PrivateKey) -> None:
    _, state = blind(sk.public_key(), b"m")
    assert repr(state) == "BlindingState(<secret>)"
    assert isinstance(state, BlindingState)
    assert str(int(sk._p)) not in repr(sk)
    assert "<secret>" in repr(sk)


# --- variants and the credential message ------------------------------------------------------


def test_variant_table() -> None:
    assert [v.name_string for v in Variant] == EXPECTED_NAMES
    assert [v.salt_len for v in Variant] == [48, 0, 48, 0]
    assert [v.randomized for v in Variant] == [True, True, False, False]
    with pytest.raises(EncodingError):
        Variant.from_name_string("RSABSSA-SHA384-PSS-randomized")


def test_credential_message() -> None:
    pseudonym = bytes(range(32))
    assert CREDENTIAL_DOMAIN == b"isegoria/v1/credential\x00"
    assert credential_message("city-2025", pseudonym) == (
        b"isegoria/v1/credential\x00city-2025\x00" + pseudonym
    )
    for assembly_id, pk in (("", pseudonym), ("a\x00b", pseudonym), ("A", pseudonym),
                            ("x" * 65, pseudonym), ("city", pseudonym[:31]),
                            ("city", pseudonym + b"\x00")):  # fmt: skip
        with pytest.raises(EncodingError):
            credential_message(assembly_id, pk)
