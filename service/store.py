"""The board's storage: leaves, RFC 9162 §2.1 Merkle nodes and signed tree heads.

docs/PROTOCOL.md §4 and §10: leaf ``i`` is stored with the tree head of size ``i + 1``, signed
by the authority over ``STH_DOMAIN || JCS({"tree_size", "root_hash", "timestamp"})``, whose
timestamps never decrease. Only perfect subtrees are stored (``crypto.merkle`` names them
``(level, index)``), so an append writes the leaf and about two nodes, and every proof or root
reads its O(log n) nodes in one query. Every method runs inside the caller's transaction and
never commits; writers call :meth:`BoardStore.lock` first, before reading what they validate.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Insert, Row, Select, and_, bindparam, cast, func, insert, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from audit.records import OWED_TYPES
from crypto import merkle
from crypto.ed25519 import STH_DOMAIN, SigningKey
from crypto.encoding import MAX_SAFE_INTEGER, JSONValue, b64u_encode, parse_json
from crypto.errors import EncodingError
from service.db import Base, require_write, table_of
from service.errors import DuplicateLeaf, InvalidLeaf, OutOfRange
from service.models import Leaf, MerkleNode

__all__ = [
    "AppendedLeaf",
    "BoardStore",
    "SignTreeHead",
    "StagedLeaf",
    "TreeHead",
    "sth_bytes",
    "sth_object",
    "sth_signer",
]

SignTreeHead = Callable[[int, bytes, int], bytes]
"""``(tree_size, root_hash, timestamp_ms) -> signature``: signs a tree head as it is stored."""

#: pg_advisory_xact_lock key serialising board writers: "isegoria" in ASCII.
_BOARD_LOCK = 0x6973_6567_6F72_6961


def sth_object(tree_size: int, root_hash: bytes, timestamp: int) -> dict[str, JSONValue]:
    """The signed part of a tree head (docs/PROTOCOL.md §4)."""
    return {"tree_size": tree_size, "root_hash": b64u_encode(root_hash), "timestamp": timestamp}


def sth_bytes(tree_size: int, root_hash: bytes, timestamp: int) -> bytes:
    """``JCS(sth_object(...))``, written directly: a tree head is signed at every append."""
    if not (0 <= tree_size <= MAX_SAFE_INTEGER and 0 <= timestamp <= MAX_SAFE_INTEGER):
        raise ValueError("tree_size and timestamp must be integers from 0 to 2^53 - 1")
    # Members in JCS order; base64url and decimal digits are written by JCS as they are.
    root = b64u_encode(root_hash)
    return f'{{"root_hash":"{root}","timestamp":{timestamp},"tree_size":{tree_size}}}'.encode()


def sth_signer(key: SigningKey) -> SignTreeHead:
    """Sign tree heads with the authority key."""

    def sign(tree_size: int, root_hash: bytes, timestamp: int) -> bytes:
        return key.sign(STH_DOMAIN, sth_bytes(tree_size, root_hash, timestamp))

    return sign


@dataclass(frozen=True)
class TreeHead:
    """A signed tree head as stored: raw hash and signature bytes, timestamp in ms."""

    tree_size: int
    root_hash: bytes
    timestamp: int
    sig: bytes

    def signed_object(self) -> dict[str, JSONValue]:
        """What the signature covers, after ``STH_DOMAIN``."""
        return sth_object(self.tree_size, self.root_hash, self.timestamp)

    def to_json(self) -> dict[str, JSONValue]:
        """``{"tree_size", "root_hash", "timestamp", "sig"}`` with base64url values."""
        return {**self.signed_object(), "sig": b64u_encode(self.sig)}


@dataclass(frozen=True)
class AppendedLeaf:
    """What an append produced: everything a receipt needs, without reading it back."""

    index: int
    leaf_hash: bytes
    head: TreeHead
    inclusion_proof: list[bytes]


@dataclass(frozen=True)
class StagedLeaf:
    """A leaf computed by :meth:`BoardStore.stage` and not yet inserted: its rows."""

    appended: AppendedLeaf
    row: dict[str, object]
    node_rows: list[dict[str, object]]


def _record_type(leaf: bytes) -> str:
    try:
        envelope = parse_json(leaf)
    except EncodingError as exc:
        raise InvalidLeaf("a leaf must be a JSON envelope") from exc
    record = envelope.get("record") if isinstance(envelope, dict) else None
    kind = record.get("type") if isinstance(record, dict) else None
    if not isinstance(kind, str):
        raise InvalidLeaf("a leaf must be an envelope whose record has a type")
    return kind


def _tree_head(row: Row[int, bytes, int, bytes]) -> TreeHead:
    index, root_hash, timestamp, sig = row
    return TreeHead(index + 1, root_hash, timestamp, sig)


# Statements are built once: building and keying a statement costs more than running it.
_SIZE = select(func.max(Leaf.index))
_FIND = select(Leaf.index).where(Leaf.leaf_hash == bindparam("leaf_hash"))
_LAST = select(Leaf.index, Leaf.timestamp).order_by(Leaf.index.desc()).limit(1)
_LEAF = select(Leaf.data).where(Leaf.index == bindparam("index"))
_RANGE = (
    select(Leaf.data)
    .where(Leaf.index >= bindparam("start"), Leaf.index < bindparam("end"))
    .order_by(Leaf.index)
)
_OF_TYPE = (
    select(Leaf.index, Leaf.data)
    .where(
        Leaf.record_type.in_(bindparam("types", expanding=True)),
        Leaf.index >= bindparam("start"),
    )
    .order_by(Leaf.index)
    .limit(bindparam("limit"))
)
_TYPES_FROM = (
    select(Leaf.record_type)
    .where(Leaf.index >= bindparam("start"))
    .order_by(Leaf.index)
    .limit(bindparam("limit"))
)
_HEAD_COLUMNS = (Leaf.index, Leaf.root_hash, Leaf.timestamp, Leaf.sth_sig)
_HEAD = select(*_HEAD_COLUMNS).where(Leaf.index == bindparam("index"))
_LATEST_HEAD = select(*_HEAD_COLUMNS).order_by(Leaf.index.desc()).limit(1)
# Core inserts of the tables (not the ORM's bulk path): nothing here needs the identity map.
_INSERT_NODES = insert(table_of(MerkleNode))
_INSERT_LEAF = insert(table_of(Leaf))
_LOCK = select(func.pg_advisory_xact_lock(_BOARD_LOCK))


def _unnest_insert(model: type[Base]) -> Insert:
    """PostgreSQL: ``INSERT … SELECT … FROM unnest(CAST(:c AS type[]), …) AS t(c, …)``: a
    batch's rows as one array per column (parameters named after the columns)."""
    table = table_of(model)
    names = [column.name for column in table.columns]
    arrays = [cast(bindparam(name), postgresql.ARRAY(table.c[name].type)) for name in names]
    rows = func.unnest(*arrays).table_valued(*names).render_derived()
    return insert(table).from_select(names, select(*rows.c))


def _columns(rows: Sequence[Mapping[str, object]], names: Iterable[str]) -> dict[str, object]:
    return {name: [row[name] for row in rows] for name in names}


_PG_INSERT_LEAVES = _unnest_insert(Leaf)
_PG_INSERT_NODES = _unnest_insert(MerkleNode)


@functools.cache
def _nodes_query(count: int) -> Select[int, int, bytes]:
    # An OR of (level, idx) pairs, not a row-value IN, which SQLite answers with a table scan.
    pairs = (
        and_(MerkleNode.level == bindparam(f"l{i}"), MerkleNode.idx == bindparam(f"i{i}"))
        for i in range(count)
    )
    return select(MerkleNode.level, MerkleNode.idx, MerkleNode.hash).where(or_(*pairs))


class BoardStore:
    """The append-only board in the ``leaves`` and ``merkle_nodes`` tables.

    ``batch_size``: leaves read per query when streaming.
    """

    def __init__(self, *, batch_size: int = 1000) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self._batch = batch_size

    def lock(self, session: Session) -> None:
        """Serialise board writers, across processes, until the transaction ends.

        PostgreSQL: a transaction-level advisory lock. SQLite: the transaction must come from a
        write sessionmaker, whose ``BEGIN IMMEDIATE`` already holds the database's writer lock
        (service.db explains why); this checks it.
        """
        bind = session.get_bind()
        if bind.dialect.name == "postgresql":
            session.execute(_LOCK)
        else:
            require_write(session)

    def size(self, session: Session) -> int:
        """The number of leaves."""
        last = session.scalar(_SIZE)
        return 0 if last is None else last + 1

    def append(
        self, session: Session, leaf: bytes, sign_sth: SignTreeHead, now_ms: int
    ) -> int:
        """Append ``leaf`` (an envelope's exact bytes) with its tree head; return its index.

        The caller holds :meth:`lock`. Six statements, whatever the size of the board.
        """
        return self.append_leaf(session, leaf, sign_sth, now_ms).index

    def append_leaf(
        self,
        session: Session,
        leaf: bytes,
        sign_sth: SignTreeHead,
        now_ms: int,
        *,
        record_type: str | None = None,
    ) -> AppendedLeaf:
        """``append``, returning the new tree head and the leaf's inclusion proof in it.

        The proof comes from the nodes the append read anyway, so a receipt costs no query.
        ``record_type`` spares parsing the leaf again when the caller already knows it.
        """
        if not 0 <= now_ms <= MAX_SAFE_INTEGER:
            raise ValueError("now_ms must be Unix epoch milliseconds")
        if record_type is None:
            record_type = _record_type(leaf)
        leaf_hash = merkle.leaf_hash(leaf)
        existing = self.find(session, leaf_hash)
        if existing is not None:
            raise DuplicateLeaf(existing)
        last = session.execute(_LAST).first()
        if last is None:
            index, timestamp = 0, now_ms
        else:
            last_index, last_timestamp = last
            # Tree heads never go back in time, even when the clock does.
            index, timestamp = last_index + 1, max(now_ms, last_timestamp)
        # The right edge of the first ``index`` leaves holds every node the append reads.
        edge = self._nodes(session, merkle.root_needs(index))
        return self.append_at(
            session,
            leaf,
            index=index,
            edge=edge,
            timestamp=timestamp,
            sign_sth=sign_sth,
            record_type=record_type,
        )

    def last(self, session: Session) -> tuple[int, int]:
        """``(size, timestamp of the last tree head)``; ``(0, 0)`` for an empty board."""
        row = session.execute(_LAST).first()
        return (0, 0) if row is None else (row[0] + 1, row[1])

    def append_at(
        self,
        session: Session,
        leaf: bytes,
        *,
        index: int,
        edge: Mapping[merkle.NodeId, bytes],
        timestamp: int,
        sign_sth: SignTreeHead,
        record_type: str,
    ) -> AppendedLeaf:
        """Append ``leaf`` as leaf ``index`` when the caller already knows the tree's right
        edge (``RootAccumulator.nodes()`` of the first ``index`` leaves) and the timestamp:
        no read at all, two inserts. The caller holds :meth:`lock` and has checked ``index``
        against :meth:`last` in this transaction; the unique leaf hash refuses duplicates."""
        accumulator = merkle.RootAccumulator.from_nodes(index, edge)
        staged = self.stage(
            leaf,
            edge=accumulator,
            timestamp=timestamp,
            sign_sth=sign_sth,
            record_type=record_type,
        )
        self.write(session, [staged])
        return staged.appended

    @staticmethod
    def stage(
        leaf: bytes,
        *,
        edge: merkle.RootAccumulator,
        timestamp: int,
        sign_sth: SignTreeHead,
        record_type: str,
    ) -> StagedLeaf:
        """``append_at``'s work without its inserts, for :meth:`write` to store with others in
        two statements: the leaf goes at index ``edge.size``, and ``edge`` (the tree's right
        edge) takes it. Its rows, Merkle nodes, signed tree head and inclusion proof."""
        if not 0 <= timestamp <= MAX_SAFE_INTEGER:
            raise ValueError("timestamp must be Unix epoch milliseconds")
        index = edge.size
        leaf_hash = merkle.leaf_hash(leaf)
        created, root_hash, proof = edge.append_stored(leaf_hash)
        signature = sign_sth(index + 1, root_hash, timestamp)
        row = {
            "index": index,
            "leaf_hash": leaf_hash,
            "data": leaf,
            "record_type": record_type,
            "root_hash": root_hash,
            "timestamp": timestamp,
            "sth_sig": signature,
        }
        node_rows = [{"level": level, "idx": idx, "hash": value} for (level, idx), value in created]
        head = TreeHead(index + 1, root_hash, timestamp, signature)
        return StagedLeaf(AppendedLeaf(index, leaf_hash, head, proof), row, node_rows)

    @staticmethod
    def write(session: Session, staged: Sequence[StagedLeaf]) -> None:
        """Insert staged leaves (consecutive, in order) and their nodes: two statements."""
        if not staged:
            return
        nodes = [node for leaf in staged for node in leaf.node_rows]
        rows = [leaf.row for leaf in staged]
        if session.get_bind().dialect.name == "postgresql":
            # One statement per table whatever the batch: psycopg's executemany costs ~50 us
            # of Python per row, an array parameter almost nothing.
            if nodes:
                session.execute(_PG_INSERT_NODES, _columns(nodes, table_of(MerkleNode).c.keys()))
            session.execute(_PG_INSERT_LEAVES, _columns(rows, table_of(Leaf).c.keys()))
            return
        if nodes:
            session.execute(_INSERT_NODES, nodes)
        session.execute(_INSERT_LEAF, rows)

    def find(self, session: Session, leaf_hash: bytes) -> int | None:
        """The index of the leaf with this RFC 9162 leaf hash, if any."""
        return session.scalar(_FIND, {"leaf_hash": leaf_hash})

    def leaf(self, session: Session, index: int) -> bytes:
        """The exact bytes of leaf ``index``."""
        data = session.scalar(_LEAF, {"index": index})
        if data is None:
            raise OutOfRange(f"there is no leaf {index}")
        return data

    def leaves(self, session: Session, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Leaves ``[start, end)`` (``end`` defaults to the size), read in batches.

        The range is checked now; the rows are read while the iterator is consumed, so the
        session must stay open until then.
        """
        size = self.size(session)
        end = size if end is None else end
        if not 0 <= start <= end <= size:
            raise OutOfRange(f"need 0 <= start <= end <= {size}, got start={start} end={end}")
        return self._batches(session, start, end)

    def _batches(self, session: Session, start: int, end: int) -> Iterator[bytes]:
        # Keyset pagination: each batch is an index range scan, never an OFFSET.
        for first in range(start, end, self._batch):
            last = min(first + self._batch, end)
            yield from session.scalars(_RANGE, {"start": first, "end": last})

    def leaves_of_type(
        self, session: Session, record_types: Collection[str], start: int = 0
    ) -> Iterator[tuple[int, bytes]]:
        """``(index, bytes)`` of the leaves whose record type is one of ``record_types``."""
        types = sorted(record_types)
        position = start
        while True:
            batch = session.execute(
                _OF_TYPE, {"types": types, "start": position, "limit": self._batch}
            ).all()
            for row in batch:
                yield row[0], row[1]
            if len(batch) < self._batch:
                return
            position = batch[-1][0] + 1

    def receipt_size(self, session: Session, index: int) -> int:
        """The size of the tree head a receipt for leaf ``index`` carries: ``index + 1``, plus
        the records its append owed (docs/PROTOCOL.md §4.6), which follow it directly."""
        size = index + 1
        following = session.scalars(_TYPES_FROM, {"start": size, "limit": len(OWED_TYPES)})
        for record_type in following:
            if record_type not in OWED_TYPES:
                break
            size += 1
        return size

    def tree_head(self, session: Session, size: int) -> TreeHead:
        """The signed tree head of size ``size`` (1 to the current size)."""
        row = session.execute(_HEAD, {"index": size - 1}).first() if size >= 1 else None
        if row is None:
            raise OutOfRange(f"there is no tree head of size {size}")
        return _tree_head(row)

    def latest_tree_head(self, session: Session) -> TreeHead:
        """The signed tree head of the whole board."""
        row = session.execute(_LATEST_HEAD).first()
        if row is None:
            raise OutOfRange("the board is empty")
        return _tree_head(row)

    def inclusion_proof(self, session: Session, index: int, size: int) -> list[bytes]:
        """RFC 9162 §2.1.3.1 PATH of leaf ``index`` in the tree of ``size`` leaves."""
        current = self.size(session)
        if not 0 <= index < size <= current:
            raise OutOfRange(f"need 0 <= index < size <= {current}, got {index} and {size}")
        nodes = self._nodes(session, merkle.inclusion_needs(index, size))
        return merkle.inclusion_proof(index, size, nodes)

    def consistency_proof(self, session: Session, first: int, second: int) -> list[bytes]:
        """RFC 9162 §2.1.4.1 PROOF that size ``second`` extends size ``first``."""
        current = self.size(session)
        if not 1 <= first <= second <= current:
            raise OutOfRange(f"need 1 <= first <= second <= {current}, got {first} and {second}")
        nodes = self._nodes(session, merkle.consistency_needs(first, second))
        return merkle.consistency_proof(first, second, nodes)

    def _nodes(
        self, session: Session, ids: Iterable[merkle.NodeId]
    ) -> dict[merkle.NodeId, bytes]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        params: dict[str, int] = {}
        for i, (level, idx) in enumerate(wanted):
            params[f"l{i}"], params[f"i{i}"] = level, idx
        rows = session.execute(_nodes_query(len(wanted)), params)
        found = {(row.level, row.idx): row.hash for row in rows}
        if len(found) != len(wanted):
            # Callers check sizes first: only a board damaged outside this store gets here.
            raise RuntimeError(f"the board lacks Merkle nodes {sorted(set(wanted) - set(found))}")
        return found
