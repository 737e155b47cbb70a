"""The registrar: enrollment codes and RFC 9474 blind-signature credentials (docs/PROTOCOL.md §2).

Enrollment codes are derived, never drawn and never stored, from the registrar's 32-byte secret
(service.keys), with these domain-separation prefixes:

* ``code = b64u(HMAC-SHA256(secret, CODE_DOMAIN ‖ assembly_id ‖ 0 ‖ ref)[:18])``: 24
  characters, 144 bits, so a ref already on the roll gets its own code back;
* ``ref_hash = HMAC-SHA256(secret, REF_DOMAIN ‖ assembly_id ‖ 0 ‖ ref)`` and
  ``code_hash = SHA-256(code)`` are all the roll keeps: no ref, no code in the database.

An enrollment code yields at most one blind signature per assembly: the identical blinded message
again gets the stored signature back, any other is refused (CodeUsed). Parallel first requests
race on the credentials primary key (``INSERT … ON CONFLICT DO NOTHING``); the loser reads the
winner's row. The counters
``roll_size`` and ``credentials_issued`` are published on the board and never decrease: a purge
deletes the roll and the credentials but keeps them, and closes enrollment for good (re-adding a
ref would revive a code whose credential was already issued). Every write needs a write session
(service.db); on any error the caller rolls back.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from sqlalchemy import Insert, Update, and_, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session

from crypto.encoding import b64u_encode
from service.db import insert_ignoring_conflicts, require_write, table_of
from service.errors import (
    CodeUsed,
    EnrollmentClosed,
    InvalidBlindedMessage,
    InvalidRoll,
    RateLimited,
    Unauthorized,
)
from service.keys import KeyRing
from service.models import AssemblyCounter, Credential, RollEntry

__all__ = [
    "CODE_DOMAIN",
    "CODE_LENGTH",
    "MAX_REFS",
    "MAX_REF_LENGTH",
    "REF_DOMAIN",
    "FailureLimiter",
    "Registrar",
]

CODE_DOMAIN = b"code\x00"
REF_DOMAIN = b"ref\x00"
#: Characters of an enrollment code: 18 bytes of HMAC output, 144 bits.
CODE_LENGTH = 24
MAX_REF_LENGTH = 200
MAX_REFS = 10_000
_CODE_BYTES = 18

# Statements of the credential path are built once (building one costs more than running it).
# The code's roll entry and, if one was issued, its credential: one round trip.
_LOOKUP = (
    select(RollEntry.ref_hash, Credential.blinded_hash, Credential.blind_sig)
    .outerjoin(
        Credential,
        and_(
            Credential.assembly_id == RollEntry.assembly_id,
            Credential.code_hash == RollEntry.code_hash,
        ),
    )
    .where(
        RollEntry.assembly_id == bindparam("assembly_id"),
        RollEntry.code_hash == bindparam("code_hash"),
    )
)
_INSERT_CREDENTIAL: dict[str, Insert] = {
    dialect.dialect.name: dialect.insert(table_of(Credential))
    .on_conflict_do_nothing()
    .returning(Credential.code_hash)
    for dialect in (postgresql, sqlite)
}
_COUNTERS = table_of(AssemblyCounter)
# Core updates of the table, not the ORM's: no session objects to synchronise.
_BUMP: dict[str, Update] = {
    name: update(_COUNTERS)
    .where(
        _COUNTERS.c.assembly_id == bindparam("assembly"), _COUNTERS.c.purged.is_(False)
    )
    .values({name: _COUNTERS.c[name] + bindparam("amount")})
    .returning(_COUNTERS.c.assembly_id)
    for name in ("roll_size", "credentials_issued")
}
_ISSUED = select(Credential.blinded_hash, Credential.blind_sig).where(
    Credential.assembly_id == bindparam("assembly_id"),
    Credential.code_hash == bindparam("code_hash"),
)


def _mac(secret: bytes, domain: bytes, assembly_id: str, ref: str) -> bytes:
    message = domain + assembly_id.encode() + b"\x00" + ref.encode()
    return hmac.new(secret, message, hashlib.sha256).digest()


def _code_hash(code: str) -> bytes:
    return hashlib.sha256(code.encode("utf-8", "replace")).digest()


def check_refs(refs: Sequence[str]) -> list[str]:
    """The distinct refs in order, or InvalidRoll."""
    if isinstance(refs, str) or not isinstance(refs, Sequence):
        raise InvalidRoll("voters must be a list of strings")
    if len(refs) > MAX_REFS:
        raise InvalidRoll(f"at most {MAX_REFS} voters per request")
    for ref in refs:
        if not isinstance(ref, str) or not 1 <= len(ref) <= MAX_REF_LENGTH:
            raise InvalidRoll(
                f"each voter reference is a string of 1 to {MAX_REF_LENGTH} characters"
            )
        try:
            ref.encode()
        except UnicodeEncodeError:
            raise InvalidRoll("voter references must be valid Unicode") from None
    return list(dict.fromkeys(refs))


class FailureLimiter:
    """At most ``limit`` failed attempts per client within ``window`` seconds, in memory.

    ``client`` is an opaque key chosen by the caller (e.g. a hash of the address); it is never
    logged. At most ``max_clients`` clients are tracked: past that, expired entries are swept,
    then the oldest clients forgotten.
    """

    def __init__(
        self,
        limit: int = 10,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 100_000,
    ) -> None:
        if limit < 1 or window <= 0 or max_clients < 1:
            raise ValueError("limit, window and max_clients must be positive")
        self._limit = limit
        self._window = window
        self._clock = clock
        self._max_clients = max_clients
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def check(self, client: str) -> None:
        """Raise RateLimited if ``client`` has used up its failures."""
        with self._lock:
            now = self._clock()
            times = self._recent(client, now)
            if times is not None and len(times) >= self._limit:
                raise RateLimited(max(1, math.ceil(times[0] + self._window - now)))

    def record_failure(self, client: str) -> None:
        """Count one failed attempt by ``client``."""
        with self._lock:
            now = self._clock()
            times = self._recent(client, now)
            if times is None:
                times = self._failures[client] = deque()
            times.append(now)
            if len(self._failures) > self._max_clients:
                self._sweep(now)

    def _recent(self, client: str, now: float) -> deque[float] | None:
        times = self._failures.get(client)
        if times is None:
            return None
        while times and times[0] <= now - self._window:
            times.popleft()
        if not times:
            del self._failures[client]
            return None
        return times

    def _sweep(self, now: float) -> None:
        for client in list(self._failures):
            self._recent(client, now)
        while len(self._failures) > self._max_clients:
            del self._failures[next(iter(self._failures))]


class Registrar:
    """Enrollment codes and credentials; every method runs in the caller's transaction."""

    def __init__(self, keyring: KeyRing, *, limiter: FailureLimiter | None = None) -> None:
        self._keyring = keyring
        self._limiter = FailureLimiter() if limiter is None else limiter

    def add_to_roll(
        self, session: Session, assembly_id: str, refs: Sequence[str]
    ) -> dict[str, str]:
        """Put ``refs`` on the roll; return each ref's enrollment code (old refs: the same one)."""
        require_write(session)
        distinct = check_refs(refs)
        self._counter_row(session, assembly_id)
        if self._purged(session, assembly_id):
            raise EnrollmentClosed(f"enrollment for {assembly_id!r} is closed")
        secret = self._keyring.registrar_secret(session)
        codes: dict[str, str] = {}
        hashes: list[tuple[bytes, bytes]] = []
        for ref in distinct:
            code = b64u_encode(_mac(secret, CODE_DOMAIN, assembly_id, ref)[:_CODE_BYTES])
            codes[ref] = code
            hashes.append((_mac(secret, REF_DOMAIN, assembly_id, ref), _code_hash(code)))
        # One global order of inserts: parallel rolls sharing refs then wait, never deadlock.
        rows = [
            {"assembly_id": assembly_id, "ref_hash": ref_hash, "code_hash": code_hash}
            for ref_hash, code_hash in sorted(hashes)
        ]
        # ON CONFLICT DO NOTHING ... RETURNING yields exactly the refs new to the roll, even when
        # another transaction adds the same refs at the same time. (SQLAlchemy sends the rows
        # as multi-row INSERTs, "insertmanyvalues", in batches.)
        statement = insert_ignoring_conflicts(session, RollEntry).returning(RollEntry.ref_hash)
        added = len(session.execute(statement, rows).all()) if rows else 0
        self._bump(session, assembly_id, AssemblyCounter.roll_size, added)
        return {ref: codes[ref] for ref in refs}

    def issue(
        self,
        session: Session,
        assembly_id: str,
        code: str,
        blinded_msg: bytes,
        *,
        client: str | None = None,
    ) -> bytes:
        """RFC 9474 §4.3 BlindSign for an enrollment code, at most once (module docstring).

        Refusals in the order of docs/PROTOCOL.md §10: RateLimited, Unauthorized (an unknown
        code, counted against ``client``), InvalidBlindedMessage, CodeUsed.
        """
        require_write(session)
        if client is not None:
            self._limiter.check(client)
        # Every code has CODE_LENGTH characters: anything else is unknown without a lookup.
        code_hash = _code_hash(code) if len(code) == CODE_LENGTH else b""
        found = (
            session.execute(_LOOKUP, {"assembly_id": assembly_id, "code_hash": code_hash}).first()
            if code_hash
            else None
        )
        if found is None:
            if client is not None:
                self._limiter.record_failure(client)
            raise Unauthorized("unknown enrollment code")
        # An outer join: no credential yet is a row of NULLs on its side.
        issued_hash: bytes | None = found[1]
        issued = None if issued_hash is None else (issued_hash, found[2])
        key = self._keyring.issuer(session, assembly_id)
        public = key.public_key()
        if len(blinded_msg) != public.modulus_len or int.from_bytes(blinded_msg, "big") >= public.n:
            raise InvalidBlindedMessage(
                f"blinded_msg must be {public.modulus_len} bytes encoding an integer below n"
            )
        blinded_hash = hashlib.sha256(blinded_msg).digest()
        if issued is not None:
            return self._retry(issued, blinded_hash)
        blind_sig = key.blind_sign(blinded_msg)
        row = {
            "assembly_id": assembly_id,
            "code_hash": code_hash,
            "blinded_hash": blinded_hash,
            "blind_sig": blind_sig,
        }
        if session.execute(self._insert_credential(session), row).first() is None:
            # A parallel request with the same code committed first: answer as a retry.
            winner = session.execute(_ISSUED, row).first()
            if winner is None:  # ... and a purge deleted it since
                raise EnrollmentClosed(f"enrollment for {assembly_id!r} is closed")
            return self._retry((winner[0], winner[1]), blinded_hash)
        self._bump(session, assembly_id, AssemblyCounter.credentials_issued, 1)
        return blind_sig

    def counters(self, session: Session, assembly_id: str) -> tuple[int, int]:
        """``(roll_size, credentials_issued)`` for the assembly; (0, 0) if it has no roll."""
        row = session.execute(
            select(AssemblyCounter.roll_size, AssemblyCounter.credentials_issued).where(
                AssemblyCounter.assembly_id == assembly_id
            )
        ).first()
        return (0, 0) if row is None else (row.roll_size, row.credentials_issued)

    def purge(self, session: Session, assembly_id: str) -> None:
        """Delete the assembly's roll and credentials, keep its counters, close enrollment."""
        require_write(session)
        self._counter_row(session, assembly_id)
        # Updating the counter row first makes a concurrent add_to_roll or issue wait for us.
        session.execute(
            update(AssemblyCounter)
            .where(AssemblyCounter.assembly_id == assembly_id)
            .values(purged=True)
        )
        session.execute(delete(Credential).where(Credential.assembly_id == assembly_id))
        session.execute(delete(RollEntry).where(RollEntry.assembly_id == assembly_id))

    # --- internals -----------------------------------------------------------------------

    def _counter_row(self, session: Session, assembly_id: str) -> None:
        session.execute(
            insert_ignoring_conflicts(session, AssemblyCounter).values(
                assembly_id=assembly_id, roll_size=0, credentials_issued=0, purged=False
            )
        )

    def _purged(self, session: Session, assembly_id: str) -> bool:
        purged = session.scalar(
            select(AssemblyCounter.purged).where(AssemblyCounter.assembly_id == assembly_id)
        )
        return bool(purged)

    def _bump(
        self, session: Session, assembly_id: str, column: InstrumentedAttribute[int], amount: int
    ) -> None:
        # "AND NOT purged" re-checks under the row lock: a purge that committed meanwhile wins.
        bumped = session.execute(
            _BUMP[column.key], {"assembly": assembly_id, "amount": amount}
        ).first()
        if bumped is None:
            raise EnrollmentClosed(f"enrollment for {assembly_id!r} is closed")

    @staticmethod
    def _insert_credential(session: Session) -> Insert:
        return _INSERT_CREDENTIAL[session.get_bind().dialect.name]

    @staticmethod
    def _retry(issued: tuple[bytes, bytes], blinded_hash: bytes) -> bytes:
        """The stored signature for the identical blinded message; CodeUsed for another."""
        previous_hash, blind_sig = issued
        if not hmac.compare_digest(previous_hash, blinded_hash):
            raise CodeUsed("this enrollment code was used with another blinded message")
        return blind_sig
