"""The board as the service runs it: one in-memory ``BoardState`` per process, kept in step
with the database, and the single write path that appends leaves.

The database is the only source of truth. Every process folds the stored leaves into its own
``BoardState`` (``audit.state``: the auditor's rules) and, before any write, takes the board lock
(``BoardStore.lock``: a PostgreSQL advisory lock, or SQLite's write lock), catches up with leaves
other processes appended, validates, appends and commits. A write that fails after the state
changed discards the state: the next request rebuilds it from the store.

Citizens' envelopes (``POST /v1/board``) take a shorter road: ``prepare`` parses them and checks
their signature in the request's own thread, then ``submit`` queues them for the board's writer
thread, which appends everything queued in one transaction (group commit: one lock, one catch-up,
two inserts and one commit for the whole batch) and answers each request through a future.

Lock order is fixed to avoid deadlocks: the process's thread lock first, then the database lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from audit import (
    BoardState,
    Conflict,
    Envelope,
    Forbidden,
    Malformed,
    RecordRefused,
    parse_envelope,
    plain_envelope,
    read_leaf,
    signature_ok,
)
from audit.records import AUTHORITY_TYPES
from crypto import merkle
from crypto.ed25519 import RECORD_DOMAIN, SigningKey, sign_object
from crypto.encoding import JSONValue, b64u_encode, canonical_json, parse_json
from crypto.errors import EncodingError
from service.keys import KeyRing
from service.store import AppendedLeaf, BoardStore, StagedLeaf, sth_signer

__all__ = ["Appended", "BoardService", "Clock", "Posted", "Submission"]

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


@dataclass(frozen=True, slots=True)
class Submission:
    """A ``POST /v1/board`` body, parsed and its signature checked: ready for the writer."""

    envelope: Envelope
    leaf: bytes
    """The envelope's JCS bytes: what the board stores."""
    leaf_hash: bytes
    signature_valid: bool
    refusal: RecordRefused | None = None
    """Refused unless it is a retry of a leaf already on the board (authority records)."""


@dataclass(frozen=True, slots=True)
class Posted:
    """What became of a submission: its receipt, and whether its leaf is new (not a retry)."""

    receipt: dict[str, JSONValue]
    created: bool


@dataclass(slots=True)
class _Job:
    """A submission waiting for the writer, and the future its request awaits."""

    submission: Submission
    future: Future[Posted] = field(default_factory=Future)


class _Writer:
    """The thread that appends queued jobs, a batch at a time: started when a job arrives,
    gone after ``idle_seconds`` without one (so an idle or discarded service holds none)."""

    def __init__(
        self, run: Callable[[list[_Job]], None], *, max_batch: int, idle_seconds: float
    ) -> None:
        self._run = run
        self._max_batch = max_batch
        self._idle_seconds = idle_seconds
        self._ready = threading.Condition()
        self._queue: list[_Job] = []
        self._running = False

    def put(self, job: _Job) -> None:
        with self._ready:
            self._queue.append(job)
            if self._running:
                self._ready.notify()
                return
            self._running = True
        threading.Thread(target=self._loop, name="isegoria-board-writer", daemon=True).start()

    def _loop(self) -> None:
        try:
            while True:
                with self._ready:
                    if not self._queue:
                        self._ready.wait(self._idle_seconds)
                    if not self._queue:
                        self._running = False
                        return
                    jobs = self._queue[: self._max_batch]
                    del self._queue[: self._max_batch]
                self._run(jobs)  # answers every job, even when it raises
        except BaseException:
            with self._ready:
                self._running = False  # so that the next job starts a writer again
            raise


class BoardService:
    """Validation, append and reads of the board for one process."""

    def __init__(
        self,
        store: BoardStore,
        keyring: KeyRing,
        write_sessions: sessionmaker[Session],
        clock: Clock = wall_clock_ms,
        *,
        max_open_initiatives: int | None = None,
        max_batch: int = 256,
    ) -> None:
        self.store = store
        self.keyring = keyring
        self._write_sessions = write_sessions
        self._clock = clock
        self._max_open_initiatives = max_open_initiatives
        self._writer = _Writer(self._run_batch, max_batch=max_batch, idle_seconds=5.0)
        self._lock = threading.RLock()
        # The fold of the board so far and, in step with it, the tree's right edge (so an
        # append reads nothing back) and the last tree head's timestamp. Reset together.
        self._state: BoardState | None = None
        self._edge = merkle.RootAccumulator()
        self._last_timestamp = 0
        # Leaves appended in the open transaction, inserted together before it reads or ends.
        self._staged: list[StagedLeaf] = []

    # -- state ------------------------------------------------------------------------------

    def _forget(self) -> None:
        self._state = None
        self._edge = merkle.RootAccumulator()
        self._last_timestamp = 0
        self._staged.clear()

    def _catch_up(self, session: Session, size: int | None = None) -> BoardState:
        state = self._state
        if state is None:
            state = BoardState(initiative_policy=self._check_policy)
            self._edge = merkle.RootAccumulator()
        if size is None:
            size = self.store.size(session)
        if state.size < size:
            for leaf in self.store.leaves(session, state.size, size):
                state.apply(read_leaf(leaf), trusted=True)
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
                self._flush(session)
                session.commit()
            except BaseException:
                session.rollback()
                # The state may hold records the rolled-back transaction never stored.
                self._forget()
                raise

    # -- writes -----------------------------------------------------------------------------

    def _append(
        self, session: Session, state: BoardState, envelope: Envelope, leaf: bytes | None = None
    ) -> AppendedLeaf:
        """Append one validated envelope (``leaf``: its JCS bytes, when known), then every
        record the board requires after it."""
        first = self._store(session, envelope, leaf)
        while (required := state.required_next()) is not None:
            follow = self._sign(session, required)
            state.apply(follow, trusted=True)
            self._store(session, follow)
        return first

    def _store(
        self, session: Session, envelope: Envelope, leaf: bytes | None = None
    ) -> AppendedLeaf:
        staged = self.store.stage(
            envelope.leaf_bytes() if leaf is None else leaf,
            edge=self._edge,
            # Tree heads never go back in time, even when the clock does.
            timestamp=max(self._clock(), self._last_timestamp),
            sign_sth=sth_signer(self.keyring.authority(session)),
            record_type=envelope.record.type,
        )
        self._staged.append(staged)
        self._last_timestamp = staged.appended.head.timestamp
        return staged.appended

    def _flush(self, session: Session) -> None:
        """Insert the staged leaves: before the transaction reads the board, or commits."""
        if self._staged:
            self.store.write(session, self._staged)
            self._staged.clear()

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

    def prepare(self, body: bytes) -> Submission:
        """Parse a ``POST /v1/board`` body and check its signature: no state, no database.

        Raises ``Malformed`` (400) or ``Forbidden`` (403) for what can never be a retry of a
        leaf on the board (every leaf parses and verifies); other refusals wait for the state.
        """
        envelope = plain_envelope(body)
        if envelope is not None:  # the usual ballot or delegation, sent in its canonical form
            leaf = body
        else:
            try:
                obj = parse_json(body)
                leaf = canonical_json(obj)
            except EncodingError as exc:
                raise Malformed(str(exc)) from exc
            envelope = parse_envelope(obj)
        valid = signature_ok(envelope)
        refusal: RecordRefused | None = None
        if envelope.record.type in AUTHORITY_TYPES:
            if not valid:
                raise Forbidden("the envelope's signature does not verify")
            refusal = Forbidden("authority records are appended by the service itself")
        return Submission(envelope, leaf, merkle.leaf_hash(leaf), valid, refusal)

    def submit(self, submission: Submission) -> Future[Posted]:
        """Queue a prepared envelope for the writer; the future holds its receipt, or the
        ``RecordRefused`` (4xx) or other error that stopped it."""
        job = _Job(submission)
        self._writer.put(job)
        return job.future

    def _run_batch(self, jobs: list[_Job]) -> None:
        """Append a batch of jobs in one transaction, then answer each (in the writer)."""
        outcomes: list[Posted | RecordRefused] = []
        try:
            with self._write_sessions() as session, self.writing(session) as state:
                outcomes.extend(self._run_job(session, state, job.submission) for job in jobs)
        except BaseException as exc:
            # Rolled back: even the refusals were decided on records that are now gone.
            for job in jobs:
                job.future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for job, outcome in zip(jobs, outcomes, strict=True):
            if isinstance(outcome, Posted):
                job.future.set_result(outcome)
            else:
                job.future.set_exception(outcome)

    def _run_job(
        self, session: Session, state: BoardState, submission: Submission
    ) -> Posted | RecordRefused:
        envelope = submission.envelope
        try:
            if submission.refusal is not None:
                raise submission.refusal
            state.apply(envelope, signature_valid=submission.signature_valid)
        except RecordRefused as exc:
            # No record can be applied twice (seq, keys): an envelope already on the board,
            # sent again, is refused by the rules and found here. Answer it as the retry it is.
            self._flush(session)
            found = self.store.find(session, submission.leaf_hash)
            if found is None:
                return exc
            retry = Appended(found, False, envelope.to_json())
            return Posted(self.receipt(session, retry), created=False)
        first = self._append(session, state, envelope, submission.leaf)
        if self._edge.size == first.index + 1:
            posted = Appended(first.index, True, envelope.to_json(), first)
            return Posted(self.receipt(session, posted), created=True)
        # It owed the next leaf (a support that admits its initiative): the receipt's tree head
        # is the one after it, read back as a retry's is, so the two are the same bytes.
        self._flush(session)
        owing = Appended(first.index, True, envelope.to_json())
        return Posted(self.receipt(session, owing), created=True)

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
        """The receipt of a leaf: with the tree head of size ``index + 1``, or of the size
        after the records its append owed (docs/PROTOCOL.md §5.4.3), so that no receipt holds a
        tree head of a board that owes a record; identical byte for byte whether built at the
        append (``appended.leaf``, when nothing was owed) or read back for a retry."""
        index = appended.index
        new = appended.leaf
        if new is None:
            leaf_hash = merkle.leaf_hash(self.store.leaf(session, index))
            size = self.store.receipt_size(session, index)
            head = self.store.tree_head(session, size)
            proof = self.store.inclusion_proof(session, index, size)
        else:
            leaf_hash, head, proof = new.leaf_hash, new.head, new.inclusion_proof
        authority = self.keyring.authority(session)
        return {
            "index": index,
            "leaf_hash": b64u_encode(leaf_hash),
            "sth": {**head.to_json(), "authority_key": authority.public_key_b64u},
            "inclusion_proof": [b64u_encode(node) for node in proof],
        }
