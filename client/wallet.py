"""Sealed signer files: a citizen's wallet and a lobby's key file.

Each file is one JSON object sealed with a passphrase (:mod:`crypto.keystore`, Argon2id then an
AEAD; purpose ``"wallet"`` or ``"lobby-key"`` so one kind cannot be opened as the other). It holds
the Ed25519 seed, the last ``seq`` used, the authority key pinned at first contact, the receipts,
and the *pending* envelope: written before it is sent, so that a crash or a timeout is retried
with the identical bytes (DESIGN §10 "Retries") and never with a new ``seq`` for the same action.

Writes are atomic: a temporary file in the same directory, fsync, ``os.replace`` (``os.link`` on
creation, which never overwrites), then fsync of the directory; files are mode 0600.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, TypeVar

from client.errors import MalformedResponse, WalletError, WrongPassphrase
from client.models import Receipt
from crypto.ed25519 import SigningKey
from crypto.encoding import JSONValue, b64u_decode, b64u_encode, canonical_json, parse_json
from crypto.errors import CryptoError, UnsealError
from crypto.keystore import PassphraseKey

__all__ = [
    "KdfLimits",
    "LobbyKeyFile",
    "StoredReceipt",
    "Wallet",
    "read_sealed_json",
    "write_sealed_json",
]

_S = TypeVar("_S", bound="SealedSigner")


@dataclass(frozen=True, slots=True)
class KdfLimits:
    """Argon2id cost of sealing (``None``: the keystore's defaults). Tests use tiny ones."""

    opslimit: int | None = None
    memlimit: int | None = None


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _atomic_write(path: Path, data: bytes, *, create: bool) -> None:
    directory = path.parent
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        if create:
            os.link(temp, path)  # fails if the path exists: a wallet is never overwritten
            os.unlink(temp)
        else:
            os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    _fsync_directory(directory)


def _key_for(passphrase: bytes, limits: KdfLimits) -> PassphraseKey:
    if not passphrase:
        raise WalletError("the passphrase must not be empty")
    costs = {k: v for k, v in (("opslimit", limits.opslimit), ("memlimit", limits.memlimit))
             if v is not None}
    return PassphraseKey.derive(passphrase, **costs)


def _write_sealed(
    path: Path, key: PassphraseKey, value: Mapping[str, JSONValue], *, purpose: str, create: bool
) -> None:
    blob = key.seal(canonical_json(value), purpose=purpose)
    try:
        _atomic_write(path, blob, create=create)
    except FileExistsError as exc:
        raise WalletError(f"{path} already exists; refusing to overwrite it") from exc
    except OSError as exc:
        raise WalletError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _read_sealed(
    path: Path, passphrase: bytes, *, purpose: str
) -> tuple[dict[str, JSONValue], PassphraseKey]:
    if not passphrase:
        raise WalletError("the passphrase must not be empty")
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise WalletError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        key = PassphraseKey.for_sealed(passphrase, blob)
        plaintext = key.unseal(blob, purpose=purpose)
    except UnsealError as exc:
        raise WrongPassphrase(
            f"cannot open {path}: wrong passphrase, or not a {purpose} file"
        ) from exc
    except CryptoError as exc:
        raise WalletError(f"{path} is not a sealed {purpose} file: {exc}") from exc
    try:
        value = parse_json(plaintext)
    except CryptoError as exc:
        raise WalletError(f"{path} holds malformed content") from exc
    if not isinstance(value, dict):
        raise WalletError(f"{path} holds malformed content")
    return value, key


def write_sealed_json(
    path: str | os.PathLike[str],
    passphrase: bytes,
    value: Mapping[str, JSONValue],
    *,
    purpose: str,
    limits: KdfLimits = KdfLimits(),
    create: bool = False,
) -> None:
    """Seal ``value`` (canonical JSON) and write it atomically, mode 0600."""
    key = _key_for(passphrase, limits)
    _write_sealed(Path(path), key, value, purpose=purpose, create=create)


def read_sealed_json(
    path: str | os.PathLike[str], passphrase: bytes, *, purpose: str
) -> dict[str, JSONValue]:
    """Read and open a file written by :func:`write_sealed_json`."""
    return _read_sealed(Path(path), passphrase, purpose=purpose)[0]


@dataclass(frozen=True, slots=True)
class StoredReceipt:
    """A receipt kept with the envelope it acknowledges (so its leaf hash can be rechecked)."""

    envelope: Mapping[str, JSONValue]
    receipt: Receipt

    def to_json(self) -> dict[str, JSONValue]:
        return {"envelope": dict(self.envelope), "receipt": self.receipt.to_json()}

    @classmethod
    def from_json(cls, value: JSONValue) -> StoredReceipt:
        if not isinstance(value, dict) or not isinstance(value.get("envelope"), dict):
            raise WalletError("a stored receipt is malformed")
        envelope = value["envelope"]
        assert isinstance(envelope, dict)
        try:
            return cls(envelope, Receipt.from_json(value.get("receipt")))
        except MalformedResponse as exc:
            raise WalletError(f"a stored receipt is malformed: {exc}") from exc

    @property
    def record_type(self) -> str:
        record = self.envelope.get("record")
        kind = record.get("type") if isinstance(record, dict) else None
        return kind if isinstance(kind, str) else "?"


def _field(obj: Mapping[str, JSONValue], name: str, kind: type) -> JSONValue:
    value = obj.get(name)
    if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
        raise WalletError(f"the sealed file's {name!r} is missing or malformed")
    return value


class SealedSigner:
    """The state a signer keeps between runs; :meth:`save` seals it back to its file."""

    FORMAT: ClassVar[str]
    PURPOSE: ClassVar[str]

    def __init__(
        self, path: Path, sealer: PassphraseKey, limits: KdfLimits, key: SigningKey
    ) -> None:
        self.path = path
        # The key Argon2id derived once: every save seals with it (no new derivation, which
        # costs a second or more at the default cost), never with the passphrase itself.
        self._sealer = sealer
        self._limits = limits
        self.signing_key = key
        self.seq = 0
        self.authority_key: str | None = None
        self.pending: dict[str, JSONValue] | None = None
        self.receipts: list[StoredReceipt] = []

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={str(self.path)!r}, key={self.public_key!r})"

    @property
    def public_key(self) -> str:
        return self.signing_key.public_key_b64u

    def _extra_to_json(self) -> dict[str, JSONValue]:
        return {}

    def _extra_from_json(self, obj: Mapping[str, JSONValue]) -> None:
        del obj

    def to_json(self) -> dict[str, JSONValue]:
        kdf: dict[str, JSONValue] = {
            "opslimit": self._limits.opslimit, "memlimit": self._limits.memlimit
        }
        return {
            "format": self.FORMAT,
            "seed": b64u_encode(self.signing_key.seed()),
            "seq": self.seq,
            "authority_key": self.authority_key,
            "pending": self.pending,
            "receipts": [stored.to_json() for stored in self.receipts],
            "kdf": kdf,
            **self._extra_to_json(),
        }

    def save(self, *, create: bool = False) -> None:
        """Seal the state to its file, atomically."""
        _write_sealed(self.path, self._sealer, self.to_json(), purpose=self.PURPOSE, create=create)

    @classmethod
    def _load(cls: type[_S], path: str | os.PathLike[str], passphrase: bytes) -> _S:
        obj, sealer = _read_sealed(Path(path), passphrase, purpose=cls.PURPOSE)
        if obj.get("format") != cls.FORMAT:
            raise WalletError(f"{path} is not a {cls.FORMAT} file")
        try:
            seed = b64u_decode(obj.get("seed"), length=32, what="seed")
        except CryptoError as exc:
            raise WalletError("the sealed file's seed is malformed") from exc
        kdf = obj.get("kdf")
        ops = kdf.get("opslimit") if isinstance(kdf, dict) else None
        mem = kdf.get("memlimit") if isinstance(kdf, dict) else None
        limits = KdfLimits(
            ops if isinstance(ops, int) else None, mem if isinstance(mem, int) else None
        )
        state = cls(Path(path), sealer, limits, SigningKey(seed))
        seq = _field(obj, "seq", int)
        assert isinstance(seq, int)
        state.seq = seq
        authority = obj.get("authority_key")
        if authority is not None and not isinstance(authority, str):
            raise WalletError("the sealed file's authority key is malformed")
        state.authority_key = authority
        pending = obj.get("pending")
        if pending is not None and not isinstance(pending, dict):
            raise WalletError("the sealed file's pending envelope is malformed")
        state.pending = pending
        receipts = _field(obj, "receipts", list)
        assert isinstance(receipts, list)
        state.receipts = [StoredReceipt.from_json(item) for item in receipts]
        state._extra_from_json(obj)
        return state


class Wallet(SealedSigner):
    """A citizen's wallet for one assembly: the pseudonym and everything done with it."""

    FORMAT = "isegoria-wallet/1"
    PURPOSE = "wallet"

    assembly_id: str
    #: The blinding of an enrollment in progress (DESIGN §2 step 4 is retried with these bytes).
    enrollment: dict[str, JSONValue] | None = None

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        passphrase: bytes,
        assembly_id: str,
        *,
        limits: KdfLimits = KdfLimits(),
    ) -> Wallet:
        """Make a fresh pseudonym and seal it to a new file (never overwrites one)."""
        sealer = _key_for(passphrase, limits)
        wallet = cls(Path(path), sealer, limits, SigningKey.generate())
        wallet.assembly_id = assembly_id
        wallet.save(create=True)
        return wallet

    @classmethod
    def open(cls, path: str | os.PathLike[str], passphrase: bytes) -> Wallet:
        """Open an existing wallet; :class:`WrongPassphrase` if the passphrase is wrong."""
        return cls._load(path, passphrase)

    @property
    def pseudonym(self) -> str:
        """The pseudonym: the wallet's public Ed25519 key, base64url."""
        return self.public_key

    @property
    def enrolled(self) -> bool:
        """Whether the board acknowledged this wallet's ``pseudonym`` record."""
        return any(stored.record_type == "pseudonym" for stored in self.receipts)

    def _extra_to_json(self) -> dict[str, JSONValue]:
        return {"assembly_id": self.assembly_id, "enrollment": self.enrollment}

    def _extra_from_json(self, obj: Mapping[str, JSONValue]) -> None:
        assembly_id = _field(obj, "assembly_id", str)
        enrollment = obj.get("enrollment")
        if enrollment is not None and not isinstance(enrollment, dict):
            raise WalletError("the wallet's enrollment state is malformed")
        assert isinstance(assembly_id, str)
        self.assembly_id = assembly_id
        self.enrollment = enrollment


class LobbyKeyFile(SealedSigner):
    """A lobby's Ed25519 key, its identifier and its ``lobby_position`` counter."""

    FORMAT = "isegoria-lobby-key/1"
    PURPOSE = "lobby-key"

    lobby_id: str

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        passphrase: bytes,
        lobby_id: str,
        *,
        limits: KdfLimits = KdfLimits(),
    ) -> LobbyKeyFile:
        """Make a fresh lobby key and seal it to a new file (never overwrites one)."""
        sealer = _key_for(passphrase, limits)
        key_file = cls(Path(path), sealer, limits, SigningKey.generate())
        key_file.lobby_id = lobby_id
        key_file.save(create=True)
        return key_file

    @classmethod
    def open(cls, path: str | os.PathLike[str], passphrase: bytes) -> LobbyKeyFile:
        """Open an existing key file; :class:`WrongPassphrase` if the passphrase is wrong."""
        return cls._load(path, passphrase)

    def _extra_to_json(self) -> dict[str, JSONValue]:
        return {"lobby_id": self.lobby_id}

    def _extra_from_json(self, obj: Mapping[str, JSONValue]) -> None:
        lobby_id = _field(obj, "lobby_id", str)
        assert isinstance(lobby_id, str)
        self.lobby_id = lobby_id
