"""The registrar and its sealed keys, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from crypto import blind_rsa
from crypto.ed25519 import SigningKey
from crypto.encoding import b64u_decode
from crypto.errors import UnsealError
from crypto.keystore import SealingKey
from service.db import Base, make_sessionmaker
from service.errors import (
    CodeUsed,
    DuplicateKey,
    EnrollmentClosed,
    InvalidBlindedMessage,
    InvalidRoll,
    MissingKey,
    RateLimited,
    Unauthorized,
)
from service.keys import KeyRing
from service.models import Credential, RollEntry, SealedKey
from service.registrar import CODE_LENGTH, FailureLimiter, Registrar

ASSEMBLY = "city"


@pytest.fixture(scope="module")
def issuer() -> blind_rsa.PrivateKey:
    return blind_rsa.PrivateKey.generate(2048)


@pytest.fixture
def keyring(sealing_key: SealingKey) -> KeyRing:
    return KeyRing(sealing_key)


@pytest.fixture
def registrar(keyring: KeyRing) -> Registrar:
    return Registrar(keyring)


@pytest.fixture
def enrolled(
    session: Session, keyring: KeyRing, registrar: Registrar, issuer: blind_rsa.PrivateKey
) -> dict[str, str]:
    keyring.store_issuer(session, ASSEMBLY, issuer)
    return registrar.add_to_roll(session, ASSEMBLY, ["alice", "bob"])


def blinded(issuer: blind_rsa.PrivateKey) -> tuple[bytes, Callable[[bytes], None]]:
    """A citizen's blinded message, and a check that a blind signature finalizes."""
    public = issuer.public_key()
    message = blind_rsa.credential_message(ASSEMBLY, SigningKey.generate().public_key)
    _, prepared = blind_rsa.prepare(message)
    blinded_msg, state = blind_rsa.blind(public, prepared)

    def finalizes(blind_sig: bytes) -> None:
        public.verify(prepared, blind_rsa.finalize(public, prepared, blind_sig, state))

    return blinded_msg, finalizes


# --- the roll ------------------------------------------------------------------------------


def test_codes_are_stable_and_only_new_refs_count(session: Session, registrar: Registrar) -> None:
    first = registrar.add_to_roll(session, ASSEMBLY, ["alice", "bob", "alice"])
    assert list(first) == ["alice", "bob"]
    assert first["alice"] != first["bob"]
    for code in first.values():
        assert len(code) == CODE_LENGTH
        assert len(b64u_decode(code)) * 8 >= 128
    assert registrar.counters(session, ASSEMBLY) == (2, 0)
    second = registrar.add_to_roll(session, ASSEMBLY, ["bob", "carol"])
    assert second["bob"] == first["bob"]
    assert registrar.counters(session, ASSEMBLY) == (3, 0)
    assert registrar.add_to_roll(session, ASSEMBLY, []) == {}
    assert registrar.counters(session, ASSEMBLY) == (3, 0)
    # The same person on another assembly's roll has another code.
    assert registrar.add_to_roll(session, "other", ["bob"])["bob"] != first["bob"]
    assert registrar.counters(session, "other") == (1, 0)
    assert registrar.counters(session, "none") == (0, 0)


def test_a_new_registrar_on_the_same_database_gives_the_same_codes(
    session: Session, sealing_key: SealingKey
) -> None:
    first = Registrar(KeyRing(sealing_key)).add_to_roll(session, ASSEMBLY, ["alice"])
    session.commit()
    again = Registrar(KeyRing(sealing_key)).add_to_roll(session, ASSEMBLY, ["alice"])
    assert again == first


@pytest.mark.parametrize(
    "refs",
    [
        [""],
        ["x" * 201],
        ["ok", 7],
        ["\ud800"],
        "alice",
        ["r"] * 10_001,
    ],
    ids=["empty", "too-long", "not-a-string", "lone-surrogate", "a-string", "too-many"],
)
def test_invalid_rolls_are_refused(session: Session, registrar: Registrar, refs: object) -> None:
    with pytest.raises(InvalidRoll):
        registrar.add_to_roll(session, ASSEMBLY, refs)  # type: ignore[arg-type]
    assert registrar.counters(session, ASSEMBLY) == (0, 0)


def test_the_largest_roll_is_accepted(session: Session, registrar: Registrar) -> None:
    refs = [f"voter-{n:05d}-" + "x" * 188 for n in range(10_000)]
    codes = registrar.add_to_roll(session, ASSEMBLY, refs)
    assert len(set(codes.values())) == 10_000
    assert registrar.counters(session, ASSEMBLY) == (10_000, 0)


def test_no_plaintext_ref_or_code_is_stored(
    session: Session, enrolled: dict[str, str], registrar: Registrar, issuer: blind_rsa.PrivateKey
) -> None:
    refs = ["citizen-4711@example.org", "Ünïcode person"]
    codes = {**enrolled, **registrar.add_to_roll(session, ASSEMBLY, refs)}
    registrar.issue(session, ASSEMBLY, codes[refs[0]], blinded(issuer)[0])
    needles = [s.encode() for s in [*codes, *codes.values()]]
    needles += [b64u_decode(code) for code in codes.values()]
    rows = 0
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)):
            rows += 1
            for value in row:
                data = value.encode() if isinstance(value, str) else value
                if isinstance(data, bytes):
                    assert not any(needle in data for needle in needles), (table.name, value)
    assert rows >= 5  # the roll, the credential, the counters, the sealed keys


# --- credentials ---------------------------------------------------------------------------


def test_a_code_gets_one_credential_and_retries_get_it_again(
    session: Session, enrolled: dict[str, str], registrar: Registrar, issuer: blind_rsa.PrivateKey
) -> None:
    message, finalizes = blinded(issuer)
    blind_sig = registrar.issue(session, ASSEMBLY, enrolled["alice"], message)
    finalizes(blind_sig)
    assert registrar.counters(session, ASSEMBLY) == (2, 1)
    assert registrar.issue(session, ASSEMBLY, enrolled["alice"], message) == blind_sig
    assert registrar.counters(session, ASSEMBLY) == (2, 1)
    other, _ = blinded(issuer)
    with pytest.raises(CodeUsed):
        registrar.issue(session, ASSEMBLY, enrolled["alice"], other)
    finalizes(registrar.issue(session, ASSEMBLY, enrolled["alice"], message))
    assert registrar.counters(session, ASSEMBLY) == (2, 1)
    assert session.scalar(select(func.count()).select_from(Credential)) == 1


def test_unknown_codes_are_unauthorized(
    session: Session, enrolled: dict[str, str], registrar: Registrar, issuer: blind_rsa.PrivateKey
) -> None:
    message, _ = blinded(issuer)
    registrar.add_to_roll(session, "other", ["carol"])
    carol = registrar.add_to_roll(session, "other", ["carol"])["carol"]
    wrong = enrolled["alice"][:-1] + ("A" if enrolled["alice"][-1] != "A" else "B")
    for code in [wrong, "", enrolled["alice"] + "A", carol, "é" * CODE_LENGTH]:
        with pytest.raises(Unauthorized):
            registrar.issue(session, ASSEMBLY, code, message)
    assert registrar.counters(session, ASSEMBLY) == (2, 0)


def test_malformed_blinded_messages_are_refused_before_a_conflict(
    session: Session, enrolled: dict[str, str], registrar: Registrar, issuer: blind_rsa.PrivateKey
) -> None:
    n = issuer.public_key().n
    k = issuer.public_key().modulus_len
    for bad in [b"", b"\x01" * (k - 1), b"\x01" * (k + 1), n.to_bytes(k, "big"), b"\xff" * k]:
        with pytest.raises(InvalidBlindedMessage):
            registrar.issue(session, ASSEMBLY, enrolled["alice"], bad)
    registrar.issue(session, ASSEMBLY, enrolled["alice"], blinded(issuer)[0])
    # 400 comes before 409 (docs/PROTOCOL.md §10): a used code with junk is still malformed.
    with pytest.raises(InvalidBlindedMessage):
        registrar.issue(session, ASSEMBLY, enrolled["alice"], b"\x00")
    assert registrar.counters(session, ASSEMBLY) == (2, 1)


def test_failed_codes_are_rate_limited_per_client(
    session: Session, keyring: KeyRing, enrolled: dict[str, str], issuer: blind_rsa.PrivateKey
) -> None:
    now = [1_000.0]
    registrar = Registrar(keyring, limiter=FailureLimiter(3, clock=lambda: now[0]))
    message, _ = blinded(issuer)
    for _ in range(3):
        with pytest.raises(Unauthorized):
            registrar.issue(session, ASSEMBLY, "x" * CODE_LENGTH, message, client="attacker")
    now[0] += 30
    with pytest.raises(RateLimited) as caught:
        registrar.issue(session, ASSEMBLY, enrolled["alice"], message, client="attacker")
    assert caught.value.retry_after == 30
    # Other clients, and callers that pass no client, are not affected.
    registrar.issue(session, ASSEMBLY, enrolled["alice"], message, client="citizen")
    registrar.issue(session, ASSEMBLY, enrolled["alice"], message)
    now[0] += 30
    assert registrar.issue(session, ASSEMBLY, enrolled["alice"], message, client="attacker")


def test_the_limiter_forgets_old_failures_and_bounds_its_memory() -> None:
    now = [0.0]
    limiter = FailureLimiter(2, window=10, clock=lambda: now[0], max_clients=3)
    limiter.record_failure("a")
    now[0] = 5
    limiter.record_failure("a")
    with pytest.raises(RateLimited):
        limiter.check("a")
    now[0] = 10.5
    limiter.check("a")  # the first failure left the window
    limiter.record_failure("a")
    with pytest.raises(RateLimited):
        limiter.check("a")
    for client in ["b", "c", "d", "e"]:
        limiter.record_failure(client)
        limiter.record_failure(client)
    assert len(limiter._failures) <= 3
    with pytest.raises(RateLimited):
        limiter.check("e")
    with pytest.raises(ValueError):
        FailureLimiter(0)


def test_purge_keeps_the_counters_and_closes_enrollment(
    session: Session, enrolled: dict[str, str], registrar: Registrar, issuer: blind_rsa.PrivateKey
) -> None:
    message, _ = blinded(issuer)
    registrar.issue(session, ASSEMBLY, enrolled["alice"], message)
    other = registrar.add_to_roll(session, "other", ["carol"])
    registrar.purge(session, ASSEMBLY)
    assert registrar.counters(session, ASSEMBLY) == (2, 1)
    for table in (RollEntry, Credential):
        count = select(func.count()).select_from(table).where(table.assembly_id == ASSEMBLY)
        assert session.scalar(count) == 0
    with pytest.raises(Unauthorized):
        registrar.issue(session, ASSEMBLY, enrolled["alice"], message)
    with pytest.raises(EnrollmentClosed):
        registrar.add_to_roll(session, ASSEMBLY, ["alice"])
    assert registrar.counters(session, ASSEMBLY) == (2, 1)
    assert registrar.add_to_roll(session, "other", ["carol"]) == other
    registrar.purge(session, "never-enrolled")
    assert registrar.counters(session, "never-enrolled") == (0, 0)


def test_writes_need_a_write_session_on_sqlite(
    engine: Engine, backend: str, registrar: Registrar
) -> None:
    with make_sessionmaker(engine).begin() as session:
        if backend == "sqlite":
            with pytest.raises(RuntimeError, match="IMMEDIATE"):
                registrar.add_to_roll(session, ASSEMBLY, ["alice"])
        else:
            registrar.add_to_roll(session, ASSEMBLY, ["alice"])


# --- concurrency ---------------------------------------------------------------------------


def one_code(
    engine: Engine, sealing_key: SealingKey, issuer: blind_rsa.PrivateKey
) -> tuple[sessionmaker[Session], Registrar, str]:
    """An issuer key and a roll of one, committed; the write sessions, registrar and code."""
    writes = make_sessionmaker(engine, write=True)
    registrar = Registrar(KeyRing(sealing_key))
    with writes.begin() as session:
        KeyRing(sealing_key).store_issuer(session, ASSEMBLY, issuer)
        code = registrar.add_to_roll(session, ASSEMBLY, ["alice"])["alice"]
    return writes, registrar, code


def test_parallel_identical_requests_issue_once(
    engine: Engine, sealing_key: SealingKey, issuer: blind_rsa.PrivateKey
) -> None:
    writes, registrar, code = one_code(engine, sealing_key, issuer)
    message, finalizes = blinded(issuer)

    def request(_: int) -> bytes:
        with writes.begin() as session:
            return registrar.issue(session, ASSEMBLY, code, message)

    with ThreadPoolExecutor(max_workers=12) as pool:
        signatures = set(pool.map(request, range(50)))
    assert len(signatures) == 1
    finalizes(signatures.pop())
    with writes.begin() as session:
        assert registrar.counters(session, ASSEMBLY) == (1, 1)
        assert session.scalar(select(func.count()).select_from(Credential)) == 1


def test_parallel_different_messages_for_one_code_issue_once(
    engine: Engine, sealing_key: SealingKey, issuer: blind_rsa.PrivateKey
) -> None:
    """Whoever commits first wins; every other message for the code is refused, none signed."""
    writes, registrar, code = one_code(engine, sealing_key, issuer)
    attempts = [blinded(issuer) for _ in range(24)]

    def request(i: int) -> bytes | None:
        try:
            with writes.begin() as session:
                return registrar.issue(session, ASSEMBLY, code, attempts[i][0])
        except CodeUsed:
            return None

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(request, range(len(attempts))))
    winners = [i for i, sig in enumerate(results) if sig is not None]
    assert len(winners) == 1
    (winner,) = winners
    signature = results[winner]
    assert signature is not None
    attempts[winner][1](signature)
    with writes.begin() as session:
        assert registrar.counters(session, ASSEMBLY) == (1, 1)
        # The winner's retry still gets its signature; the others are still refused.
        assert registrar.issue(session, ASSEMBLY, code, attempts[winner][0]) == signature
        with pytest.raises(CodeUsed):
            registrar.issue(session, ASSEMBLY, code, attempts[(winner + 1) % 24][0])


def test_parallel_rolls_count_each_ref_once(engine: Engine, sealing_key: SealingKey) -> None:
    writes = make_sessionmaker(engine, write=True)
    registrar = Registrar(KeyRing(sealing_key))
    refs = [f"voter-{n}" for n in range(100)]

    def request(shift: int) -> dict[str, str]:
        with writes.begin() as session:
            return registrar.add_to_roll(session, ASSEMBLY, refs[shift:] + refs[:shift])

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(request, range(0, 100, 5)))
    assert all(answer == answers[0] for answer in answers)
    with writes.begin() as session:
        assert registrar.counters(session, ASSEMBLY) == (100, 0)


def test_parallel_first_use_creates_one_authority_key(
    engine: Engine, sealing_key: SealingKey
) -> None:
    writes = make_sessionmaker(engine, write=True)

    def first_start(_: int) -> bytes:
        with writes.begin() as session:
            return KeyRing(sealing_key).authority(session).public_key

    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = set(pool.map(first_start, range(16)))
    assert len(keys) == 1


# --- sealed keys ---------------------------------------------------------------------------


def test_keys_are_created_once_sealed_and_cached(
    engine: Engine, sealing_key: SealingKey, issuer: blind_rsa.PrivateKey
) -> None:
    writes = make_sessionmaker(engine, write=True)
    keyring = KeyRing(sealing_key)
    with writes.begin() as session:
        authority = keyring.authority(session)
        secret = keyring.registrar_secret(session)
        keyring.store_issuer(session, ASSEMBLY, issuer)
        assert keyring.authority(session) is authority
        assert keyring.issuer(session, ASSEMBLY) is issuer
    assert len(secret) == 32
    with writes.begin() as session:
        rows = session.execute(select(SealedKey.name, SealedKey.blob))
        blobs = {name: blob for name, blob in rows}
    assert set(blobs) == {"authority", "registrar", f"issuer:{ASSEMBLY}"}
    for blob in blobs.values():
        assert authority.seed() not in blob and secret not in blob
        assert issuer.to_bytes()[-64:] not in blob
    # Another process (another KeyRing) reads the same keys.
    with make_sessionmaker(engine).begin() as session:
        other = KeyRing(sealing_key)
        assert other.authority(session).public_key == authority.public_key
        assert other.registrar_secret(session) == secret
        assert other.issuer(session, ASSEMBLY).to_bytes() == issuer.to_bytes()
        with pytest.raises(MissingKey):
            other.issuer(session, "unknown")
        # A wrong sealing key cannot open them.
        with pytest.raises(UnsealError):
            KeyRing(SealingKey.generate()).authority(session)
    assert "seed" not in repr(keyring) and repr(keyring) == "KeyRing(<sealed>)"


def test_issuer_keys_cannot_be_replaced(
    session: Session, keyring: KeyRing, issuer: blind_rsa.PrivateKey
) -> None:
    keyring.store_issuer(session, ASSEMBLY, issuer)
    with pytest.raises(DuplicateKey):
        keyring.create_issuer(session, ASSEMBLY, 2048)
    created = keyring.create_issuer(session, "other", 2048)
    assert keyring.issuer(session, "other") is created
    assert keyring.issuer(session, ASSEMBLY) is issuer


def test_keys_from_a_rolled_back_transaction_are_forgotten(
    engine: Engine, sealing_key: SealingKey
) -> None:
    writes = make_sessionmaker(engine, write=True)
    keyring = KeyRing(sealing_key)
    with writes() as session:
        lost = keyring.authority(session)
        session.rollback()
        kept = keyring.authority(session)
        session.commit()
    assert kept.public_key != lost.public_key
    with writes.begin() as session:
        assert keyring.authority(session).public_key == kept.public_key
        assert KeyRing(sealing_key).authority(session).public_key == kept.public_key


def test_keys_created_in_a_rolled_back_savepoint_are_forgotten(
    engine: Engine, sealing_key: SealingKey
) -> None:
    writes = make_sessionmaker(engine, write=True)
    keyring = KeyRing(sealing_key)
    with writes.begin() as session:
        savepoint = session.begin_nested()
        lost = keyring.registrar_secret(session)
        savepoint.rollback()
        kept = keyring.registrar_secret(session)
    assert kept != lost
    with writes.begin() as session:
        assert KeyRing(sealing_key).registrar_secret(session) == kept
        assert keyring.registrar_secret(session) == kept


def test_code_hashes_are_sha256_of_the_codes(
    session: Session, registrar: Registrar, enrolled: dict[str, str]
) -> None:
    stored = set(session.scalars(select(RollEntry.code_hash)))
    assert stored == {hashlib.sha256(code.encode()).digest() for code in enrolled.values()}
