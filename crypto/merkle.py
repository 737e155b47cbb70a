"""RFC 9162 §2.1 Merkle tree: hashes, inclusion and consistency proofs, over stored nodes.

Domain separation (RFC 9162 §2.1.1): ``LEAF_PREFIX`` (0x00) before a leaf, ``NODE_PREFIX`` (0x01)
before two child hashes; the empty tree's root is ``EMPTY_ROOT`` = SHA-256("").

Storage model: a log keeps only *perfect* subtrees, named ``NodeId = (level, index)``, the hash of
leaves ``[index·2^level, (index+1)·2^level)``; level 0 holds the leaf hashes. Every hash the RFC
needs is either such a node or a right-edge subtree folded from its perfect decomposition. So the
functions here are pure: ``*_needs`` names the O(log n) nodes a computation reads, the caller
fetches them (from a dict or a database) and passes them in as a mapping. Appending a leaf creates
the leaf node and each parent it completes (O(1) amortised). A node missing from the mapping
raises ``KeyError``.

Proofs: ``inclusion_proof`` is PATH (§2.1.3.1), leaf to root; ``consistency_proof`` is PROOF /
SUBPROOF (§2.1.4.1). ``verify_inclusion`` and ``verify_consistency`` follow §2.1.3.2 and §2.1.4.2
and raise ``InvalidProof`` on any failure, including a hash that is not 32 bytes and impossible
sizes. A consistency proof from the empty tree always fails (there is nothing to be consistent
with); equal sizes need an empty proof and equal roots.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence

from crypto.errors import InvalidProof

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "LEAF_PREFIX",
    "NODE_PREFIX",
    "MemoryTree",
    "NodeId",
    "RootAccumulator",
    "append_needs",
    "append_nodes",
    "consistency_needs",
    "consistency_proof",
    "inclusion_needs",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "root_needs",
    "verify_consistency",
    "verify_inclusion",
]

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeId = tuple[int, int]
"""``(level, index)``: the perfect subtree over leaves ``[index·2^level, (index+1)·2^level)``."""

_Range = tuple[int, int]


# Contexts already fed their prefix: copying one is cheaper than starting SHA-256 afresh and
# saves copying the data behind the prefix (a replay hashes every leaf of a board).
_LEAF_CONTEXT = hashlib.sha256(LEAF_PREFIX)
_NODE_CONTEXT = hashlib.sha256(NODE_PREFIX)


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``."""
    context = _LEAF_CONTEXT.copy()
    context.update(data)
    return context.digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    context = _NODE_CONTEXT.copy()
    context.update(left)
    context.update(right)
    return context.digest()


# --- storage ---------------------------------------------------------------------------------


def append_needs(index: int) -> list[NodeId]:
    """The stored left siblings that appending leaf ``index`` combines with (lowest first)."""
    if index < 0:
        raise ValueError(f"leaf index must be >= 0, got {index}")
    needs: list[NodeId] = []
    level = 0
    # Each trailing 1 bit of the index completes one more parent, whose left half is stored.
    while index & 1:
        needs.append((level, index - 1))
        level, index = level + 1, index >> 1
    return needs


def append_nodes(
    index: int, leaf_hash: bytes, nodes: Mapping[NodeId, bytes]
) -> list[tuple[NodeId, bytes]]:
    """The new nodes after appending leaf ``index``: the leaf itself, then each completed parent.

    ``nodes`` must hold ``append_needs(index)``. This is the hot path of appending, so it walks
    the same trailing 1 bits as ``append_needs`` without building that list.
    """
    if index < 0:
        raise ValueError(f"leaf index must be >= 0, got {index}")
    if len(leaf_hash) != HASH_SIZE:
        raise ValueError(f"leaf hash must be {HASH_SIZE} bytes, got {len(leaf_hash)}")
    created: list[tuple[NodeId, bytes]] = [((0, index), leaf_hash)]
    current, level = leaf_hash, 0
    while index & 1:
        current = node_hash(nodes[(level, index - 1)], current)
        level, index = level + 1, index >> 1
        created.append(((level, index), current))
    return created


# --- which nodes a computation reads -----------------------------------------------------------


def _largest_power_of_two_below(n: int) -> int:
    """The RFC's split point k: the largest power of two strictly less than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _range_nodes(start: int, end: int) -> list[NodeId]:
    """The perfect decomposition of ``[start, end)``, left to right.

    Every range the RFC recursion produces starts at a multiple of a power of two at least as
    large as its own size, so its set bits, high to low, are aligned perfect subtrees.
    """
    ids: list[NodeId] = []
    position, remaining = start, end - start
    while remaining:
        level = remaining.bit_length() - 1
        ids.append((level, position >> level))
        position += 1 << level
        remaining -= 1 << level
    return ids


def _fold(ids: Sequence[NodeId], nodes: Mapping[NodeId, bytes]) -> bytes:
    """MTH of a range from its perfect decomposition: H(P1, H(P2, … H(Pk-1, Pk)))."""
    result = nodes[ids[-1]]
    for node_id in reversed(ids[:-1]):
        result = node_hash(nodes[node_id], result)
    return result


def _inclusion_ranges(index: int, size: int) -> list[_Range]:
    """The subtrees of PATH(index, D[0:size]) (RFC 9162 §2.1.3.1), leaf to root."""
    ranges: list[_Range] = []
    start, end = 0, size
    while end - start > 1:
        middle = start + _largest_power_of_two_below(end - start)
        if index < middle:
            ranges.append((middle, end))
            end = middle
        else:
            ranges.append((start, middle))
            start = middle
    ranges.reverse()
    return ranges


def _consistency_ranges(size1: int, size2: int) -> list[_Range]:
    """The subtrees of PROOF(size1, D[0:size2]) = SUBPROOF(size1, D[0:size2], true) (§2.1.4.1)."""
    ranges: list[_Range] = []
    start, end, whole_old_tree = 0, size2, True
    while end != size1:
        middle = start + _largest_power_of_two_below(end - start)
        if size1 <= middle:
            ranges.append((middle, end))
            end = middle
        else:
            ranges.append((start, middle))
            start, whole_old_tree = middle, False
    if not whole_old_tree:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def _needs(ranges: Sequence[_Range]) -> list[NodeId]:
    return [node_id for start, end in ranges for node_id in _range_nodes(start, end)]


def _hashes(ranges: Sequence[_Range], nodes: Mapping[NodeId, bytes]) -> list[bytes]:
    return [_fold(_range_nodes(start, end), nodes) for start, end in ranges]


def _check_inclusion_args(index: int, size: int) -> None:
    if not 0 <= index < size:
        raise ValueError(f"need 0 <= index < size, got index={index} size={size}")


def _check_consistency_args(size1: int, size2: int) -> None:
    if not 0 < size1 <= size2:
        raise ValueError(f"need 0 < size1 <= size2, got size1={size1} size2={size2}")


def root_needs(size: int) -> list[NodeId]:
    """The stored nodes whose fold is the root of the first ``size`` leaves (popcount(size))."""
    if size < 0:
        raise ValueError(f"tree size must be >= 0, got {size}")
    return _range_nodes(0, size)


def root(size: int, nodes: Mapping[NodeId, bytes]) -> bytes:
    """MTH(D[0:size]) (RFC 9162 §2.1.1); ``EMPTY_ROOT`` for 0."""
    ids = root_needs(size)
    return _fold(ids, nodes) if ids else EMPTY_ROOT


def inclusion_needs(index: int, size: int) -> list[NodeId]:
    """The stored nodes that ``inclusion_proof(index, size, …)`` reads."""
    _check_inclusion_args(index, size)
    return _needs(_inclusion_ranges(index, size))


def inclusion_proof(index: int, size: int, nodes: Mapping[NodeId, bytes]) -> list[bytes]:
    """PATH(index, D[0:size]) (RFC 9162 §2.1.3.1): sibling hashes from the leaf up to the root."""
    _check_inclusion_args(index, size)
    return _hashes(_inclusion_ranges(index, size), nodes)


def consistency_needs(size1: int, size2: int) -> list[NodeId]:
    """The stored nodes that ``consistency_proof(size1, size2, …)`` reads."""
    _check_consistency_args(size1, size2)
    return _needs(_consistency_ranges(size1, size2))


def consistency_proof(size1: int, size2: int, nodes: Mapping[NodeId, bytes]) -> list[bytes]:
    """PROOF(size1, D[0:size2]) (RFC 9162 §2.1.4.1); ``[]`` when the sizes are equal."""
    _check_consistency_args(size1, size2)
    return _hashes(_consistency_ranges(size1, size2), nodes)


# --- verification ----------------------------------------------------------------------------


def _check_hash(name: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise InvalidProof(f"{name} must be {HASH_SIZE} bytes, got {len(value)}")


def _check_match(name: str, calculated: bytes, expected: bytes) -> None:
    if not hmac.compare_digest(calculated, expected):
        raise InvalidProof(
            f"calculated {name} {calculated.hex()} does not match expected {name} {expected.hex()}"
        )


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that leaf ``index`` of a tree of ``size`` leaves has ``leaf_hash`` (§2.1.3.2)."""
    _check_hash("leaf hash", leaf_hash)
    _check_hash("root", root)
    for position, element in enumerate(proof):
        _check_hash(f"proof[{position}]", element)
    if not 0 <= index < size:
        raise InvalidProof(f"leaf index {index} is not within tree size {size}")
    fn, sn, result = index, size - 1, leaf_hash
    for element in proof:
        if sn == 0:
            raise InvalidProof("inclusion proof is too long")
        if fn & 1 or fn == sn:
            result = node_hash(element, result)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, element)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise InvalidProof("inclusion proof is too short")
    _check_match("root", result, root)


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size2`` leaves (``root2``) extends the one of ``size1`` (§2.1.4.2).

    Lengths are checked first, so equal sizes with equal but non-32-byte roots fail.
    """
    _check_hash("root1", root1)
    _check_hash("root2", root2)
    for position, element in enumerate(proof):
        _check_hash(f"proof[{position}]", element)
    if not 0 < size1 <= size2:
        raise InvalidProof(f"no consistency proof from size {size1} to size {size2}")
    if size1 == size2:
        if proof:
            raise InvalidProof("sizes are equal but the proof is not empty")
        _check_match("root", root1, root2)
        return
    if not proof:
        raise InvalidProof("consistency proof is empty")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    first = second = path[0]
    for element in path[1:]:
        if sn == 0:
            raise InvalidProof("consistency proof is too long")
        if fn & 1 or fn == sn:
            first = node_hash(element, first)
            second = node_hash(element, second)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            second = node_hash(second, element)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise InvalidProof("consistency proof is too short")
    _check_match("root1", first, root1)
    _check_match("root2", second, root2)


# --- streaming root --------------------------------------------------------------------------


class RootAccumulator:
    """The RFC 9162 §2.1.1 root of a stream of leaves in O(log n) memory.

    It keeps only the right edge of the tree: one perfect subtree per set bit of the size, in
    falling sizes. Auditors and clients that read a whole board use it instead of storing it;
    the server uses its ``nodes`` to append without reading the stored tree back.
    """

    __slots__ = ("_stack", "size")

    def __init__(self) -> None:
        # One hash per set bit of ``size``, highest first: the perfect subtrees of the edge.
        self._stack: list[bytes] = []
        self.size = 0

    @classmethod
    def from_nodes(cls, size: int, nodes: Mapping[NodeId, bytes]) -> RootAccumulator:
        """The accumulator of a tree of ``size`` leaves, from stored nodes holding
        ``root_needs(size)`` (what ``nodes()`` gives back)."""
        accumulator = cls()
        accumulator._stack = [nodes[node] for node in root_needs(size)]
        accumulator.size = size
        return accumulator

    def append(self, leaf_data: bytes) -> None:
        # ``append_hash(leaf_hash(leaf_data))`` written out: a replay appends every leaf.
        context = _LEAF_CONTEXT.copy()
        context.update(leaf_data)
        self._push(context.digest())

    def append_hash(self, leaf_hash: bytes) -> None:
        """Append a leaf given its RFC 9162 leaf hash."""
        self._push(leaf_hash)

    def _push(self, current: bytes) -> None:
        stack, size = self._stack, self.size
        # Each trailing 1 bit of the old size is a subtree the new leaf completes a parent of.
        while size & 1:
            context = _NODE_CONTEXT.copy()
            context.update(stack.pop())
            context.update(current)
            current = context.digest()
            size >>= 1
        stack.append(current)
        self.size += 1

    def append_stored(
        self, leaf_hash: bytes
    ) -> tuple[list[tuple[NodeId, bytes]], bytes, list[bytes]]:
        """Append a leaf hash as a store does: ``(created, root, proof)``, where ``created`` is
        ``append_nodes``'s list (the leaf, then each parent it completes), ``root`` the new
        tree's root and ``proof`` the new leaf's inclusion proof in it (RFC 9162 §2.1.3.1).

        The last leaf's path is the old edge, smallest subtree first; the root folds the new
        edge. So an append costs the parents' hashes and the root's, and no lookup.
        """
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"leaf hash must be {HASH_SIZE} bytes, got {len(leaf_hash)}")
        stack, index = self._stack, self.size
        proof = stack[::-1]
        created: list[tuple[NodeId, bytes]] = [((0, index), leaf_hash)]
        current, level, position = leaf_hash, 0, index
        while position & 1:
            current = node_hash(stack.pop(), current)
            level, position = level + 1, position >> 1
            created.append(((level, position), current))
        stack.append(current)
        self.size = index + 1
        root = stack[-1]
        for left in reversed(stack[:-1]):
            root = node_hash(left, root)
        return created, root, proof

    def nodes(self) -> dict[NodeId, bytes]:
        """The right edge as stored nodes: exactly ``root_needs(size)``, which also holds
        ``append_needs(size)`` and, with the nodes an append creates, the new leaf's path."""
        return dict(zip(root_needs(self.size), self._stack, strict=True))

    def root(self) -> bytes:
        """The root of the leaves appended so far (``EMPTY_ROOT`` for none)."""
        if not self._stack:
            return EMPTY_ROOT
        result = self._stack[-1]
        for left in reversed(self._stack[:-1]):
            result = node_hash(left, result)
        return result


# --- in-memory store -------------------------------------------------------------------------


class MemoryTree:
    """An append-only tree in a dict of stored nodes, for the auditor and the tests.

    Cost: 2n − popcount(n) dict entries for n leaves (a tuple key and a 32-byte value each),
    about 440 bytes per leaf in CPython: ~420 MiB for a million leaves, so a 10-million-leaf
    board belongs in a database (bench/merkle.py measures this). Leaf bytes are not kept. An
    append costs one leaf hash plus, on average, one node hash.
    """

    def __init__(self) -> None:
        self._nodes: dict[NodeId, bytes] = {}
        self._size = 0

    @property
    def size(self) -> int:
        """The number of leaves appended so far."""
        return self._size

    def append(self, leaf_data: bytes) -> int:
        """Append a leaf's bytes; returns its index."""
        index = self._size
        self._nodes.update(append_nodes(index, leaf_hash(leaf_data), self._nodes))
        self._size += 1
        return index

    def _size_or_current(self, size: int | None) -> int:
        if size is None:
            return self._size
        if size > self._size:
            raise ValueError(f"tree size {size} is beyond the current size {self._size}")
        return size

    def root(self, size: int | None = None) -> bytes:
        """The root of the first ``size`` leaves (default: all)."""
        return root(self._size_or_current(size), self._nodes)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH for leaf ``index`` in the tree of ``size`` leaves (default: all)."""
        return inclusion_proof(index, self._size_or_current(size), self._nodes)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """PROOF from ``size1`` to ``size2`` leaves (default: all)."""
        return consistency_proof(size1, self._size_or_current(size2), self._nodes)
