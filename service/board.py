"""The board as the service runs it: one in-memory ``BoardState`` per process, kept in step
with the database, and the single write path that appends leaves.

The database is the only source of truth. Every process folds the stored leaves into its own
``BoardState`` (``audit.state``: the auditor's rules) and, before any write, takes the board lock
(``BoardStore.lock``: a PostgreSQL advisory lock, or SQLite's write lock), catches up with leaves
other processes appended, validates, appends and commits. A write that fails after the state
changed discards the state: the next request rebuilds it from the store.

Lock order is fixed to avoid deadlocks: the process's thread lock first, then the database lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.orm import Session

from audit import (
    BoardState,
    Conflict,
    Envelope,
    Forbidden,
    Malformed,
    RecordRefused,
    parse_envelope,
    signature_ok,
)
from audit.records import AUTHORITY_TYPES
from crypto import merkle
from crypto.ed25519 import RECORD_DOMAIN, SigningKey, sign_object
from crypto.encoding import JSONValue, b64u_encode, canonical_json, parse_json
from crypto.errors import EncodingError
from service.keys import KeyRing
from service.store import AppendedLeaf, BoardStore, sth_signer

__all__ = ["Appended", "BoardService", "Clock"]

Clock = Callable[[], int]


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Appended:
    """The result of a write: the first new leaf's index, whether it is new (not a retry),
    and, for a new leaf, what its receipt needs (so the receipt costs no further query)."""

    index: int
    created: bool
    envelope: dict[str, JSONValue]
    leaf: AppendedLeaf | None = None


@dataclass(slots=True)
class _Job:
    """One envelope waiting for the next group commit, and what became of it."""

    envelope: Envelope
    leaf_hash: bytes
    valid: bool
    result: Appended | None = None
    error: BaseException | None = None

    @property
    def finished(self) -> bool:
        return self.result is not None or self.error is not None


class BoardService:
    """Validation, append and reads of the board for one process."""

    def __init__(
        self,
        store: BoardStore,
        keyring: KeyRing,
        clock: Clock = wall_clock_ms,
        *,
        max_open_initiatives: int | None = None,
    ) -> None:
        self.store = store
        self.keyring = keyring
        self._clock = clock
        self._max_open_initiatives = max_open_initiatives
        self._queue: list[_Job] = []
        self._queue_lock = threading.Lock()
        self._lock = threading.RLock()
        # The fold of the board so far and, in step with it, the tree's right edge (so an
        # append reads nothing back) and the last tree head's timestamp. Reset together.
        self._state: BoardState | None = None
        self._edge = merkle.RootAccumulator()
        self._last_timestamp = 0

    # -- state ------------------------------------------------------------------------------

    def _forget(self) -> None:
        self._state = None
        self._edge = merkle.RootAccumulator()
        self._last_timestamp = 0

    def _catch_up(self, session: Session, size: int | None = None) -> BoardState:
        state = self._state
        if state is None:
            state = BoardState(initiative_policy=self._check_policy)
            self._edge = merkle.RootAccumulator()
        if size is None:
            size = self.store.size(session)
        if state.size < size:
            for leaf in self.store.leaves(session, state.size, size):
                state.apply(parse_envelope(parse_json(leaf)), trusted=True)
                self._edge.append(leaf)
        self._state = state
        return state

    @contextmanager
    def reading(self, session: Session) -> Iterator[BoardState]:
        """The board's state, caught up with the store, for a read."""
        with self._lock:
            yield self._catch_up(session)

    @contextmanager
    def writing(self, session: Session) -> Iterator[BoardState]:
        """The caught-up state under the board lock, committed when the block ends.

        The commit happens inside the process's lock, so no other thread sees records that
        a failed commit would take back; on any failure the state is discarded.
        """
        with self._lock:
            try:
                self.store.lock(session)
                size, self._last_timestamp = self.store.last(session)
                state = self._catch_up(session, size)
                yield state
                session.commit()
            except BaseException:
                session.rollback()
                # The state may hold records the rolled-back transaction never stored.
                self._forget()
                raise

    # -- writes -----------------------------------------------------------------------------

    def _append(self, session: Session, state: BoardState, envelope: Envelope) -> AppendedLeaf:
        """Append one validated envelope, then every record the board requires after it."""
        first = self._store(session, envelope)
        while (required := state.required_next()) is not None:
            follow = self._sign(session, required)
            state.apply(follow, trusted=True)
            self._store(session, follow)
        return first

    def _store(self, session: Session, envelope: Envelope) -> AppendedLeaf:
        edge = self._edge
        appended = self.store.append_at(
            session,
            envelope.leaf_bytes(),
            index=edge.size,
            edge=edge.nodes(),
            # Tree heads never go back in time, even when the clock does.
            timestamp=max(self._clock(), self._last_timestamp),
            sign_sth=sth_signer(self.keyring.authority(session)),
            record_type=envelope.record.type,
        )
        edge.append_hash(appended.leaf_hash)
        self._last_timestamp = appended.head.timestamp
        return appended

    def _sign(self, session: Session, record: dict[str, JSONValue]) -> Envelope:
        key: SigningKey = self.keyring.authority(session)
        envelope = {
            "record": record,
            "signer": key.public_key_b64u,
            "sig": sign_object(key, RECORD_DOMAIN, record),
        }
        return parse_envelope(envelope)

    def ensure_genesis(self, session: Session) -> None:
        """Write leaf 0 at first start: the genesis record, under a new sealed authority key."""
        with self.writing(session) as state:
            if state.size:
                return
            key = self.keyring.authority(session)
            record: dict[str, JSONValue] = {
                "type": "genesis",
                "protocol": "isegoria/v1",
                "authority_key": key.public_key_b64u,
            }
            genesis = self._sign(session, record)
            state.apply(genesis, trusted=True)
            self._store(session, genesis)

    def submit(self, session: Session, body: bytes) -> Appended:
        """``POST /v1/board``: a signer's envelope. Retries of an identical envelope are found
        before any other check and answered with the original leaf."""
        try:
            obj = parse_json(body)
            leaf = canonical_json(obj)
        except EncodingError as exc:
            raise Malformed(str(exc)) from exc
        found = self.store.find(session, merkle.leaf_hash(leaf))
        if found is not None:
            return Appended(found, False, obj)  # type: ignore[arg-type]
        envelope = parse_envelope(obj)
        valid = signature_ok(envelope)  # the costly check, outside the lock
        if envelope.record.type in AUTHORITY_TYPES:
            if not valid:
                raise Forbidden("the envelope's signature does not verify")
            raise Forbidden("authority records are appended by the service itself")
        job = _Job(envelope, merkle.leaf_hash(leaf), valid)
        with self._queue_lock:
            self._queue.append(job)
        with self._lock:
            if not job.finished:
                # Whoever holds the lock appends every queued envelope in one transaction
                # (group commit): under load, one lock, catch-up and commit serve many.
                self._run_batch(session)
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result

    def _run_batch(self, session: Session) -> None:
        with self._queue_lock:
            jobs, self._queue = self._queue, []
        try:
            with self.writing(session) as state:
                for job in jobs:
                    self._run_job(session, state, job)
        except BaseException as exc:
            for job in jobs:
                if job.result is not None and job.result.created:
                    job.result = None  # rolled back with the batch
                if job.result is None:
                    job.error = exc
            raise

    def _run_job(self, session: Session, state: BoardState, job: _Job) -> None:
        envelope = job.envelope
        try:
            state.apply(envelope, signature_valid=job.valid)
        except RecordRefused as exc:
            # No record can be applied twice (seq, keys), so an identical envelope that won
            # a race while it waited is refused here: answer it as the retry it is.
            found = self.store.find(session, job.leaf_hash)
            if found is not None:
                job.result = Appended(found, False, envelope.to_json())
            else:
                job.error = exc
            return
        first = self._append(session, state, envelope)
        job.result = Appended(first.index, True, envelope.to_json(), first)

    def _check_policy(self, state: BoardState, envelope: Envelope) -> None:
        """Server policy, not a board rule: a pseudonym's initiatives not yet admitted, per
        topic, are bounded. The fold consults it once the board's own rules have accepted an
        initiative and before it records it, so their refusals come first."""
        record = envelope.record
        limit = self._max_open_initiatives
        if limit is None:
            return
        topic, assembly = record.get("topic_id"), record.get("assembly_id")
        open_ones = sum(
            1
            for initiative in state.initiatives.values()
            if initiative.pseudonym == envelope.signer
            and initiative.topic_id == topic
            and initiative.assembly_id == assembly
            and initiative.admitted_index is None
        )
        if open_ones >= limit:
            raise Conflict(f"a pseudonym may have at most {limit} open initiatives per topic")

    def append_authority(
        self, session: Session, state: BoardState, record: dict[str, JSONValue]
    ) -> Appended:
        """Sign and append an authority record (inside ``writing``); returns its index."""
        envelope = self._sign(session, record)
        state.apply(envelope, trusted=True)
        first = self._append(session, state, envelope)
        return Appended(first.index, True, envelope.to_json(), first)

    # -- receipts ---------------------------------------------------------------------------

    def tree_head(self, session: Session, size: int | None = None) -> dict[str, JSONValue]:
        """The signed tree head of ``size`` (default: the current size), as the API shows it."""
        if size is None:
            size = self.store.size(session)
        head = self.store.tree_head(session, size)
        authority = self.keyring.authority(session)
        return {**head.to_json(), "authority_key": authority.public_key_b64u}

    def receipt(self, session: Session, appended: Appended) -> dict[str, JSONValue]:
        """The receipt of a leaf: always with the tree head of size ``index + 1``, identical
        byte for byte whether built at the append or read back for a retry."""
        new = appended.leaf
        if new is None:
            index = appended.index
            leaf_hash = merkle.leaf_hash(self.store.leaf(session, index))
            head = self.store.tree_head(session, index + 1)
            proof = self.store.inclusion_proof(session, index, index + 1)
        else:
            leaf_hash, head, proof = new.leaf_hash, new.head, new.inclusion_proof
        authority = self.keyring.authority(session)
        return {
            "index": head.tree_size - 1,
            "leaf_hash": b64u_encode(leaf_hash),
            "sth": {**head.to_json(), "authority_key": authority.public_key_b64u},
            "inclusion_proof": [b64u_encode(node) for node in proof],
        }
