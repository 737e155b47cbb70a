"""The board store and the migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, event, inspect, select, text
from sqlalchemy.orm import Session

import service.models  # noqa: F401  (registers the tables)
from crypto import merkle
from crypto.ed25519 import STH_DOMAIN, SigningKey, verify_object
from crypto.encoding import b64u_encode, canonical_json
from service.db import Base, alembic_config, make_engine, make_sessionmaker, migrate
from service.errors import DuplicateLeaf, InvalidLeaf, OutOfRange
from service.models import Leaf
from service.store import BoardStore, TreeHead, sth_signer

AUTHORITY = SigningKey(bytes(range(32)))
SIGN = sth_signer(AUTHORITY)


def envelope(n: int, kind: str = "test") -> bytes:
    record = {"type": kind, "n": n}
    return canonical_json({"record": record, "signer": "signer", "sig": f"sig-{n}"})


def check_signed(head: TreeHead) -> None:
    verify_object(
        AUTHORITY.public_key_b64u, STH_DOMAIN, head.signed_object(), b64u_encode(head.sig)
    )


def fill(session: Session, store: BoardStore, count: int, first: int = 0) -> list[bytes]:
    store.lock(session)
    leaves = [envelope(first + n) for n in range(count)]
    for n, leaf in enumerate(leaves):
        assert store.append(session, leaf, SIGN, now_ms=1_000 + n) == first + n
    return leaves


def reference(leaves: list[bytes]) -> merkle.MemoryTree:
    tree = merkle.MemoryTree()
    for leaf in leaves:
        tree.append(leaf)
    return tree


# --- migrations ----------------------------------------------------------------------------


def test_migrations_create_the_models_and_are_idempotent(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        assert inspect(engine).get_table_names() == []
        migrate(engine)
        migrate(engine)
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            assert tables == set(Base.metadata.tables) | {"alembic_version"}
            # The migrations produce exactly the models: nothing for autogenerate to add.
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert versions == [(head,)]
    finally:
        engine.dispose()


# --- appending and reading -----------------------------------------------------------------


def test_append_find_and_read(session: Session) -> None:
    store = BoardStore()
    assert store.size(session) == 0
    leaves = fill(session, store, 40)
    assert store.size(session) == 40
    for index, leaf in enumerate(leaves):
        assert store.leaf(session, index) == leaf
        assert store.find(session, merkle.leaf_hash(leaf)) == index
    assert store.find(session, merkle.leaf_hash(b"absent")) is None
    assert list(store.leaves(session)) == leaves
    assert list(store.leaves(session, 7, 29)) == leaves[7:29]
    assert list(store.leaves(session, 40, 40)) == []
    assert list(store.leaves(session, start=39)) == leaves[39:]


def test_leaves_stream_across_batches(session: Session) -> None:
    store = BoardStore(batch_size=7)
    store.lock(session)
    leaves = [envelope(n, "even" if n % 2 == 0 else "odd") for n in range(45)]
    for leaf in leaves:
        store.append(session, leaf, SIGN, now_ms=5)
    for start, end in [(3, 44), (0, 7), (0, 14), (6, 8), (7, 7)]:
        assert list(store.leaves(session, start, end)) == leaves[start:end]
    odd = list(store.leaves_of_type(session, ["odd"], start=10))
    assert odd == [(n, leaves[n]) for n in range(11, 45, 2)]
    assert list(store.leaves_of_type(session, ["odd"], start=30)) == odd[-7:]
    assert list(store.leaves_of_type(session, ["even", "odd"])) == list(enumerate(leaves))
    assert list(store.leaves_of_type(session, ["none"])) == []


def test_tree_heads_are_signed_roots_for_every_size(session: Session) -> None:
    store = BoardStore()
    leaves = fill(session, store, 40)
    tree = reference(leaves)
    for size in range(1, 41):
        head = store.tree_head(session, size)
        assert head.tree_size == size
        assert head.root_hash == tree.root(size)
        check_signed(head)
    assert store.latest_tree_head(session) == store.tree_head(session, 40)
    assert store.tree_head(session, 40).to_json() == {
        "tree_size": 40,
        "root_hash": b64u_encode(tree.root()),
        "timestamp": 1_039,
        "sig": b64u_encode(store.tree_head(session, 40).sig),
    }


def test_timestamps_never_decrease_when_the_clock_goes_back(session: Session) -> None:
    store = BoardStore()
    store.lock(session)
    for n, now in enumerate([100, 200, 150, 50, 300, 299]):
        store.append(session, envelope(n), SIGN, now)
    stamps = [store.tree_head(session, size).timestamp for size in range(1, 7)]
    assert stamps == [100, 200, 200, 200, 300, 300]
    check_signed(store.tree_head(session, 4))


def test_inclusion_and_consistency_proofs_verify_for_every_size(session: Session) -> None:
    store = BoardStore()
    leaves = fill(session, store, 40)
    roots = {size: store.tree_head(session, size).root_hash for size in range(1, 41)}
    for size in range(1, 41):
        for index in range(size):
            proof = store.inclusion_proof(session, index, size)
            merkle.verify_inclusion(
                merkle.leaf_hash(leaves[index]), index, size, proof, roots[size]
            )
        for first in range(1, size + 1):
            proof = store.consistency_proof(session, first, size)
            merkle.verify_consistency(first, size, proof, roots[first], roots[size])


def test_out_of_range_requests_are_refused(session: Session) -> None:
    store = BoardStore()
    with pytest.raises(OutOfRange):
        store.latest_tree_head(session)
    fill(session, store, 5)
    calls: list[Callable[[], object]] = [
        lambda: store.leaf(session, 5),
        lambda: store.leaf(session, -1),
        lambda: store.leaves(session, 0, 6),
        lambda: store.leaves(session, 3, 2),
        lambda: store.leaves(session, -1, 2),
        lambda: store.tree_head(session, 0),
        lambda: store.tree_head(session, 6),
        lambda: store.inclusion_proof(session, 5, 5),
        lambda: store.inclusion_proof(session, 5, 6),
        lambda: store.inclusion_proof(session, -1, 5),
        lambda: store.consistency_proof(session, 0, 5),
        lambda: store.consistency_proof(session, 3, 2),
        lambda: store.consistency_proof(session, 1, 6),
    ]
    for call in calls:
        with pytest.raises(OutOfRange):
            call()
    assert store.consistency_proof(session, 5, 5) == []


def test_append_refuses_duplicates_and_non_envelopes(session: Session) -> None:
    store = BoardStore()
    fill(session, store, 3)
    with pytest.raises(DuplicateLeaf) as caught:
        store.append(session, envelope(1), SIGN, 0)
    assert caught.value.index == 1
    for junk in [b"not json", b"[]", b'{"record": {}}', b'{"record": {"type": 1}}']:
        with pytest.raises(InvalidLeaf):
            store.append(session, junk, SIGN, 0)
    with pytest.raises(ValueError, match="milliseconds"):
        store.append(session, envelope(9), SIGN, -1)
    assert store.size(session) == 3


def test_append_costs_a_constant_number_of_statements(engine: Engine) -> None:
    store = BoardStore()
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    with make_sessionmaker(engine, write=True).begin() as session:
        store.lock(session)
        costs = []
        for n in range(130):
            event.listen(engine, "before_cursor_execute", count)
            store.append(session, envelope(n), SIGN, 0)
            event.remove(engine, "before_cursor_execute", count)
            costs.append(len(statements))
            statements.clear()
    # Leaf 0 needs no stored node; after that: find, last leaf, one read of the tree's right
    # edge, two inserts.
    assert max(costs) <= 5
    assert costs[5] == 5


def test_append_at_a_known_right_edge_reads_nothing(engine: Engine) -> None:
    store = BoardStore()
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]).split()[0])

    edge = merkle.RootAccumulator()
    tree = merkle.MemoryTree()
    with make_sessionmaker(engine, write=True).begin() as session:
        store.lock(session)
        event.listen(engine, "before_cursor_execute", count)
        for n in range(70):
            leaf = envelope(n)
            appended = store.append_at(
                session,
                leaf,
                index=edge.size,
                edge=edge.nodes(),
                timestamp=n,
                sign_sth=SIGN,
                record_type="ballot",
            )
            edge.append_hash(appended.leaf_hash)
            tree.append(leaf)
            assert appended.head.root_hash == tree.root()
            merkle.verify_inclusion(
                appended.leaf_hash, n, n + 1, appended.inclusion_proof, tree.root()
            )
        event.remove(engine, "before_cursor_execute", count)
        assert set(statements) == {"INSERT"}
        # The stored nodes serve proofs exactly as the slow path does.
        for index in range(0, 70, 7):
            assert store.inclusion_proof(session, index, 70) == tree.inclusion_proof(index, 70)


# --- writers in parallel and restarts -------------------------------------------------------


def _append_committed(engine: Engine, leaf: bytes, now_ms: int) -> int:
    store = BoardStore()
    with make_sessionmaker(engine, write=True).begin() as session:
        store.lock(session)
        return store.append(session, leaf, SIGN, now_ms)


def _all_leaves(engine: Engine) -> list[bytes]:
    with make_sessionmaker(engine).begin() as session:
        return list(BoardStore().leaves(session))


def test_parallel_appends_get_consecutive_indices(engine: Engine) -> None:
    leaves = [envelope(n) for n in range(200)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        indices = list(
            pool.map(lambda n: _append_committed(engine, leaves[n], 10_000 - n), range(200))
        )
    assert sorted(indices) == list(range(200))
    stored = _all_leaves(engine)
    assert sorted(stored) == sorted(leaves)
    for index, leaf in zip(indices, leaves, strict=True):
        assert stored[index] == leaf
    with make_sessionmaker(engine).begin() as session:
        store = BoardStore()
        tree = reference(stored)
        head = store.latest_tree_head(session)
        assert (head.tree_size, head.root_hash) == (200, tree.root())
        check_signed(head)
        stamps = session.scalars(select(Leaf.timestamp).order_by(Leaf.index)).all()
        assert stamps == sorted(stamps)
        for size in (1, 37, 128, 199):
            assert store.tree_head(session, size).root_hash == tree.root(size)


def test_a_restarted_service_continues_the_board(database_url: str, engine: Engine) -> None:
    first = [envelope(n) for n in range(11)]
    for n, leaf in enumerate(first):
        assert _append_committed(engine, leaf, n) == n
    engine.dispose()
    later = [envelope(n) for n in range(11, 30)]
    restarted = make_engine(database_url)
    try:
        for n, leaf in enumerate(later, start=11):
            assert _append_committed(restarted, leaf, n) == n
        with make_sessionmaker(restarted).begin() as session:
            store = BoardStore()
            tree = reference(first + later)
            old, new = store.tree_head(session, 11), store.latest_tree_head(session)
            assert new.root_hash == tree.root()
            proof = store.consistency_proof(session, 11, 30)
            merkle.verify_consistency(11, 30, proof, old.root_hash, new.root_hash)
    finally:
        restarted.dispose()


def test_lock_needs_a_write_session_on_sqlite(engine: Engine, backend: str) -> None:
    store = BoardStore()
    with make_sessionmaker(engine).begin() as session:
        if backend == "sqlite":
            with pytest.raises(RuntimeError, match="IMMEDIATE"):
                store.lock(session)
        else:
            store.lock(session)
    with make_sessionmaker(engine, write=True).begin() as session:
        store.lock(session)


@pytest.fixture
def _no_leftover_rows(engine: Engine) -> Iterator[None]:
    yield
    assert _all_leaves(engine) == []


def test_session_fixture_rolls_back(session: Session, _no_leftover_rows: None) -> None:
    store = BoardStore()
    fill(session, store, 2)
    session.commit()
    assert store.size(session) == 2
