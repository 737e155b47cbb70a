"""Ed25519 signatures over canonical JSON, with the protocol's domain separation.

Signatures follow RFC 8032 as libsodium implements it (``crypto_sign_verify_detached``: canonical
S, small-order keys and R refused), through PyNaCl. Every signed message is a domain prefix
followed by the JCS bytes of an object (docs/PROTOCOL.md §4, §5):

* ``RECORD_DOMAIN``: a board record, signed by the envelope's ``signer``;
* ``STH_DOMAIN``: a signed tree head, by the authority key;
* ``LOBBY_APPLICATION_DOMAIN``: a lobby's application, by its lobby key.
"""

from __future__ import annotations

from collections.abc import Mapping

import nacl.exceptions
import nacl.signing

from crypto.encoding import JSONValue, b64u_decode, b64u_encode, canonical_json
from crypto.errors import EncodingError, InvalidSignature

__all__ = [
    "LOBBY_APPLICATION_DOMAIN",
    "PUBLIC_KEY_SIZE",
    "RECORD_DOMAIN",
    "SIGNATURE_SIZE",
    "STH_DOMAIN",
    "SigningKey",
    "sign_object",
    "verify_object",
]

RECORD_DOMAIN = b"isegoria/v1/record\x00"
STH_DOMAIN = b"isegoria/v1/sth\x00"
LOBBY_APPLICATION_DOMAIN = b"isegoria/v1/lobby-application\x00"
PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64


class SigningKey:
    """An Ed25519 private key; its repr never shows the secret."""

    __slots__ = ("_key",)

    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise ValueError("an Ed25519 seed is 32 bytes")
        self._key = nacl.signing.SigningKey(seed)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(bytes(nacl.signing.SigningKey.generate()))

    def seed(self) -> bytes:
        """The 32-byte secret seed, for sealing only."""
        return bytes(self._key)

    @property
    def public_key(self) -> bytes:
        return bytes(self._key.verify_key)

    @property
    def public_key_b64u(self) -> str:
        return b64u_encode(self.public_key)

    def sign(self, domain: bytes, message: bytes) -> bytes:
        return self._key.sign(domain + message).signature

    def __repr__(self) -> str:
        return f"SigningKey(public_key={self.public_key_b64u!r})"


def sign_object(key: SigningKey, domain: bytes, obj: Mapping[str, JSONValue]) -> str:
    """Sign ``domain || JCS(obj)`` and return the signature as base64url."""
    return b64u_encode(key.sign(domain, canonical_json(obj)))


def verify_object(public_key: str, domain: bytes, obj: object, signature: str) -> None:
    """Check a base64url Ed25519 signature over ``domain || JCS(obj)``; raise otherwise."""
    key = b64u_decode(public_key, length=PUBLIC_KEY_SIZE, what="public key")
    sig = b64u_decode(signature, length=SIGNATURE_SIZE, what="signature")
    message = domain + canonical_json(obj)
    try:
        nacl.signing.VerifyKey(key).verify(message, sig)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError) as exc:
        raise InvalidSignature("Ed25519 signature does not verify") from exc
    except nacl.exceptions.CryptoError as exc:  # pragma: no cover - libsodium refusal of the key
        raise EncodingError("unusable Ed25519 public key") from exc
