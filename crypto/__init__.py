"""isegoria's cryptographic core (pure: no I/O).

* ``crypto.blind_rsa``: RFC 9474 RSA blind signatures (the anonymous credentials);
* ``crypto.ed25519``: Ed25519 signatures over canonical JSON, with domain separation;
* ``crypto.encoding``: strict base64url and RFC 8785 canonical JSON;
* ``crypto.merkle``: the RFC 9162 Merkle tree of the board, its proofs and their checks;
* ``crypto.keystore``: secrets sealed at rest (libsodium SecretBox, Argon2id).
"""

from __future__ import annotations

from crypto.errors import CryptoError, EncodingError, InvalidProof, InvalidSignature, UnsealError

__all__ = ["CryptoError", "EncodingError", "InvalidProof", "InvalidSignature", "UnsealError"]
