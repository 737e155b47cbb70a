"""Unit tests for crypto.merkle (RFC 9162 §2.1)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import pytest

from crypto.errors import CryptoError, InvalidProof
from crypto.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    LEAF_PREFIX,
    NODE_PREFIX,
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

# The 8 RFC 6962 test leaves used by the transparency-dev vectors.
RFC_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
# Roots of the first 1..8 RFC leaves. tests/vectors/README.md lists these prefixes; the full values
# are the reference recursion's below (test_rfc_roots checks both).
RFC_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
README_PREFIXES = [
    ("6e340b9c", "a01d"),
    ("fac54203", "c125"),
    ("aeb6bcfe", "6e77"),
    ("d37ee418", "14b7"),
    ("4e3bbb1f", "64d4"),
    ("76e67dad", "87ef"),
    ("ddb89be4", "4c8c"),
    ("5dc9da79", "4328"),
]


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _reference_mth(leaves: Sequence[bytes]) -> bytes:
    """MTH per RFC 9162 §2.1.1, straight from the definition."""
    n = len(leaves)
    if n == 0:
        return _sha256(b"")
    if n == 1:
        return _sha256(b"\x00" + leaves[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return _sha256(b"\x01" + _reference_mth(leaves[:k]) + _reference_mth(leaves[k:]))


def _tree(leaves: Sequence[bytes]) -> MemoryTree:
    tree = MemoryTree()
    for data in leaves:
        tree.append(data)
    return tree


def test_constants() -> None:
    assert LEAF_PREFIX == b"\x00"
    assert NODE_PREFIX == b"\x01"
    assert HASH_SIZE == 32
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_leaf_and_node_hash() -> None:
    assert leaf_hash(b"") == _sha256(b"\x00")
    assert leaf_hash(b"abc") == _sha256(b"\x00abc")
    left, right = _sha256(b"l"), _sha256(b"r")
    assert node_hash(left, right) == _sha256(b"\x01" + left + right)
    assert node_hash(left, right) != node_hash(right, left)
    # Domain separation: a 64-byte leaf never hashes like the node over its two halves.
    assert leaf_hash(left + right) != node_hash(left, right)


@pytest.mark.parametrize("size", range(1, 9))
def test_rfc_roots(size: int) -> None:
    expected = RFC_ROOTS[size - 1]
    prefix, suffix = README_PREFIXES[size - 1]
    assert expected.startswith(prefix)
    assert expected.endswith(suffix)
    assert _reference_mth(RFC_LEAVES[:size]).hex() == expected
    assert _tree(RFC_LEAVES).root(size).hex() == expected
    assert _tree(RFC_LEAVES[:size]).root().hex() == expected


def test_empty_tree() -> None:
    tree = MemoryTree()
    assert tree.size == 0
    assert tree.root() == EMPTY_ROOT
    assert root(0, {}) == EMPTY_ROOT
    assert root_needs(0) == []


def test_append_needs_and_nodes() -> None:
    assert append_needs(0) == []
    assert append_needs(1) == [(0, 0)]
    assert append_needs(2) == []
    assert append_needs(6) == []
    assert append_needs(7) == [(0, 6), (1, 2), (2, 0)]
    assert append_needs(11) == [(0, 10), (1, 4)]
    nodes = {node_id: _node(RFC_LEAVES, node_id) for node_id in append_needs(7)}
    h7 = leaf_hash(RFC_LEAVES[7])
    created = append_nodes(7, h7, nodes)
    assert [node_id for node_id, _ in created] == [(0, 7), (1, 3), (2, 1), (3, 0)]
    assert created[0][1] == h7
    assert created[-1][1].hex() == RFC_ROOTS[7]
    assert append_nodes(4, h7, {}) == [((0, 4), h7)]


def _node(leaves: Sequence[bytes], node_id: NodeId) -> bytes:
    level, index = node_id
    return _reference_mth(leaves[index << level : (index + 1) << level])


def test_root_needs() -> None:
    assert root_needs(1) == [(0, 0)]
    assert root_needs(4) == [(2, 0)]
    assert root_needs(7) == [(2, 0), (1, 2), (0, 6)]
    assert root_needs(2**40 + 3) == [(40, 0), (1, 2**39), (0, 2**40 + 2)]


# RFC 9162 §2.1.5 example: the tree of 7 leaves d0..d6, with a..f the leaf hashes,
# g = [0,2), h = [2,4), i = [4,6), j = leaf 6, k = [0,4), l = [4,7).
RANGES = {
    "a": (0, 1), "b": (1, 2), "c": (2, 3), "d": (3, 4), "e": (4, 5), "f": (5, 6),
    "g": (0, 2), "h": (2, 4), "i": (4, 6), "j": (6, 7), "k": (0, 4), "l": (4, 7),
}  # fmt: skip
SEVEN = [b"d%d" % i for i in range(7)]


def _letters(names: str) -> list[bytes]:
    return [_reference_mth(SEVEN[slice(*RANGES[name])]) for name in names]


@pytest.mark.parametrize(
    ("index", "names", "needs"),
    [
        (0, "bhl", [(0, 1), (1, 1), (1, 2), (0, 6)]),
        (3, "cgl", [(0, 2), (1, 0), (1, 2), (0, 6)]),
        (4, "fjk", [(0, 5), (0, 6), (2, 0)]),
        (6, "ik", [(1, 2), (2, 0)]),
    ],
)
def test_rfc_inclusion_examples(index: int, names: str, needs: list[NodeId]) -> None:
    tree = _tree(SEVEN)
    assert tree.inclusion_proof(index) == _letters(names)
    assert inclusion_needs(index, 7) == needs
    verify_inclusion(leaf_hash(SEVEN[index]), index, 7, _letters(names), tree.root())


@pytest.mark.parametrize(
    ("size1", "names", "needs"),
    [
        (3, "cdgl", [(0, 2), (0, 3), (1, 0), (1, 2), (0, 6)]),
        (4, "l", [(1, 2), (0, 6)]),
        (6, "ijk", [(1, 2), (0, 6), (2, 0)]),
    ],
)
def test_rfc_consistency_examples(size1: int, names: str, needs: list[NodeId]) -> None:
    tree = _tree(SEVEN)
    assert tree.consistency_proof(size1) == _letters(names)
    assert consistency_needs(size1, 7) == needs
    verify_consistency(size1, 7, _letters(names), tree.root(size1), tree.root())


def test_equal_sizes() -> None:
    tree = _tree(SEVEN)
    assert tree.consistency_proof(7) == []
    assert consistency_needs(5, 5) == []
    verify_consistency(5, 5, [], tree.root(5), tree.root(5))
    with pytest.raises(InvalidProof, match="does not match"):
        verify_consistency(5, 5, [], tree.root(5), tree.root(6))
    with pytest.raises(InvalidProof, match="not empty"):
        verify_consistency(5, 5, [tree.root(5)], tree.root(5), tree.root(5))


def test_consistency_from_empty_tree_always_fails() -> None:
    tree = _tree(SEVEN)
    for size2 in (0, 1, 7):
        for proof in ([], [EMPTY_ROOT], [tree.root(size2)]):
            with pytest.raises(InvalidProof):
                verify_consistency(0, size2, proof, EMPTY_ROOT, tree.root(size2))


@pytest.mark.parametrize(
    "call",
    [
        lambda: append_needs(-1),
        lambda: append_nodes(-1, bytes(32), {}),
        lambda: append_nodes(0, bytes(31), {}),
        lambda: root_needs(-1),
        lambda: root(-1, {}),
        lambda: inclusion_needs(0, 0),
        lambda: inclusion_needs(3, 3),
        lambda: inclusion_needs(-1, 3),
        lambda: inclusion_proof(3, 3, {}),
        lambda: consistency_needs(0, 3),
        lambda: consistency_needs(4, 3),
        lambda: consistency_proof(0, 0, {}),
        lambda: consistency_proof(2, 1, {}),
        lambda: _tree(SEVEN).root(8),
        lambda: _tree(SEVEN).inclusion_proof(7),
        lambda: _tree(SEVEN).inclusion_proof(0, 8),
        lambda: _tree(SEVEN).consistency_proof(3, 8),
        lambda: _tree(SEVEN).consistency_proof(0),
    ],
)
def test_out_of_range_arguments_raise_value_error(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        call()


def test_missing_node_raises_key_error() -> None:
    with pytest.raises(KeyError):
        root(3, {(1, 0): bytes(32)})
    with pytest.raises(KeyError):
        inclusion_proof(0, 2, {})


def test_inclusion_failure_names_both_roots() -> None:
    tree = _tree(SEVEN)
    wrong = bytes(32)
    with pytest.raises(InvalidProof) as caught:
        verify_inclusion(leaf_hash(SEVEN[2]), 2, 7, tree.inclusion_proof(2), wrong)
    assert wrong.hex() in str(caught.value)
    assert tree.root().hex() in str(caught.value)
    assert isinstance(caught.value, CryptoError)
    assert not isinstance(caught.value, ValueError)


def test_consistency_failure_names_both_roots() -> None:
    tree = _tree(SEVEN)
    wrong = bytes(32)
    with pytest.raises(InvalidProof) as caught:
        verify_consistency(3, 7, tree.consistency_proof(3), tree.root(3), wrong)
    assert wrong.hex() in str(caught.value)
    assert tree.root().hex() in str(caught.value)


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_verify_requires_32_byte_hashes(length: int) -> None:
    tree = _tree(SEVEN)
    bad = bytes(length)
    good_leaf, proof, top = leaf_hash(SEVEN[1]), tree.inclusion_proof(1), tree.root()
    for args in [
        (bad, 1, 7, proof, top),
        (good_leaf, 1, 7, [*proof[:-1], bad], top),
        (good_leaf, 1, 7, proof, bad),
    ]:
        with pytest.raises(InvalidProof, match="32 bytes"):
            verify_inclusion(*args)
    cproof, r1 = tree.consistency_proof(3), tree.root(3)
    for cargs in [
        (3, 7, cproof, bad, top),
        (3, 7, cproof, r1, bad),
        (3, 7, [bad, *cproof[1:]], r1, top),
    ]:
        with pytest.raises(InvalidProof, match="32 bytes"):
            verify_consistency(*cargs)


def test_verify_rejects_impossible_sizes() -> None:
    tree = _tree(SEVEN)
    h, top = leaf_hash(SEVEN[0]), tree.root()
    for index, size in [(7, 7), (-1, 7), (0, 0), (8, 7)]:
        with pytest.raises(InvalidProof):
            verify_inclusion(h, index, size, tree.inclusion_proof(0), top)
    with pytest.raises(InvalidProof):
        verify_consistency(7, 3, tree.consistency_proof(3), top, tree.root(3))
    with pytest.raises(InvalidProof, match="empty"):
        verify_consistency(3, 7, [], tree.root(3), top)


def test_single_leaf_tree() -> None:
    tree = _tree([b"only"])
    assert tree.root() == leaf_hash(b"only")
    assert tree.inclusion_proof(0) == []
    assert inclusion_needs(0, 1) == []
    verify_inclusion(leaf_hash(b"only"), 0, 1, [], tree.root())
    with pytest.raises(InvalidProof, match="too long"):
        verify_inclusion(leaf_hash(b"only"), 0, 1, [tree.root()], tree.root())


def test_append_returns_index_and_keeps_old_roots() -> None:
    tree = MemoryTree()
    roots = []
    for i, data in enumerate(RFC_LEAVES):
        assert tree.append(data) == i
        assert tree.size == i + 1
        roots.append(tree.root())
    assert [r.hex() for r in roots] == RFC_ROOTS
    assert [tree.root(n).hex() for n in range(1, 9)] == RFC_ROOTS
