"""The service's tables (SQLAlchemy 2 typed mappings); the migrations create exactly these.

The board is ``leaves`` plus ``merkle_nodes``: each leaf row also keeps the signed tree head of
the tree that ends with it (docs/PROTOCOL.md §10: a tree head for every size). Everything else is
the service's private state: sealed keys, the registrar's hashed roll and issued credentials, its
never-decreasing counters, and pending lobby applications. No plaintext enrollment code, voter
reference or private key is ever stored.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base

__all__ = [
    "AssemblyCounter",
    "Credential",
    "Leaf",
    "LobbyApplication",
    "MerkleNode",
    "RollEntry",
    "SealedKey",
]

_HASH = 32
_IDENTIFIER = 64


class Leaf(Base):
    """A board leaf: its exact bytes, and the signed tree head of size ``index + 1``."""

    __tablename__ = "leaves"

    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(_HASH), unique=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    record_type: Mapped[str] = mapped_column(String(_IDENTIFIER), index=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(_HASH))
    timestamp: Mapped[int] = mapped_column(BigInteger)
    """Unix epoch milliseconds of the tree head; never decreases with the index."""
    sth_sig: Mapped[bytes] = mapped_column(LargeBinary(64))


class MerkleNode(Base):
    """A perfect subtree hash: leaves ``[idx·2^level, (idx+1)·2^level)`` (crypto.merkle)."""

    __tablename__ = "merkle_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(_HASH))


class SealedKey(Base):
    """A private key or secret sealed with the sealing key (crypto.keystore), by purpose."""

    __tablename__ = "sealed_keys"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    blob: Mapped[bytes] = mapped_column(LargeBinary)


class RollEntry(Base):
    """One voter reference on an assembly's roll, as keyed hashes only."""

    __tablename__ = "roll_entries"

    assembly_id: Mapped[str] = mapped_column(String(_IDENTIFIER), primary_key=True)
    ref_hash: Mapped[bytes] = mapped_column(LargeBinary(_HASH), primary_key=True)
    """HMAC-SHA256(registrar secret, "ref" 0 assembly_id 0 ref)."""
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(_HASH), unique=True)
    """SHA-256 of the enrollment code."""


class Credential(Base):
    """The one blind signature issued for an enrollment code (kept for identical retries)."""

    __tablename__ = "credentials"

    assembly_id: Mapped[str] = mapped_column(String(_IDENTIFIER), primary_key=True)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(_HASH), primary_key=True)
    blinded_hash: Mapped[bytes] = mapped_column(LargeBinary(_HASH))
    blind_sig: Mapped[bytes] = mapped_column(LargeBinary)


class AssemblyCounter(Base):
    """The registrar's published counters, which survive a purge and never decrease."""

    __tablename__ = "assembly_counters"

    assembly_id: Mapped[str] = mapped_column(String(_IDENTIFIER), primary_key=True)
    roll_size: Mapped[int] = mapped_column(BigInteger, default=0)
    credentials_issued: Mapped[int] = mapped_column(BigInteger, default=0)
    purged: Mapped[bool] = mapped_column(Boolean, default=False)
    """Set by a purge: enrollment is over and the roll takes no new references."""


class LobbyApplication(Base):
    """A lobby's application, pending until the admin approves it onto the board."""

    __tablename__ = "lobby_applications"

    lobby_id: Mapped[str] = mapped_column(String(_IDENTIFIER), primary_key=True)
    lobby_key: Mapped[str] = mapped_column(String(64))
    """base64url of the Ed25519 public key, as in the records."""
    declaration: Mapped[str] = mapped_column(Text)
    """JCS text of the declaration."""
    sig: Mapped[str] = mapped_column(String(128))
    """base64url Ed25519 signature proving the applicant holds ``lobby_key``."""
    created_ms: Mapped[int] = mapped_column(BigInteger)
