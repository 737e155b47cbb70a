"""The bytes a tree head signature covers: service.store writes them directly, fast, and they
must be exactly JCS of the tree head object (docs/PROTOCOL.md §4), which auditors recompute."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.encoding import MAX_SAFE_INTEGER, canonical_json
from service.store import sth_bytes, sth_object

sizes = st.integers(0, MAX_SAFE_INTEGER)


@given(sizes, st.binary(min_size=32, max_size=32), sizes)
def test_tree_head_bytes_are_the_jcs_of_the_tree_head(
    tree_size: int, root_hash: bytes, timestamp: int
) -> None:
    expected = canonical_json(sth_object(tree_size, root_hash, timestamp))
    assert sth_bytes(tree_size, root_hash, timestamp) == expected


@pytest.mark.parametrize(
    ("tree_size", "timestamp"), [(-1, 0), (0, -1), (MAX_SAFE_INTEGER + 1, 0), (0, 2**53)]
)
def test_tree_head_bytes_refuse_what_jcs_cannot_write(tree_size: int, timestamp: int) -> None:
    with pytest.raises(ValueError, match="2\\^53"):
        sth_bytes(tree_size, bytes(32), timestamp)
