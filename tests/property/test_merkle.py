"""Properties of crypto.merkle against an independent RFC 9162 §2.1 reference, small and large."""

from __future__ import annotations

import bisect
import functools
import hashlib
import itertools
from collections.abc import Iterator, Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import InvalidProof
from crypto.merkle import (
    MemoryTree,
    NodeId,
    append_needs,
    append_nodes,
    consistency_needs,
    consistency_proof,
    inclusion_needs,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    root_needs,
    verify_consistency,
    verify_inclusion,
)

SMALL = 300  # every (index, size) and (size1, size2) pair up to EXHAUSTIVE, hypothesis beyond
EXHAUSTIVE = 64
LEAVES = tuple(b"leaf %d" % i for i in range(SMALL))  # distinct, so distinct subtrees
Range = tuple[int, int]


# --- reference: the RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 recursions, on leaf ranges ---------


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@functools.cache
def _mth(start: int, end: int) -> bytes:
    n = end - start
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + LEAVES[start]).digest()
    k = _split(n)
    return hashlib.sha256(b"\x01" + _mth(start, start + k) + _mth(start + k, end)).digest()


def _path(m: int, start: int, end: int) -> list[Range]:
    if end - start == 1:
        return []
    k = _split(end - start)
    if m < k:
        return [*_path(m, start, start + k), (start + k, end)]
    return [*_path(m - k, start + k, end), (start, start + k)]


def _subproof(m: int, start: int, end: int, whole: bool) -> list[Range]:
    if m == end - start:
        return [] if whole else [(start, end)]
    k = _split(end - start)
    if m <= k:
        return [*_subproof(m, start, start + k, whole), (start + k, end)]
    return [*_subproof(m - k, start + k, end, False), (start, start + k)]


def _shape(index: int, size: int) -> tuple[bool, ...]:
    """Which side each audit-path sibling is on: the leaf's position in the tree's shape."""
    return tuple(start > index for start, _ in _path(index, 0, size))


@functools.cache
def _small_tree() -> MemoryTree:
    tree = MemoryTree()
    for data in LEAVES:
        tree.append(data)
    return tree


@functools.cache
def _small_store() -> dict[NodeId, bytes]:
    """The same tree built with the storage functions alone, as a database would."""
    nodes: dict[NodeId, bytes] = {}
    for index, data in enumerate(LEAVES):
        reads = {node_id: nodes[node_id] for node_id in append_needs(index)}
        nodes.update(append_nodes(index, leaf_hash(data), reads))
    return nodes


# --- structure helpers -------------------------------------------------------------------------


def _span(node_id: NodeId) -> Range:
    level, index = node_id
    return index << level, (index + 1) << level


def _assert_tiles(node_ids: list[NodeId], size: int) -> None:
    """The perfect subtrees are disjoint, inside the tree, and cover [0, size) exactly."""
    spans = sorted(_span(node_id) for node_id in node_ids)
    assert spans[0][0] == 0
    assert spans[-1][1] == size
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))


def _depth(size: int) -> int:
    return (size - 1).bit_length()


def _assert_needs_bounds(size: int, index: int, size1: int) -> None:
    depth = _depth(size)
    # Tight bounds: one sibling on the right edge is incomplete and splits into fewer
    # perfect subtrees than its level; exhaustively attained, see test_needs_bounds_are_tight.
    assert len(inclusion_needs(index, size)) <= max(depth, 2 * depth - 2)
    assert len(consistency_needs(size1, size)) <= max(0, 2 * depth - 1)
    assert len(root_needs(size)) == size.bit_count()
    assert len(append_needs(index)) <= index.bit_length()


def _flip(value: bytes, bit: int) -> bytes:
    bit %= 8 * len(value)
    return value[: bit // 8] + bytes([value[bit // 8] ^ (1 << bit % 8)]) + value[bit // 8 + 1 :]


# --- small trees: exhaustive agreement with the reference ---------------------------------------


def test_every_small_tree_matches_the_reference() -> None:
    tree = _small_tree()
    nodes = _small_store()
    assert len(nodes) == 2 * SMALL - SMALL.bit_count()  # every perfect subtree, once
    for size in range(1, EXHAUSTIVE + 1):
        top = tree.root(size)
        assert top == _mth(0, size)
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            assert proof == [_mth(*r) for r in _path(index, 0, size)]
            verify_inclusion(leaf_hash(LEAVES[index]), index, size, proof, top)
            needs = inclusion_needs(index, size)
            assert inclusion_proof(index, size, {n: nodes[n] for n in needs}) == proof
            _assert_tiles([*needs, (0, index)], size)
        for size1 in range(1, size + 1):
            proof = tree.consistency_proof(size1, size)
            assert proof == [_mth(*r) for r in _subproof(size1, 0, size, True)]
            verify_consistency(size1, size, proof, tree.root(size1), top)
            needs = consistency_needs(size1, size)
            assert consistency_proof(size1, size, {n: nodes[n] for n in needs}) == proof
            if size1 < size:
                # The omitted old root (size1 a power of two) completes the tiling.
                old = [(size1.bit_length() - 1, 0)] if size1 & (size1 - 1) == 0 else []
                _assert_tiles([*needs, *old], size)
            _assert_needs_bounds(size, size1 - 1, size1)


def test_needs_bounds_are_tight() -> None:
    for depth in range(2, 8):
        size = 1 << depth
        assert max(len(inclusion_needs(i, s)) for s in range(1, size + 1) for i in range(s)) == (
            2 * depth - 2
        )
        assert max(
            len(consistency_needs(s1, s)) for s in range(1, size + 1) for s1 in range(1, s + 1)
        ) == (2 * depth - 1)


sizes = st.integers(1, SMALL)


@st.composite
def _index_and_size(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(sizes)
    return draw(st.integers(0, size - 1)), size


@st.composite
def _two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    size2 = draw(sizes)
    return draw(st.integers(1, size2)), size2


@settings(max_examples=150, deadline=None)
@given(_index_and_size(), st.integers(0, 2**16), st.integers(0, SMALL - 1), sizes)
def test_inclusion_rejects_any_change(
    case: tuple[int, int], bit: int, other_index: int, other_size: int
) -> None:
    index, size = case
    tree = _small_tree()
    h, proof, top = leaf_hash(LEAVES[index]), tree.inclusion_proof(index, size), tree.root(size)
    assert proof == [_mth(*r) for r in _path(index, 0, size)]
    verify_inclusion(h, index, size, proof, top)
    bad_calls = [
        (_flip(h, bit), index, size, proof, top),
        (h, index, size, proof, _flip(top, bit)),
        (h, index, size, [*proof, proof[-1] if proof else top], top),
    ]
    if proof:
        position = bit % len(proof)
        flipped = [*proof[:position], _flip(proof[position], bit), *proof[position + 1 :]]
        bad_calls += [(h, index, size, flipped, top), (h, index, size, proof[:-1], top)]
    if other_index != index:
        bad_calls.append((h, other_index, size, proof, top))
    for args in bad_calls:
        with pytest.raises(InvalidProof):
            verify_inclusion(*args)
    # The size is not authenticated by the proof (the signed tree head binds it to the root):
    # a wrong size passes exactly when the leaf sits at the same place in both shapes.
    if other_size != size:
        if index < other_size and _shape(index, other_size) == _shape(index, size):
            verify_inclusion(h, index, other_size, proof, top)
        else:
            with pytest.raises(InvalidProof):
                verify_inclusion(h, index, other_size, proof, top)
        # Against the real root of the other size, only that size's own proof passes.
        if index < other_size and tree.inclusion_proof(index, other_size) != proof:
            with pytest.raises(InvalidProof):
                verify_inclusion(h, index, other_size, proof, tree.root(other_size))


@settings(max_examples=150, deadline=None)
@given(_two_sizes(), st.integers(0, 2**16), _two_sizes())
def test_consistency_rejects_any_change(
    case: tuple[int, int], bit: int, other: tuple[int, int]
) -> None:
    size1, size2 = case
    tree = _small_tree()
    proof = tree.consistency_proof(size1, size2)
    root1, root2 = tree.root(size1), tree.root(size2)
    verify_consistency(size1, size2, proof, root1, root2)
    bad_calls = [
        (size1, size2, proof, _flip(root1, bit), root2),
        (size1, size2, proof, root1, _flip(root2, bit)),
        (size1, size2, [*proof, root1], root1, root2),
    ]
    if proof:
        position = bit % len(proof)
        flipped = [*proof[:position], _flip(proof[position], bit), *proof[position + 1 :]]
        bad_calls += [(size1, size2, flipped, root1, root2), (*case, proof[:-1], root1, root2)]
    for args in bad_calls:
        with pytest.raises(InvalidProof):
            verify_consistency(*args)
    # Other sizes with their own true roots: only their own proof passes.
    other1, other2 = other
    if other != case and tree.consistency_proof(other1, other2) != proof:
        with pytest.raises(InvalidProof):
            verify_consistency(other1, other2, proof, tree.root(other1), tree.root(other2))


# --- at scale: a lazily computed tree of up to 2^40 leaves ---------------------------------------

_BACKGROUND = [leaf_hash(b"background")]
for _ in range(64):
    _BACKGROUND.append(node_hash(_BACKGROUND[-1], _BACKGROUND[-1]))


class _SparseStore(Mapping[NodeId, bytes]):
    """A consistent node store for a huge tree where all leaves but a few are one background leaf.

    Node (level, i) is the real RFC 9162 hash of its leaves, computed lazily: a subtree with no
    special leaf has the background hash of its level, the others recurse (O(specials·level)).
    Only lookups are meaningful; ``reads`` records the keys the code under test asked for.
    """

    def __init__(self, special: set[int]) -> None:
        self._special = sorted(special)
        self._cache: dict[NodeId, bytes] = {}
        self.reads: list[NodeId] = []

    def _hash(self, level: int, index: int) -> bytes:
        start, end = index << level, (index + 1) << level
        first = bisect.bisect_left(self._special, start)
        if first == len(self._special) or self._special[first] >= end:
            return _BACKGROUND[level]
        if level == 0:
            return leaf_hash(b"special %d" % index)
        if (level, index) not in self._cache:
            left = self._hash(level - 1, 2 * index)
            self._cache[(level, index)] = node_hash(left, self._hash(level - 1, 2 * index + 1))
        return self._cache[(level, index)]

    def __getitem__(self, node_id: NodeId) -> bytes:
        self.reads.append(node_id)
        return self._hash(*node_id)

    def __iter__(self) -> Iterator[NodeId]:
        return iter([(0, i) for i in self._special])

    def __len__(self) -> int:
        return len(self._special)


large_sizes = st.one_of(
    st.integers(1, 2**40),
    st.integers(0, 40).map(lambda b: 2**b),
    st.integers(1, 40).map(lambda b: 2**b - 1),
    st.integers(0, 40).map(lambda b: 2**b + 1),
)


@settings(max_examples=60, deadline=None)
@given(large_sizes, st.data())
def test_large_trees(size2: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, size2 - 1), label="index")
    size1 = data.draw(st.integers(1, size2), label="size1")
    others = data.draw(st.sets(st.integers(0, size2 - 1), max_size=4), label="others")
    bit = data.draw(st.integers(0, 255), label="bit")
    store = _SparseStore({0, index, size1 - 1, min(size1, size2 - 1), size2 - 1, *others})
    root1, root2 = root(size1, store), root(size2, store)

    # Inclusion: verifies, reads exactly its needs, which tile the tree with the leaf.
    store.reads.clear()
    proof = inclusion_proof(index, size2, store)
    needs = inclusion_needs(index, size2)
    assert sorted(store.reads) == sorted(needs)
    _assert_tiles([*needs, (0, index)], size2)
    h = store[(0, index)]
    verify_inclusion(h, index, size2, proof, root2)
    if proof:
        position = bit % len(proof)
        flipped = [*proof[:position], _flip(proof[position], bit), *proof[position + 1 :]]
        with pytest.raises(InvalidProof):
            verify_inclusion(h, index, size2, flipped, root2)
    with pytest.raises(InvalidProof):
        verify_inclusion(_flip(h, bit), index, size2, proof, root2)
    for other in others - {index}:
        with pytest.raises(InvalidProof):
            verify_inclusion(h, other, size2, proof, root2)

    # Consistency: the same, from size1.
    store.reads.clear()
    cproof = consistency_proof(size1, size2, store)
    cneeds = consistency_needs(size1, size2)
    assert sorted(store.reads) == sorted(cneeds)
    verify_consistency(size1, size2, cproof, root1, root2)
    if size1 < size2:
        old = [(size1.bit_length() - 1, 0)] if size1 & (size1 - 1) == 0 else []
        _assert_tiles([*cneeds, *old], size2)
    with pytest.raises(InvalidProof):
        verify_consistency(size1, size2, cproof, _flip(root1, bit), root2)
    with pytest.raises(InvalidProof):
        verify_consistency(size1, size2, cproof, root1, _flip(root2, bit))

    store.reads.clear()
    assert root(size2, store) == root2
    assert sorted(store.reads) == sorted(root_needs(size2))
    _assert_tiles(root_needs(size2), size2)
    _assert_needs_bounds(size2, index, size1)


@given(st.lists(st.binary(max_size=8), max_size=300))
def test_root_accumulator_streams_the_same_root(leaves: list[bytes]) -> None:
    from crypto.merkle import MemoryTree, RootAccumulator

    tree, accumulator = MemoryTree(), RootAccumulator()
    assert accumulator.root() == tree.root()
    for leaf in leaves:
        tree.append(leaf)
        accumulator.append(leaf)
        assert accumulator.size == tree.size
        # Its right edge is exactly the stored nodes the root is folded from.
        edge = accumulator.nodes()
        assert list(edge) == root_needs(tree.size)
        assert root(tree.size, edge) == tree.root()
        assert edge == {node: tree._nodes[node] for node in edge}
    assert accumulator.root() == tree.root()


@given(st.lists(st.binary(max_size=8), max_size=100))
def test_append_hash_is_append_of_the_leaf_hash(leaves: list[bytes]) -> None:
    from crypto.merkle import RootAccumulator

    by_data, by_hash = RootAccumulator(), RootAccumulator()
    for leaf in leaves:
        by_data.append(leaf)
        by_hash.append_hash(leaf_hash(leaf))
        assert (by_hash.size, by_hash.root()) == (by_data.size, by_data.root())
        assert by_hash.nodes() == by_data.nodes()


@given(st.lists(st.binary(max_size=8), min_size=1, max_size=300))
def test_append_stored_gives_what_a_stored_append_computes(leaves: list[bytes]) -> None:
    from crypto.merkle import MemoryTree, RootAccumulator, append_nodes, inclusion_proof

    tree, accumulator = MemoryTree(), RootAccumulator()
    for index, leaf in enumerate(leaves):
        edge = accumulator.nodes()
        created, new_root, proof = accumulator.append_stored(leaf_hash(leaf))
        tree.append(leaf)
        assert created == append_nodes(index, leaf_hash(leaf), edge)
        assert new_root == tree.root() == accumulator.root()
        assert proof == tree.inclusion_proof(index) == inclusion_proof(
            index, index + 1, {**edge, **dict(created)}
        )
        assert accumulator.size == index + 1
    with pytest.raises(ValueError, match="32 bytes"):
        accumulator.append_stored(bytes(31))
