"""Any tampering with an exported board is detected (DESIGN §8), at every leaf position.

For one small generated board, each mutation is tried at EVERY position, not at a sample:
deleting a leaf, duplicating it, swapping it with the next one, or flipping one of its bytes.
Replays restart from a copy of the untouched prefix's state (the same fold ``verify_board``
runs; ``test_prefix_replays_match_verify_board`` checks that), so the loops stay fast.
"""

from __future__ import annotations

import copy
import functools
import json
import random
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from audit import VerificationFailed
from audit._leaf import canonical_value
from audit.replay import Replay, TreeHead, verify_board
from crypto.encoding import canonical_json, parse_json
from crypto.errors import EncodingError
from tests.boardgen import BoardBuilder, random_board


@functools.cache
def _board() -> BoardBuilder:
    return random_board(random.Random(11), 30)


@functools.cache
def _prefixes() -> tuple[Replay, ...]:
    """The replay state after each prefix of the untouched board: ``[i]`` holds ``i`` leaves."""
    replay, states = Replay(), [Replay()]
    for leaf in _board().leaves():
        replay.feed(leaf)
        states.append(copy.deepcopy(replay))
    return tuple(states)


def _verify_from(position: int, rest: Sequence[bytes], *, with_sth: bool) -> VerificationFailed:
    """Replay the untouched first ``position`` leaves, then ``rest``; the failure expected."""
    replay = copy.deepcopy(_prefixes()[position])
    sth = TreeHead.from_json(_board().sth()) if with_sth else None
    try:
        for leaf in rest:
            replay.feed(leaf)
        replay.finish(sth=sth)
    except VerificationFailed as failure:
        return failure
    raise AssertionError(f"tampering at leaf {position} went undetected")


def test_the_untouched_board_verifies() -> None:
    b = _board()
    n = len(b)
    report = verify_board(b.leaves(), sth=b.sth(), known_sths=[b.sth(k) for k in range(n + 1)])
    assert report.tree_size == n
    assert all(copy.deepcopy(_prefixes()[k]).size == k for k in range(n + 1))


def test_prefix_replays_match_verify_board() -> None:
    leaves = _board().leaves()
    for position in (0, 7, len(leaves) // 2, len(leaves) - 1):
        tampered = leaves[:position] + leaves[position + 1 :]
        try:
            verify_board(tampered, sth=_board().sth())
        except VerificationFailed as failure:
            expected = _verify_from(position, tampered[position:], with_sth=True)
            assert (failure.leaf, failure.reason) == (expected.leaf, expected.reason)
        else:  # pragma: no cover - the board's root changed
            raise AssertionError("deletion undetected")


def test_deleting_any_leaf_is_detected_with_the_tree_head() -> None:
    leaves = _board().leaves()
    n = len(leaves)
    for i in range(n):
        failure = _verify_from(i, leaves[i + 1 :], with_sth=True)
        assert min(i, n - 2) <= failure.leaf <= n - 2, (i, failure)


def test_duplicating_any_leaf_is_detected_where_the_copy_stands() -> None:
    leaves = _board().leaves()
    for i, leaf in enumerate(leaves):
        for with_sth in (False, True):
            failure = _verify_from(i + 1, [leaf, *leaves[i + 1 :]], with_sth=with_sth)
            assert failure.leaf == i + 1, (i, failure)


def test_swapping_any_two_adjacent_leaves_is_detected_with_the_tree_head() -> None:
    leaves = _board().leaves()
    n = len(leaves)
    for i in range(n - 1):
        rest = [leaves[i + 1], leaves[i], *leaves[i + 2 :]]
        failure = _verify_from(i, rest, with_sth=True)
        assert i <= failure.leaf <= n - 1, (i, failure)


@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_flipping_any_byte_of_any_leaf_is_detected_at_that_leaf(data: st.DataObject) -> None:
    leaves = _board().leaves()
    with_sth = data.draw(st.booleans(), label="with_sth")
    for i, leaf in enumerate(leaves):
        offset = data.draw(st.integers(0, len(leaf) - 1))
        mask = data.draw(st.integers(1, 255))
        flipped = leaf[:offset] + bytes([leaf[offset] ^ mask]) + leaf[offset + 1 :]
        failure = _verify_from(i, [flipped, *leaves[i + 1 :]], with_sth=with_sth)
        assert failure.leaf == i, (i, offset, mask, failure)


# -- the fast canonical check is the exact one ----------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**54), 2**54) | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)


def _exact(leaf: bytes) -> bool:
    try:
        return canonical_json(parse_json(leaf)) == leaf
    except EncodingError:
        return False


def _fast(leaf: bytes) -> bool:
    try:
        value = canonical_value(leaf, 0)
    except VerificationFailed:
        return False
    assert value == parse_json(leaf)
    return True


@settings(max_examples=100, deadline=None)
@given(value=_json, form=st.sampled_from(["jcs", "ascii", "spaced", "unsorted"]), flip=st.data())
def test_the_fast_canonical_check_agrees_with_the_exact_one(
    value: object, form: str, flip: st.DataObject
) -> None:
    try:
        if form == "jcs":
            leaf = canonical_json(value)
        else:
            leaf = json.dumps(
                value,
                ensure_ascii=form == "ascii",
                sort_keys=form != "unsorted",
                separators=(", ", ": ") if form == "spaced" else (",", ":"),
            ).encode("utf-8", "surrogatepass")
    except (EncodingError, ValueError):
        return
    assert _fast(leaf) == _exact(leaf)
    if leaf and flip.draw(st.booleans()):
        offset = flip.draw(st.integers(0, len(leaf) - 1))
        mask = flip.draw(st.integers(1, 255))
        leaf = leaf[:offset] + bytes([leaf[offset] ^ mask]) + leaf[offset + 1 :]
        assert _fast(leaf) == _exact(leaf)
