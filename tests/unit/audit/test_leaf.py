"""audit.read_leaf: a stored leaf's envelope, fast, and the same as the strict reading."""

from __future__ import annotations

import json
import random

import pytest

from audit import Malformed, parse_envelope, read_leaf
from crypto.encoding import parse_json
from crypto.errors import EncodingError
from tests.boardgen import random_board


def test_every_leaf_of_a_board_reads_as_the_strict_reading_does() -> None:
    board = random_board(random.Random(7))
    for leaf in board.leaves():
        assert read_leaf(leaf).to_json() == parse_envelope(parse_json(leaf)).to_json()


def test_a_leaf_in_another_form_still_reads_strictly() -> None:
    leaf = random_board(random.Random(7)).leaves()[-1]
    spaced = json.dumps(json.loads(leaf), indent=1).encode()  # not canonical: no fast path
    assert read_leaf(spaced).to_json() == read_leaf(leaf).to_json()


@pytest.mark.parametrize(
    ("leaf", "error"),
    [
        (b'{"record":{},"sig":"x"', EncodingError),  # not JSON
        (b'{"record":{"type":"ballot"},"sig":"","signer":""}', Malformed),
        (b'{"record":1.5,"sig":"","signer":""}', EncodingError),
    ],
)
def test_a_malformed_leaf_is_refused(leaf: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        read_leaf(leaf)
