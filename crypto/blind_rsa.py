"""RSA blind signatures, RFC 9474 (docs/PROTOCOL.md §2, §3 and §10).

* :func:`prepare` is RFC 9474 §4.1 (a 32-byte random prefix for the randomized variants);
* :func:`blind` is §4.2: EMSA-PSS-ENCODE (RFC 8017 §9.1.1, emBits = modBits − 1), the coprimality
  check, then ``z = m · r^e mod n``; the inverse ``r^-1`` stays inside an opaque
  :class:`BlindingState`;
* :meth:`PrivateKey.blind_sign` is §4.3: RSASP1 with CRT and base blinding on
  ``gmpy2.powmod_sec``, and the result is checked (``s^e = m``) before release (fault attacks);
* :func:`finalize` is §4.4: ``s = z · r^-1 mod n``, then RSASSA-PSS verification;
* :meth:`PublicKey.verify` is RSASSA-PSS-VERIFY (RFC 8017 §8.1.2) with SHA-384, MGF1-SHA-384 and
  the variant's exact salt length (§5), done by ``cryptography``.

The protocol uses RSABSSA-SHA384-PSS-Randomized (§5, the default everywhere); the other three
variants exist for the RFC's Appendix A vectors. Randomness is drawn here (``secrets``), never
passed in. Issuer keys have e = 65537 and 2048, 3072 or 4096 bits; their SPKI bytes are in
:mod:`crypto._rsa_spki`.
"""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

import gmpy2
from cryptography.exceptions import InvalidSignature as _CryptographyInvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from crypto._rsa_spki import decode_spki, encode_spki
from crypto.errors import CryptoError, EncodingError, InvalidSignature

__all__ = [
    "CREDENTIAL_DOMAIN",
    "KEY_BITS",
    "PUBLIC_EXPONENT",
    "BlindingState",
    "PrivateKey",
    "PublicKey",
    "Variant",
    "blind",
    "credential_message",
    "finalize",
    "prepare",
]

#: Domain separation of the message a credential signs (docs/PROTOCOL.md §2 step 2).
CREDENTIAL_DOMAIN = b"isegoria/v1/credential\x00"
#: Issuer modulus sizes allowed by docs/PROTOCOL.md §10.
KEY_BITS = frozenset({2048, 3072, 4096})
PUBLIC_EXPONENT = 65537
_DEFAULT_KEY_BITS = 3072
_PREFIX_LEN = 32  # RFC 9474 §4.1
_HASH_LEN = 48  # SHA-384
_PSEUDONYM_LEN = 32
_IDENTIFIER = re.compile(r"[a-z0-9-]{1,64}")


class Variant(enum.Enum):
    """The four RFC 9474 §5 variants: (name, salt length, randomized prefix)."""

    SHA384_PSS_RANDOMIZED = ("RSABSSA-SHA384-PSS-Randomized", 48, True)
    SHA384_PSSZERO_RANDOMIZED = ("RSABSSA-SHA384-PSSZERO-Randomized", 0, True)
    SHA384_PSS_DETERMINISTIC = ("RSABSSA-SHA384-PSS-Deterministic", 48, False)
    SHA384_PSSZERO_DETERMINISTIC = ("RSABSSA-SHA384-PSSZERO-Deterministic", 0, False)

    def __init__(self, name_string: str, salt_len: int, randomized: bool) -> None:
        self.name_string = name_string
        self.salt_len = salt_len
        self.randomized = randomized

    @classmethod
    def from_name_string(cls, name: str) -> Variant:
        """Return the variant called ``name`` in RFC 9474 §5, else raise EncodingError."""
        for variant in cls:
            if variant.name_string == name:
                return variant
        raise EncodingError(f"unknown RFC 9474 variant {name!r}")

    def _pss(self) -> padding.PSS:
        return padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=self.salt_len)


_DEFAULT_VARIANT = Variant.SHA384_PSS_RANDOMIZED


def credential_message(assembly_id: str, pseudonym_pk: bytes) -> bytes:
    """Return the message a credential signs for ``pseudonym_pk`` in ``assembly_id`` (§2 step 2)."""
    if _IDENTIFIER.fullmatch(assembly_id) is None:
        raise EncodingError("assembly_id must be 1-64 characters of [a-z0-9-]")
    if len(pseudonym_pk) != _PSEUDONYM_LEN:
        raise EncodingError("a pseudonym key is 32 bytes")
    return CREDENTIAL_DOMAIN + assembly_id.encode() + b"\x00" + bytes(pseudonym_pk)


def _check_key_numbers(n: int, e: int) -> None:
    if e != PUBLIC_EXPONENT:
        raise EncodingError("issuer keys must have e = 65537")
    if n.bit_length() not in KEY_BITS or n % 2 == 0:
        raise EncodingError("issuer modulus must be odd, of 2048, 3072 or 4096 bits")


@dataclass(frozen=True)
class PublicKey:
    """An issuer public key; construction checks e = 65537 and the modulus size (§10)."""

    n: int
    e: int
    _key: rsa.RSAPublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_key_numbers(self.n, self.e)
        object.__setattr__(self, "_key", rsa.RSAPublicNumbers(self.e, self.n).public_key())

    @property
    def modulus_len(self) -> int:
        """The modulus length in bytes: the length of blinded messages and signatures."""
        return (self.n.bit_length() + 7) // 8

    @classmethod
    def from_spki(cls, der: bytes) -> PublicKey:
        """Read the id-RSASSA-PSS SubjectPublicKeyInfo of docs/PROTOCOL.md §10."""
        n, e = decode_spki(der)
        return cls(n, e)

    def to_spki(self) -> bytes:
        """Return the exact SubjectPublicKeyInfo bytes of docs/PROTOCOL.md §10."""
        return encode_spki(self.n, self.e)

    def verify(
        self, prepared_msg: bytes, sig: bytes, variant: Variant = _DEFAULT_VARIANT
    ) -> None:
        """Check an RSASSA-PSS signature over ``prepared_msg``; raise InvalidSignature if bad."""
        if len(sig) != self.modulus_len:
            raise InvalidSignature("signature length is not the modulus length")
        if int.from_bytes(sig, "big") >= self.n:
            raise InvalidSignature("signature representative out of range")
        try:
            # OpenSSL checks the recovered salt length equals the one given (no auto-detection);
            # tests/unit/crypto/test_blind_rsa.py pins that behaviour.
            self._key.verify(sig, prepared_msg, variant._pss(), hashes.SHA384())
        except _CryptographyInvalidSignature:
            raise InvalidSignature("RSA blind signature does not verify") from None


class BlindingState:
    """What :func:`finalize` needs from :func:`blind`: the secret unblinder, kept opaque."""

    __slots__ = ("_inv", "_n")

    def __init__(self, inv: int, n: int) -> None:
        self._inv = inv
        self._n = n

    def __repr__(self) -> str:
        return "BlindingState(<secret>)"

    def to_bytes(self) -> bytes:
        """The secret unblinder ``r^-1 mod n``, big-endian on the modulus length.

        For a client that must survive an interruption between :func:`blind` and
        :func:`finalize` (a retry has to send the same ``blinded_msg``): whoever holds these
        bytes can link the blinded request to the credential, so store them sealed.
        """
        return self._inv.to_bytes((self._n.bit_length() + 7) // 8, "big")

    @classmethod
    def from_bytes(cls, pk: PublicKey, data: bytes) -> BlindingState:
        """Restore a state saved with :meth:`to_bytes` for the issuer key ``pk``."""
        if len(data) != pk.modulus_len:
            raise EncodingError("a blinding state is as long as the issuer's modulus")
        inv = int.from_bytes(data, "big")
        if not 1 < inv < pk.n or gmpy2.gcd(inv, pk.n) != 1:
            raise EncodingError("a blinding state is a unit modulo the issuer's modulus")
        return cls(inv, pk.n)


def _mgf1_sha384(seed: bytes, length: int) -> bytes:
    """MGF1 with SHA-384 (RFC 8017 §B.2.1)."""
    out = bytearray()
    counter = 0
    while len(out) < length:
        out += hashlib.sha384(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return bytes(out[:length])


def _emsa_pss_encode(msg: bytes, salt: bytes, em_bits: int) -> bytes:
    """EMSA-PSS-ENCODE with SHA-384 and MGF1-SHA-384 (RFC 8017 §9.1.1)."""
    em_len = (em_bits + 7) // 8
    if em_len < _HASH_LEN + len(salt) + 2:
        raise EncodingError("modulus too small for the PSS encoding")
    m_hash = hashlib.sha384(msg).digest()
    h = hashlib.sha384(b"\x00" * 8 + m_hash + salt).digest()
    db = b"\x00" * (em_len - len(salt) - _HASH_LEN - 2) + b"\x01" + salt
    masked = bytearray(a ^ b for a, b in zip(db, _mgf1_sha384(h, len(db)), strict=True))
    masked[0] &= 0xFF >> (8 * em_len - em_bits)
    return bytes(masked) + h + b"\xbc"


def prepare(msg: bytes, variant: Variant = _DEFAULT_VARIANT) -> tuple[bytes, bytes]:
    """RFC 9474 §4.1: return ``(msg_prefix, prepared_msg)``; the prefix is b"" if deterministic."""
    prefix = secrets.token_bytes(_PREFIX_LEN) if variant.randomized else b""
    return prefix, prefix + bytes(msg)


def _blind_with(
    pk: PublicKey, prepared_msg: bytes, salt: bytes, inv: int, variant: Variant
) -> tuple[bytes, BlindingState]:
    """RFC 9474 §4.2 with the salt and the inverse given (test vectors only)."""
    if len(salt) != variant.salt_len:
        raise EncodingError("salt length does not match the variant")
    encoded = _emsa_pss_encode(prepared_msg, salt, pk.n.bit_length() - 1)
    m = int.from_bytes(encoded, "big")
    if gmpy2.gcd(m, pk.n) != 1:
        raise EncodingError("encoded message is not coprime to the modulus")
    try:
        r = pow(inv, -1, pk.n)
    except ValueError:
        raise CryptoError("blinding factor is not invertible") from None
    z = m * pow(r, pk.e, pk.n) % pk.n
    return z.to_bytes(pk.modulus_len, "big"), BlindingState(inv, pk.n)


def _random_unit(n: Any) -> tuple[Any, Any]:
    """A uniform r in [1, n) invertible mod n, and r^-1 (RFC 9474 §4.2 step 4: retry if not)."""
    while True:
        r = gmpy2.mpz(secrets.randbelow(int(n) - 1) + 1)
        try:
            return r, gmpy2.invert(r, n)
        except ZeroDivisionError:  # gcd(r, n) > 1: a factor of n, found with negligible odds
            continue


def blind(
    pk: PublicKey, prepared_msg: bytes, variant: Variant = _DEFAULT_VARIANT
) -> tuple[bytes, BlindingState]:
    """RFC 9474 §4.2: return ``(blinded_msg, state)`` for the signer and :func:`finalize`."""
    salt = secrets.token_bytes(variant.salt_len)
    _, inv = _random_unit(pk.n)
    return _blind_with(pk, prepared_msg, salt, int(inv), variant)


def finalize(
    pk: PublicKey,
    prepared_msg: bytes,
    blind_sig: bytes,
    state: BlindingState,
    variant: Variant = _DEFAULT_VARIANT,
) -> bytes:
    """RFC 9474 §4.4: unblind ``blind_sig`` and verify it; raise InvalidSignature if bad."""
    if state._n != pk.n:
        raise InvalidSignature("blinding state belongs to another issuer key")
    if len(blind_sig) != pk.modulus_len:
        raise InvalidSignature("blind signature length is not the modulus length")
    z = int.from_bytes(blind_sig, "big")
    if z >= pk.n:
        raise InvalidSignature("blind signature representative out of range")
    sig = (z * state._inv % pk.n).to_bytes(pk.modulus_len, "big")
    pk.verify(prepared_msg, sig, variant)
    return sig


class PrivateKey:
    """An issuer private key (RFC 9474 §4.3 BlindSign), held as CRT components."""

    __slots__ = ("_d", "_dp", "_dq", "_e", "_n", "_p", "_public", "_q", "_qinv")

    _public: PublicKey
    # gmpy2 values (untyped module): mpz keeps the hot path free of int conversions.
    _p: Any
    _q: Any
    _d: Any
    _dp: Any
    _dq: Any
    _qinv: Any
    _n: Any
    _e: Any

    def __init__(self) -> None:
        raise TypeError("use PrivateKey.generate() or PrivateKey.from_bytes()")

    @classmethod
    def _from_components(cls, *, p: int, q: int, d: int, e: int, n: int) -> PrivateKey:
        """Build a key from its numbers, checked (private: the RFC vectors use it)."""
        public = PublicKey(n, e)
        if p * q != n or p == q or min(p, q) < 3:
            raise EncodingError("RSA primes do not match the modulus")
        lam = (p - 1) * (q - 1) // gmpy2.gcd(p - 1, q - 1)
        if e * d % lam != 1:
            raise EncodingError("RSA private exponent does not match e")
        key = object.__new__(cls)
        key._public = public
        mpz = gmpy2.mpz
        key._p, key._q, key._n, key._e, key._d = mpz(p), mpz(q), mpz(n), mpz(e), mpz(d)
        key._dp, key._dq = mpz(d % (p - 1)), mpz(d % (q - 1))
        key._qinv = gmpy2.invert(key._q, key._p)
        return key

    def __repr__(self) -> str:
        return f"PrivateKey(<secret>, bits={self._public.n.bit_length()})"

    @classmethod
    def generate(cls, bits: int = _DEFAULT_KEY_BITS) -> PrivateKey:
        """Make a fresh issuer key, e = 65537, of 2048, 3072 (default) or 4096 bits."""
        if bits not in KEY_BITS:
            raise ValueError("issuer keys have 2048, 3072 or 4096 bits")
        numbers = rsa.generate_private_key(PUBLIC_EXPONENT, bits).private_numbers()
        return cls._from_numbers(numbers)

    @classmethod
    def _from_numbers(cls, numbers: rsa.RSAPrivateNumbers) -> PrivateKey:
        public = numbers.public_numbers
        return cls._from_components(p=numbers.p, q=numbers.q, d=numbers.d, e=public.e, n=public.n)

    def public_key(self) -> PublicKey:
        return self._public

    def _crypto_key(self) -> rsa.RSAPrivateKey:
        numbers = rsa.RSAPrivateNumbers(
            p=int(self._p),
            q=int(self._q),
            d=int(self._d),
            dmp1=int(self._dp),
            dmq1=int(self._dq),
            iqmp=int(self._qinv),
            public_numbers=rsa.RSAPublicNumbers(int(self._e), int(self._n)),
        )
        return numbers.private_key()

    def to_bytes(self) -> bytes:
        """Return the key as unencrypted PKCS#8 DER (the keystore seals it)."""
        return self._crypto_key().private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> PrivateKey:
        """Read what :meth:`to_bytes` wrote; anything else raises EncodingError."""
        try:
            loaded = serialization.load_der_private_key(bytes(data), password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise EncodingError("not an unencrypted PKCS#8 RSA private key") from None
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise EncodingError("not an RSA private key")
        key = cls._from_numbers(loaded.private_numbers())
        # Byte-exact round trip: refuses PKCS#1, odd encodings and non-canonical CRT values.
        if key.to_bytes() != data:
            raise EncodingError("not the canonical PKCS#8 encoding of an issuer key")
        return key

    def blind_sign(self, blinded_msg: bytes) -> bytes:
        """RFC 9474 §4.3: sign ``blinded_msg``, checking the result before releasing it."""
        k = self._public.modulus_len
        if len(blinded_msg) != k:
            raise EncodingError("blinded message length is not the modulus length")
        n, p, q = self._n, self._p, self._q
        m = gmpy2.mpz.from_bytes(blinded_msg, "big")
        if m >= n:
            raise EncodingError("blinded message is not below the modulus")
        # Base blinding: exponentiate m·r^e, not m, so the constant-time exponentiation never
        # sees a value the requester chose; s = (m·r^e)^d · r^-1.
        r, r_inv = _random_unit(n)
        x = m * gmpy2.powmod(r, self._e, n) % n
        s_p = gmpy2.powmod_sec(x % p, self._dp, p)
        s_q = gmpy2.powmod_sec(x % q, self._dq, q)
        s = (s_q + (self._qinv * (s_p - s_q) % p) * q) * r_inv % n
        # Fault check (RFC 9474 §4.3 step 4): a faulty CRT half would reveal a factor of n.
        if gmpy2.powmod(s, self._e, n) != m:
            raise CryptoError("RSA signing fault detected; nothing released")
        result: bytes = s.to_bytes(k, "big")
        return result
