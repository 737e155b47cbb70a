"""Service settings, read from the environment once at start-up (never at import).

=========================================== =====================================================
``ISEGORIA_ADMIN_TOKEN``                    required, at least 16 characters
``ISEGORIA_DATABASE_URL``                   default ``sqlite:///./isegoria.db``; ``postgresql://``
                                            URLs use psycopg 3
``ISEGORIA_SEALING_KEY``                    the key that seals stored private keys: base64url of
                                            32 bytes
``ISEGORIA_SEALING_KEY_FILE``               or a file holding those 32 raw bytes or their base64url
``ISEGORIA_CREDENTIAL_FAILURES_PER_MINUTE`` failed enrollment codes allowed per client (10)
``ISEGORIA_MAX_OPEN_INITIATIVES_PER_TOPIC`` open initiatives per topic (3)
=========================================== =====================================================

Without a sealing key, a SQLite deployment (development) keeps one in ``<database>.sealing-key``,
created with mode 0600, and warns; a PostgreSQL deployment refuses to start, because its keys
would otherwise sit beside the database they protect without anyone having chosen to.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import EncodingError
from crypto.keystore import SealingKey
from service.db import normalize_database_url
from service.errors import ConfigurationError

__all__ = ["DEFAULT_DATABASE_URL", "MIN_ADMIN_TOKEN_LENGTH", "Settings"]

DEFAULT_DATABASE_URL = "sqlite:///./isegoria.db"
MIN_ADMIN_TOKEN_LENGTH = 16
_SEALING_KEY_SIZE = 32
_KEY_FILE_SUFFIX = ".sealing-key"

_log = logging.getLogger(__name__)
# Paths already warned about: the development key file is announced once per process.
_warned: set[str] = set()


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _positive(environ: Mapping[str, str], name: str, default: int) -> int:
    text = environ.get(name)
    if text is None:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ConfigurationError(f"{name} must be a positive integer")
    return int(text)


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment; secrets stay out of ``repr``."""

    admin_token: str = field(repr=False)
    database_url: str = DEFAULT_DATABASE_URL
    sealing_key: bytes | None = field(default=None, repr=False)
    sealing_key_file: str | None = None
    credential_failures_per_minute: int = 10
    max_open_initiatives_per_topic: int = 3

    def __post_init__(self) -> None:
        if len(self.admin_token) < MIN_ADMIN_TOKEN_LENGTH:
            raise ConfigurationError(
                f"the admin token must have at least {MIN_ADMIN_TOKEN_LENGTH} characters"
            )
        object.__setattr__(self, "database_url", normalize_database_url(self.database_url))
        if self.sealing_key is not None and self.sealing_key_file is not None:
            raise ConfigurationError(
                "give ISEGORIA_SEALING_KEY or ISEGORIA_SEALING_KEY_FILE, not both"
            )
        if self.sealing_key is not None and len(self.sealing_key) != _SEALING_KEY_SIZE:
            raise ConfigurationError(f"the sealing key must be {_SEALING_KEY_SIZE} bytes")
        if (
            self.sealing_key is None
            and self.sealing_key_file is None
            and not _is_sqlite(self.database_url)
        ):
            raise ConfigurationError(
                "a PostgreSQL deployment needs ISEGORIA_SEALING_KEY or ISEGORIA_SEALING_KEY_FILE"
            )
        if self.credential_failures_per_minute < 1 or self.max_open_initiatives_per_topic < 1:
            raise ConfigurationError("limits must be positive integers")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read the settings from ``environ`` (pass ``os.environ``); raise ConfigurationError."""
        token = environ.get("ISEGORIA_ADMIN_TOKEN")
        if not token:
            raise ConfigurationError(
                "ISEGORIA_ADMIN_TOKEN is not set: the server refuses to start without it"
            )
        if len(token) < MIN_ADMIN_TOKEN_LENGTH:
            raise ConfigurationError(
                f"ISEGORIA_ADMIN_TOKEN must have at least {MIN_ADMIN_TOKEN_LENGTH} characters"
            )
        key_text = environ.get("ISEGORIA_SEALING_KEY")
        key: bytes | None = None
        if key_text is not None:
            try:
                key = b64u_decode(key_text, length=_SEALING_KEY_SIZE, what="sealing key")
            except EncodingError:
                # The message never repeats the value: it is a secret.
                raise ConfigurationError(
                    "ISEGORIA_SEALING_KEY must be the base64url of 32 bytes"
                ) from None
        return cls(
            admin_token=token,
            database_url=environ.get("ISEGORIA_DATABASE_URL", DEFAULT_DATABASE_URL),
            sealing_key=key,
            sealing_key_file=environ.get("ISEGORIA_SEALING_KEY_FILE") or None,
            credential_failures_per_minute=_positive(
                environ, "ISEGORIA_CREDENTIAL_FAILURES_PER_MINUTE", 10
            ),
            max_open_initiatives_per_topic=_positive(
                environ, "ISEGORIA_MAX_OPEN_INITIATIVES_PER_TOPIC", 3
            ),
        )

    def load_sealing_key(self) -> SealingKey:
        """Return the sealing key, reading (or, for SQLite only, creating) its file."""
        if self.sealing_key is not None:
            return SealingKey.from_bytes(self.sealing_key)
        if self.sealing_key_file is not None:
            path = Path(self.sealing_key_file)
            if not path.is_file():
                raise ConfigurationError(f"ISEGORIA_SEALING_KEY_FILE {path} does not exist")
            return SealingKey.from_bytes(_read_key_file(path))
        database = make_url(self.database_url).database
        if not database or database == ":memory:" or database.startswith("file::memory:"):
            _log.warning("in-memory database: using a throwaway sealing key")
            return SealingKey.from_bytes(secrets.token_bytes(_SEALING_KEY_SIZE))
        path = Path(database + _KEY_FILE_SUFFIX)
        if str(path) not in _warned:
            _warned.add(str(path))
            _log.warning(
                "no ISEGORIA_SEALING_KEY: keeping the sealing key in %s (development only)", path
            )
        if not path.exists():
            _create_key_file(path)
        return SealingKey.from_bytes(_read_key_file(path))


def _read_key_file(path: Path) -> bytes:
    data = path.read_bytes()
    if os.stat(path).st_mode & 0o077:
        _log.warning("the sealing key file %s is readable by other users", path)
    if len(data) == _SEALING_KEY_SIZE:
        return data
    try:
        return b64u_decode(data.decode("ascii").strip(), length=_SEALING_KEY_SIZE)
    except (UnicodeDecodeError, EncodingError):
        raise ConfigurationError(
            f"{path} must hold 32 raw bytes or their base64url"
        ) from None


def _create_key_file(path: Path) -> None:
    """Write a fresh key atomically (mode 0600); if another process won the race, keep theirs."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    try:
        with os.fdopen(fd, "wb") as file:
            # base64url text, so that the key can be moved into ISEGORIA_SEALING_KEY as it is.
            file.write((b64u_encode(secrets.token_bytes(_SEALING_KEY_SIZE)) + "\n").encode())
            file.flush()
            os.fsync(file.fileno())
        # link() fails if the file exists: another process's key is kept, never overwritten.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
