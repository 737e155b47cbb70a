"""Secrets sealed at rest: the authority, issuer and registrar keys, and the citizen's wallet.

Constructions (libsodium, through PyNaCl):

- ``crypto_secretbox`` — XSalsa20-Poly1305 (libsodium "Secret-key authenticated encryption"),
  a fresh random 24-byte nonce per seal.
- the box key is a subkey bound to the blob's header and its ``purpose`` label:
  ``BLAKE2b-256(key=K, message=HEADER || UTF-8(purpose))``, BLAKE2b keyed as a PRF (RFC 7693,
  libsodium ``crypto_generichash``), so a blob sealed for ``issuer:a`` does not open as
  ``authority``, nor a key-sealed blob as a passphrase-sealed one.
- ``crypto_pwhash`` with Argon2id v1.3 (RFC 9106; libsodium "Password hashing") derives K from a
  passphrase; libsodium's ``opslimit`` is Argon2's iterations t, ``memlimit`` its memory in bytes,
  with one lane.

Blob formats (version 1; integers big-endian):

- key-sealed: ``b"isegoria/v1/sealed\\x00" || nonce (24) || secretbox (16-byte MAC || ciphertext)``
- passphrase-sealed: ``b"isegoria/v1/pwsealed\\x00" || opslimit (u64) || memlimit (u64) ||
  salt (16) || nonce (24) || secretbox``; HEADER is then everything before the nonce, so the cost
  and salt are authenticated too (libsodium floors ``memlimit`` to whole KiB: a cost altered by a
  few bytes would otherwise derive the same key).

A blob that does not have the format raises EncodingError; one that has it but does not open
(wrong key, passphrase or purpose, altered bytes) raises UnsealError. The package is pure: the
caller reads the key, key file or passphrase and passes bytes in; nothing here logs.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Final, NoReturn

import nacl.exceptions
import nacl.pwhash.argon2id as _argon2id
import nacl.secret
import nacl.utils

from crypto.errors import EncodingError, UnsealError

__all__ = [
    "PassphraseKey",
    "SealingKey",
    "seal",
    "seal_with_passphrase",
    "unseal",
    "unseal_with_passphrase",
]

# Domain-separation constants: each is the blob's header and the prefix of its subkey message.
_SEALED_HEADER: Final = b"isegoria/v1/sealed\x00"
_PASSPHRASE_HEADER: Final = b"isegoria/v1/pwsealed\x00"

_KEY_SIZE: Final = nacl.secret.SecretBox.KEY_SIZE  # 32
_NONCE_SIZE: Final = nacl.secret.SecretBox.NONCE_SIZE  # 24
_MAC_SIZE: Final = nacl.secret.SecretBox.MACBYTES  # 16
_SALT_SIZE: Final = _argon2id.SALTBYTES  # 16
_PARAMS: Final = struct.Struct(">QQ")
_MAX_PURPOSE_BYTES: Final = 255

# Defaults for a server or a desktop client (libsodium's MODERATE: 3 passes, 256 MiB).
_OPSLIMIT_DEFAULT: Final = _argon2id.OPSLIMIT_MODERATE
_MEMLIMIT_DEFAULT: Final = _argon2id.MEMLIMIT_MODERATE
# A passphrase-sealed blob names its own cost; refusing more than SENSITIVE (4 passes, 1 GiB)
# keeps a crafted file from making the reader spend unbounded time or memory.
_OPSLIMIT_CEILING: Final = _argon2id.OPSLIMIT_SENSITIVE
_MEMLIMIT_CEILING: Final = _argon2id.MEMLIMIT_SENSITIVE


class SealingKey:
    """A 32-byte key that seals secrets at rest; its repr never shows the bytes."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes, /) -> None:
        if not isinstance(key, bytes):
            raise TypeError("a sealing key must be bytes")
        if len(key) != _KEY_SIZE:
            raise ValueError(f"a sealing key must be exactly {_KEY_SIZE} bytes")
        self._key = key

    @classmethod
    def from_bytes(cls, key: bytes) -> SealingKey:
        """The sealing key whose 32 raw bytes are ``key``."""
        return cls(key)

    @classmethod
    def generate(cls) -> SealingKey:
        """A fresh random sealing key (libsodium ``randombytes_buf``)."""
        return cls(nacl.utils.random(_KEY_SIZE))

    @classmethod
    def derive(
        cls,
        passphrase: bytes,
        salt: bytes,
        *,
        opslimit: int = _OPSLIMIT_DEFAULT,
        memlimit: int = _MEMLIMIT_DEFAULT,
    ) -> SealingKey:
        """The key Argon2id derives from ``passphrase`` and a 16-byte ``salt``.

        The defaults are libsodium's MODERATE; tests pass ``OPSLIMIT_MIN``/``MEMLIMIT_MIN``
        of ``nacl.pwhash.argon2id``.
        """
        _check_limits(opslimit, memlimit, _argon2id.OPSLIMIT_MAX, _argon2id.MEMLIMIT_MAX)
        return cls(_derive(passphrase, salt, opslimit, memlimit))

    def to_bytes(self) -> bytes:
        """The 32 raw bytes: a secret, for writing a key file the caller protects."""
        return self._key

    def __repr__(self) -> str:
        return "SealingKey(<secret>)"

    def __reduce__(self) -> NoReturn:
        # Pickling would write the key in clear wherever the pickle goes.
        raise TypeError("a SealingKey cannot be pickled")


def seal(key: SealingKey, plaintext: bytes, *, purpose: str) -> bytes:
    """Seal ``plaintext`` under ``key`` for ``purpose`` (a random nonce each time)."""
    if not isinstance(key, SealingKey):
        raise TypeError("key must be a SealingKey")
    return _SEALED_HEADER + _box(key.to_bytes(), _SEALED_HEADER, purpose, plaintext)


def unseal(key: SealingKey, sealed: bytes, *, purpose: str) -> bytes:
    """Open a blob made by :func:`seal` with the same key and purpose, else raise UnsealError."""
    if not isinstance(key, SealingKey):
        raise TypeError("key must be a SealingKey")
    body = _strip_header(sealed, _SEALED_HEADER, "sealed")
    return _unbox(key.to_bytes(), _SEALED_HEADER, purpose, body)


class PassphraseKey:
    """The key Argon2id derived from a passphrase, with the salt and cost it was derived with.

    Deriving is the slow part (by design); a file sealed again after each change keeps its salt
    and cost and so its key, and :meth:`seal` draws a fresh nonce each time. Its repr never
    shows the key, and it cannot be pickled.
    """

    __slots__ = ("_header", "_key")

    def __init__(self, key: bytes, header: bytes, /) -> None:
        self._key = key
        self._header = header

    @classmethod
    def derive(
        cls,
        passphrase: bytes,
        *,
        opslimit: int = _OPSLIMIT_DEFAULT,
        memlimit: int = _MEMLIMIT_DEFAULT,
    ) -> PassphraseKey:
        """A new key: a fresh salt, and a cost from libsodium's MIN to its SENSITIVE limits."""
        _check_limits(opslimit, memlimit, _OPSLIMIT_CEILING, _MEMLIMIT_CEILING)
        salt = nacl.utils.random(_SALT_SIZE)
        key = _derive(passphrase, salt, opslimit, memlimit)
        return cls(key, _PASSPHRASE_HEADER + _PARAMS.pack(opslimit, memlimit) + salt)

    @classmethod
    def for_sealed(cls, passphrase: bytes, sealed: bytes) -> PassphraseKey:
        """The key of a blob made by :meth:`seal`: its salt and cost, derived from ``passphrase``.

        A blob asking for more than libsodium's SENSITIVE cost is refused (EncodingError) before
        any derivation. A wrong passphrase is only found by :meth:`unseal`.
        """
        body = _strip_header(sealed, _PASSPHRASE_HEADER, "passphrase-sealed")
        fixed = _PARAMS.size + _SALT_SIZE
        if len(body) < fixed + _NONCE_SIZE + _MAC_SIZE:
            raise EncodingError("a passphrase-sealed blob is too short")
        opslimit, memlimit = _PARAMS.unpack_from(body)
        try:
            _check_limits(opslimit, memlimit, _OPSLIMIT_CEILING, _MEMLIMIT_CEILING)
        except ValueError as exc:
            raise EncodingError(f"a passphrase-sealed blob asks too high a cost: {exc}") from None
        key = _derive(passphrase, body[_PARAMS.size : fixed], opslimit, memlimit)
        return cls(key, _PASSPHRASE_HEADER + body[:fixed])

    def seal(self, plaintext: bytes, *, purpose: str) -> bytes:
        """Seal ``plaintext`` for ``purpose`` (a random nonce each time)."""
        return self._header + _box(self._key, self._header, purpose, plaintext)

    def unseal(self, sealed: bytes, *, purpose: str) -> bytes:
        """Open a blob this key sealed, else raise UnsealError (EncodingError if not one)."""
        if not isinstance(sealed, bytes):
            raise TypeError("a sealed blob must be bytes")
        _strip_header(sealed, _PASSPHRASE_HEADER, "passphrase-sealed")
        if not sealed.startswith(self._header):
            raise UnsealError("cannot unseal: the blob was sealed with another salt or cost")
        return _unbox(self._key, self._header, purpose, sealed[len(self._header) :])

    def __repr__(self) -> str:
        return "PassphraseKey(<secret>)"

    def __reduce__(self) -> NoReturn:
        raise TypeError("a PassphraseKey cannot be pickled")


def seal_with_passphrase(
    passphrase: bytes,
    plaintext: bytes,
    *,
    purpose: str,
    opslimit: int = _OPSLIMIT_DEFAULT,
    memlimit: int = _MEMLIMIT_DEFAULT,
) -> bytes:
    """Seal ``plaintext`` under a key Argon2id derives from ``passphrase`` and a fresh salt.

    The blob carries the salt and the Argon2id cost, which may range from libsodium's MIN to
    its SENSITIVE limits (the most :func:`unseal_with_passphrase` accepts).
    """
    _check_limits(opslimit, memlimit, _OPSLIMIT_CEILING, _MEMLIMIT_CEILING)
    _purpose_bytes(purpose)  # refuse a bad purpose or plaintext before the slow derivation
    if not isinstance(plaintext, bytes):
        raise TypeError("plaintext must be bytes")
    key = PassphraseKey.derive(passphrase, opslimit=opslimit, memlimit=memlimit)
    return key.seal(plaintext, purpose=purpose)


def unseal_with_passphrase(passphrase: bytes, sealed: bytes, *, purpose: str) -> bytes:
    """Open a blob made by :func:`seal_with_passphrase`, else raise UnsealError.

    A blob asking for more than libsodium's SENSITIVE cost is refused (EncodingError) before any
    derivation.
    """
    _strip_header(sealed, _PASSPHRASE_HEADER, "passphrase-sealed")
    _purpose_bytes(purpose)
    return PassphraseKey.for_sealed(passphrase, sealed).unseal(sealed, purpose=purpose)


def _purpose_bytes(purpose: str) -> bytes:
    if not isinstance(purpose, str):
        raise TypeError("purpose must be a str")
    if not purpose or "\x00" in purpose:
        raise ValueError("purpose must be a non-empty string without NUL")
    try:
        encoded = purpose.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("purpose must be valid Unicode") from None
    if len(encoded) > _MAX_PURPOSE_BYTES:
        raise ValueError(f"purpose must be at most {_MAX_PURPOSE_BYTES} UTF-8 bytes")
    return encoded


def _subkey(key: bytes, header: bytes, purpose: str) -> bytes:
    message = header + _purpose_bytes(purpose)
    return hashlib.blake2b(message, digest_size=_KEY_SIZE, key=key).digest()


def _box(key: bytes, header: bytes, purpose: str, plaintext: bytes) -> bytes:
    if not isinstance(plaintext, bytes):
        raise TypeError("plaintext must be bytes")
    box = nacl.secret.SecretBox(_subkey(key, header, purpose))
    nonce = nacl.utils.random(_NONCE_SIZE)
    return bytes(box.encrypt(plaintext, nonce))  # nonce || MAC || ciphertext


def _unbox(key: bytes, header: bytes, purpose: str, body: bytes) -> bytes:
    if len(body) < _NONCE_SIZE + _MAC_SIZE:
        raise EncodingError("a sealed blob is too short")
    box = nacl.secret.SecretBox(_subkey(key, header, purpose))
    try:
        return box.decrypt(body[_NONCE_SIZE:], body[:_NONCE_SIZE])
    except nacl.exceptions.CryptoError:
        raise UnsealError("cannot unseal: wrong key or purpose, or the blob was altered") from None


def _strip_header(sealed: bytes, header: bytes, kind: str) -> bytes:
    if not isinstance(sealed, bytes):
        raise TypeError("a sealed blob must be bytes")
    if not sealed.startswith(header):
        raise EncodingError(f"not an isegoria v1 {kind} blob")
    return sealed[len(header) :]


def _check_limits(opslimit: int, memlimit: int, max_ops: int, max_mem: int) -> None:
    for name, value, low, high in (
        ("opslimit", opslimit, _argon2id.OPSLIMIT_MIN, max_ops),
        ("memlimit", memlimit, _argon2id.MEMLIMIT_MIN, max_mem),
    ):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} must be an int")
        if not low <= value <= high:
            raise ValueError(f"{name} must be from {low} to {high}")


def _derive(passphrase: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    if not isinstance(passphrase, bytes) or not isinstance(salt, bytes):
        raise TypeError("passphrase and salt must be bytes")
    if not passphrase:
        raise ValueError("the passphrase must not be empty")
    if len(salt) != _SALT_SIZE:
        raise ValueError(f"the salt must be exactly {_SALT_SIZE} bytes")
    return _argon2id.kdf(_KEY_SIZE, passphrase, salt, opslimit=opslimit, memlimit=memlimit)
