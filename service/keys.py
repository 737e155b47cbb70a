"""The service's private keys, sealed (crypto.keystore) in the ``sealed_keys`` table.

=========================== ==================== =================================================
name (= sealing purpose)    what                 created
=========================== ==================== =================================================
``authority``               Ed25519 seed         on first use
``issuer:<assembly_id>``    RFC 9474 issuer key  with the assembly (:meth:`KeyRing.create_issuer`)
``registrar``               32 random bytes      on first use (HMAC key of the enrollment codes)
=========================== ==================== =================================================

The purpose is bound into each seal, so a blob copied under another name does not open. Unsealed
keys are cached per process, but only once committed: a key created in a transaction that then
rolls back must not outlive it (another process would create a different one). Use one KeyRing
per process. Nothing here logs or shows a secret.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from crypto.blind_rsa import PrivateKey
from crypto.ed25519 import SigningKey
from crypto.keystore import SealingKey, seal, unseal
from service.db import insert_ignoring_conflicts
from service.errors import DuplicateKey, MissingKey
from service.models import SealedKey

__all__ = ["AUTHORITY", "REGISTRAR", "KeyRing", "issuer_name"]

AUTHORITY = "authority"
REGISTRAR = "registrar"
_REGISTRAR_SECRET_SIZE = 32
_DEFAULT_ISSUER_BITS = 3072
# session.info entry: {id(KeyRing): _Uncommitted}.
_STATE = "isegoria.keyring"

_T = TypeVar("_T")


def issuer_name(assembly_id: str) -> str:
    """The sealed key name (and sealing purpose) of an assembly's issuer key."""
    return f"issuer:{assembly_id}"


class KeyRing:
    """Reads, creates and caches the sealed keys; every method runs in the caller's transaction."""

    def __init__(self, sealing_key: SealingKey) -> None:
        self._sealing_key = sealing_key
        self._lock = threading.Lock()
        self._cache: dict[str, object] = {}

    def __repr__(self) -> str:
        return "KeyRing(<sealed>)"

    def authority(self, session: Session) -> SigningKey:
        """The authority's Ed25519 key, created on first use."""
        return self._get(
            session, AUTHORITY, SigningKey, SigningKey, lambda: SigningKey.generate().seed()
        )

    def registrar_secret(self, session: Session) -> bytes:
        """The registrar's 32-byte HMAC key, created on first use."""
        return self._get(
            session,
            REGISTRAR,
            bytes,
            bytes,
            lambda: secrets.token_bytes(_REGISTRAR_SECRET_SIZE),
        )

    def issuer(self, session: Session, assembly_id: str) -> PrivateKey:
        """The assembly's issuer key; MissingKey if the assembly has none."""
        return self._get(session, issuer_name(assembly_id), PrivateKey, PrivateKey.from_bytes, None)

    def create_issuer(
        self, session: Session, assembly_id: str, bits: int = _DEFAULT_ISSUER_BITS
    ) -> PrivateKey:
        """Generate and store the assembly's issuer key; DuplicateKey if it has one."""
        key = PrivateKey.generate(bits)
        self.store_issuer(session, assembly_id, key)
        return key

    def store_issuer(self, session: Session, assembly_id: str, key: PrivateKey) -> None:
        """Store an issuer key generated elsewhere (e.g. before taking the board lock)."""
        name = issuer_name(assembly_id)
        if not self._insert(session, name, key.to_bytes()):
            raise DuplicateKey(f"assembly {assembly_id!r} already has an issuer key")
        self._state(session).values[name] = key

    # --- internals -----------------------------------------------------------------------

    def _get(
        self,
        session: Session,
        name: str,
        kind: type[_T],
        parse: Callable[[bytes], _T],
        generate: Callable[[], bytes] | None,
    ) -> _T:
        with self._lock:
            cached = self._cache.get(name)
        state = self._state(session)
        if cached is None:
            cached = state.values.get(name)
        if cached is not None:
            assert isinstance(cached, kind)
            return cached
        blob = session.scalar(select(SealedKey.blob).where(SealedKey.name == name))
        if blob is None:
            if generate is None:
                raise MissingKey(f"no key named {name!r}")
            secret = generate()
            if self._insert(session, name, secret):
                value = parse(secret)
                state.values[name] = value
                return value
            # Another process created it first: use theirs.
            blob = session.scalar(select(SealedKey.blob).where(SealedKey.name == name))
            assert blob is not None
        value = parse(unseal(self._sealing_key, blob, purpose=name))
        if name in state.created:
            state.values[name] = value
        else:
            with self._lock:
                self._cache[name] = value
        return value

    def _insert(self, session: Session, name: str, secret: bytes) -> bool:
        blob = seal(self._sealing_key, secret, purpose=name)
        inserted = session.execute(
            insert_ignoring_conflicts(session, SealedKey)
            .values(name=name, blob=blob)
            .returning(SealedKey.name)
        ).first()
        if inserted is not None:
            self._state(session).created.add(name)
        return inserted is not None

    def _state(self, session: Session) -> _Uncommitted:
        states = session.info.setdefault(_STATE, {})
        state = states.get(id(self))
        if state is None:
            state = states[id(self)] = _Uncommitted()
            event.listen(session, "after_commit", self._committed)
            event.listen(session, "after_soft_rollback", self._rolled_back)
        assert isinstance(state, _Uncommitted)
        return state

    def _committed(self, session: Session) -> None:
        state = self._state(session)
        with self._lock:
            self._cache.update(state.values)
        state.values.clear()
        state.created.clear()

    def _rolled_back(self, session: Session, previous_transaction: SessionTransaction) -> None:
        # Any rollback may have removed a key created since: forget what is not yet cached.
        state = self._state(session)
        state.values.clear()
        if not previous_transaction.nested:
            state.created.clear()


@dataclass
class _Uncommitted:
    """A session's keys that are not known to be committed yet."""

    created: set[str] = field(default_factory=set)
    """Names this KeyRing inserted in the session's open transaction."""
    values: dict[str, object] = field(default_factory=dict)
    """Keys created or read in that transaction: cached when it commits, dropped on rollback."""
