"""Errors raised by the ``crypto`` package.

::

    CryptoError
    ├── EncodingError (also ValueError)  malformed bytes, base64url, JSON, keys
    ├── InvalidSignature                 a signature or credential that does not verify
    ├── InvalidProof                     a Merkle inclusion or consistency proof that fails
    └── UnsealError                      a sealed blob that cannot be opened
"""

from __future__ import annotations

__all__ = ["CryptoError", "EncodingError", "InvalidProof", "InvalidSignature", "UnsealError"]


class CryptoError(Exception):
    """Base of every error raised by the crypto package."""


class EncodingError(CryptoError, ValueError):
    """Input bytes or text are not in the exact encoding the protocol requires."""


class InvalidSignature(CryptoError):
    """A signature (Ed25519 or RSA) or a credential does not verify."""


class InvalidProof(CryptoError):
    """A Merkle proof does not lead to the expected root."""


class UnsealError(CryptoError):
    """A sealed secret cannot be opened."""
