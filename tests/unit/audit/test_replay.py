"""audit.replay: a valid board verifies; each kind of lie is named at its exact leaf (DESIGN §8)."""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import audit.replay
from audit import (
    BoardState,
    Envelope,
    Forbidden,
    Malformed,
    Record,
    VerificationFailed,
    parse_envelope,
    signature_ok,
)
from audit._leaf import canonical_value
from audit.replay import Replay, TreeHead, check_signatures, leaf_signature_ok, verify_board
from crypto.ed25519 import STH_DOMAIN, SigningKey, sign_object
from crypto.encoding import b64u_encode, canonical_json, parse_json
from crypto.errors import InvalidSignature
from crypto.merkle import MemoryTree
from tests.boardgen import BoardBuilder, random_board

Json = dict[str, Any]


@functools.cache
def _board() -> BoardBuilder:
    return random_board(random.Random(7), 50)


@pytest.fixture
def board() -> BoardBuilder:
    return _board()


def types(leaves: list[bytes]) -> list[str]:
    return [json.loads(leaf)["record"]["type"] for leaf in leaves]


def index_of(leaves: list[bytes], kind: str, nth: int = 0) -> int:
    return [i for i, t in enumerate(types(leaves)) if t == kind][nth]


def fail(leaves: list[bytes], **kwargs: Any) -> VerificationFailed:
    with pytest.raises(VerificationFailed) as info:
        verify_board(leaves, **kwargs)
    assert str(info.value) == f"FAIL leaf {info.value.leaf}: {info.value.reason}"
    return info.value


def signed(key: SigningKey, record: Json) -> bytes:
    return canonical_json(BoardBuilder.envelope(key, record))


def resigned(b: BoardBuilder, leaf: bytes, change: Callable[[Json], None]) -> bytes:
    """``leaf`` with its record changed, signed again by its own signer (the builder's keys)."""
    envelope = json.loads(leaf)
    record = envelope["record"]
    change(record)
    keys = {k.pk: k.key for k in [*b.citizens.values(), *b.lobbies.values()]}
    keys[b.authority.public_key_b64u] = b.authority
    return signed(keys[envelope["signer"]], record)


def head(
    b: BoardBuilder, size: int, root: bytes, *, key: SigningKey | None = None, at: int | None = None
) -> Json:
    """A tree head over any root and timestamp, signed by ``key`` (default: the authority)."""
    timestamp = b.timestamp(size) if at is None else at
    signed_part = {"tree_size": size, "root_hash": b64u_encode(root), "timestamp": timestamp}
    sig = sign_object(key or b.authority, STH_DOMAIN, signed_part)
    return signed_part | {"sig": sig, "authority_key": b.authority.public_key_b64u}


# -- a valid board ------------------------------------------------------------------------------


def test_a_generated_board_verifies_against_its_tree_head(board: BoardBuilder) -> None:
    leaves = board.leaves()
    report = verify_board(leaves, sth=board.sth())
    assert report.tree_size == len(leaves)
    assert report.root_hash == board.tree.root()
    assert report.root_checked
    assert report.known_sths == 0
    assert report.assemblies == 1
    assert report.questions == len(board.state.questions) == types(leaves).count("question")
    assert report.tallies == types(leaves).count("tally") > 0
    assert report.pseudonyms == types(leaves).count("pseudonym") == 6
    assert report.lobbies == 2
    # The replayed state answers the public reads: every tally as published.
    for leaf in leaves:
        record = json.loads(leaf)["record"]
        if record["type"] == "tally":
            closed = report.state.questions[record["question_id"]].closed
            assert closed is not None
            assert canonical_json(closed.result) == canonical_json(record["result"])


def test_without_a_tree_head_everything_but_the_root_is_checked(board: BoardBuilder) -> None:
    report = verify_board(board.leaves())
    assert not report.root_checked
    assert report.root_hash == board.tree.root()


def test_earlier_tree_heads_of_every_size_are_consistent(board: BoardBuilder) -> None:
    n = len(board)
    known = [board.sth(size) for size in range(n + 1)]
    report = verify_board(board.leaves(), sth=board.sth(), known_sths=known)
    assert report.known_sths == n + 1


def test_the_board_streams_from_any_iterable(board: BoardBuilder) -> None:
    def stream() -> Iterator[bytes]:
        yield from board.leaves()

    assert verify_board(stream(), sth=board.sth()).tree_size == len(board)


def test_progress_is_reported_every_progress_every_leaves(
    board: BoardBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit.replay, "PROGRESS_EVERY", 10)
    seen: list[int] = []
    verify_board(board.leaves(), progress=seen.append)
    assert seen == list(range(10, len(board) + 1, 10))


# -- signatures and credentials -----------------------------------------------------------------


def test_a_bad_signature_is_named_at_its_leaf(board: BoardBuilder) -> None:
    leaves = board.leaves()
    i = index_of(leaves, "ballot", 1)
    envelope = json.loads(leaves[i])
    envelope["sig"] = json.loads(leaves[i - 1])["sig"]  # well-formed, but over another record
    leaves[i] = canonical_json(envelope)
    failure = fail(leaves, sth=board.sth())
    assert failure.leaf == i
    assert "signature does not verify" in failure.reason


def test_a_record_signed_by_an_unregistered_key_is_refused(board: BoardBuilder) -> None:
    leaves = board.leaves()
    i = index_of(leaves, "delegation", 2)
    stranger = SigningKey(bytes(range(32)))
    record = json.loads(leaves[i])["record"] | {"pseudonym": stranger.public_key_b64u}
    leaves[i] = signed(stranger, record)
    failure = fail(leaves)
    assert failure.leaf == i
    assert "not a registered pseudonym" in failure.reason


def test_a_credential_from_another_issuer_key_is_refused(board: BoardBuilder) -> None:
    rogue = BoardBuilder(99)
    rogue.assembly("city", issuer="rogue-minting-key")
    rogue.enroll("city")
    forged = rogue.leaves()[-1]
    leaves = board.leaves()
    k = index_of(leaves, "pseudonym", 5) + 1
    leaves.insert(k, forged)
    failure = fail(leaves)
    assert failure.leaf == k
    assert "credential does not verify" in failure.reason


def test_a_credential_copied_from_another_pseudonym_is_refused(board: BoardBuilder) -> None:
    leaves = board.leaves()
    original = json.loads(leaves[index_of(leaves, "pseudonym")])["record"]
    thief = SigningKey(bytes(32))
    record = original | {"pseudonym": thief.public_key_b64u}
    leaves.append(signed(thief, record))
    failure = fail(leaves)
    assert failure.leaf == len(leaves) - 1
    assert "credential does not verify" in failure.reason


def test_a_pseudonym_registered_twice_is_refused(board: BoardBuilder) -> None:
    leaves = board.leaves()
    j = index_of(leaves, "pseudonym", 2)
    leaves.insert(j + 1, leaves[j])
    failure = fail(leaves)
    assert failure.leaf == j + 1
    assert "already registered" in failure.reason


# -- order, seq and required records -------------------------------------------------------------


def test_a_seq_that_does_not_increase_is_refused(board: BoardBuilder) -> None:
    leaves = board.leaves()
    i = max(i for i, t in enumerate(types(leaves)) if t == "delegation")
    again = resigned(board, leaves[i], lambda r: r.update(scope={"topic": "roads"}))
    leaves.append(again)  # the same seq as leaf i, now later on the board
    failure = fail(leaves)
    assert failure.leaf == len(leaves) - 1
    assert "seq must be above" in failure.reason


def test_a_tally_that_differs_from_the_recomputed_one_is_named(board: BoardBuilder) -> None:
    leaves = board.leaves()
    t = index_of(leaves, "tally", 1)

    def inflate(record: Json) -> None:
        record["result"]["citizens"]["abstained"] += 1

    leaves[t] = resigned(board, leaves[t], inflate)
    failure = fail(leaves, sth=board.sth())
    assert failure.leaf == t
    assert "differs from the one recomputed" in failure.reason
    assert "result.citizens.abstained" in failure.reason


def test_a_leaf_between_question_closed_and_its_tally_is_refused(board: BoardBuilder) -> None:
    leaves = board.leaves()
    t = index_of(leaves, "tally")
    del leaves[t]
    failure = fail(leaves)
    assert failure.leaf == t
    assert "must be the tally" in failure.reason


def test_a_board_ending_before_a_required_tally_fails_at_its_last_leaf(
    board: BoardBuilder,
) -> None:
    leaves = board.leaves()
    closed = index_of(leaves, "question_closed", 2)
    failure = fail(leaves[: closed + 1])
    assert failure.leaf == closed
    assert "ends without the tally" in failure.reason


def test_a_board_ending_before_a_required_admission_fails_at_its_last_leaf(
    board: BoardBuilder,
) -> None:
    leaves = board.leaves()
    admitted = index_of(leaves, "initiative_admitted")
    failure = fail(leaves[:admitted])
    assert failure.leaf == admitted - 1
    assert "ends without the initiative_admitted" in failure.reason


def test_an_empty_board_and_a_board_without_genesis_fail_at_leaf_0(board: BoardBuilder) -> None:
    assert fail([]).leaf == 0
    failure = fail(board.leaves()[1:])
    assert failure.leaf == 0
    assert "genesis" in failure.reason


# -- canonical bytes ------------------------------------------------------------------------------


def _spaced(leaf: bytes) -> bytes:
    return leaf.replace(b'{"record":', b'{ "record":', 1)


def _pretty(leaf: bytes) -> bytes:
    return json.dumps(json.loads(leaf), sort_keys=True, indent=1).encode()


def _reordered(leaf: bytes) -> bytes:
    envelope = json.loads(leaf)
    return json.dumps(
        {"signer": envelope["signer"], "sig": envelope["sig"], "record": envelope["record"]},
        separators=(",", ":"),
    ).encode()


def _escaped(leaf: bytes) -> bytes:
    return leaf.replace(b'"city"', b'"\\u0063ity"', 1)


def _ascii_escaped(leaf: bytes) -> bytes:
    return json.dumps(json.loads(leaf), sort_keys=True, separators=(",", ":")).encode()


def _trailing(leaf: bytes) -> bytes:
    return leaf + b"\r"


NOT_CANONICAL = [_spaced, _pretty, _reordered, _escaped, _trailing]


@pytest.mark.parametrize("change", NOT_CANONICAL, ids=lambda f: f.__name__)
def test_a_leaf_not_in_canonical_form_is_named(
    board: BoardBuilder, change: Callable[[bytes], bytes]
) -> None:
    leaves = board.leaves()
    i = index_of(leaves, "delegation", 1)
    assert b'"city"' in leaves[i]
    leaves[i] = change(leaves[i])
    failure = fail(leaves)
    assert failure.leaf == i
    assert "canonical" in failure.reason or "strict JSON" in failure.reason


def test_non_ascii_text_escaped_as_ascii_is_not_canonical(board: BoardBuilder) -> None:
    leaves = board.leaves()
    i = index_of(leaves, "lobby_registered")
    assert not leaves[i].isascii()  # the declaration's address holds "ô"
    leaves[i] = _ascii_escaped(leaves[i])
    failure = fail(leaves)
    assert (failure.leaf, "canonical" in failure.reason) == (i, True)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda leaf: leaf.replace(b'"seq":', b'"seq":1,"seq":', 1), "repeats the key"),
        (lambda leaf: leaf.replace(b'"seq":1', b'"seq":1.0', 1), "integers"),
        (lambda leaf: b"\xef\xbb\xbf" + leaf, "UTF-8"),
        (lambda leaf: leaf[:-1], "malformed JSON"),
        (lambda leaf: b"", "malformed JSON"),
    ],
    ids=["repeated-key", "float", "bom", "truncated", "empty"],
)
def test_a_leaf_that_is_not_strict_json_is_named(
    board: BoardBuilder, change: Callable[[bytes], bytes], message: str
) -> None:
    leaves = board.leaves()
    i = next(i for i, leaf in enumerate(leaves) if b'"seq":1,' in leaf)
    leaves[i] = change(leaves[i])
    failure = fail(leaves)
    assert failure.leaf == i
    assert "not strict JSON" in failure.reason


def test_the_fast_canonical_check_agrees_with_the_exact_one(board: BoardBuilder) -> None:
    for leaf in board.leaves():
        assert canonical_value(leaf, 0) == parse_json(leaf)
        for change in [*NOT_CANONICAL, _ascii_escaped]:
            changed = change(leaf)
            if changed != leaf:
                with pytest.raises(VerificationFailed):
                    canonical_value(changed, 0)


def test_a_malformed_envelope_is_named(board: BoardBuilder) -> None:
    leaves = board.leaves()
    envelope = json.loads(leaves[5]) | {"extra": 1}
    leaves[5] = canonical_json(envelope)
    failure = fail(leaves)
    assert failure.leaf == 5
    assert failure.reason.startswith("malformed envelope: ")


# -- tree heads ------------------------------------------------------------------------------------


def test_a_tree_head_with_another_root_fails_at_the_last_leaf(board: BoardBuilder) -> None:
    n = len(board)
    failure = fail(board.leaves(), sth=head(board, n, board.tree.root(n - 1)))
    assert failure.leaf == n - 1
    assert "Merkle root" in failure.reason


def test_a_tree_head_not_signed_by_the_authority_fails(board: BoardBuilder) -> None:
    n = len(board)
    forged = head(board, n, board.tree.root(), key=SigningKey(bytes(32)))
    failure = fail(board.leaves(), sth=forged)
    assert failure.leaf == n - 1
    assert "signed tree head" in failure.reason


def test_a_tree_head_naming_another_authority_key_fails(board: BoardBuilder) -> None:
    other = SigningKey(bytes(32))
    renamed = board.sth() | {"authority_key": other.public_key_b64u}
    failure = fail(board.leaves(), sth=renamed)
    assert failure.leaf == len(board) - 1
    assert "another authority key" in failure.reason


def test_a_tree_head_of_another_size_fails(board: BoardBuilder) -> None:
    n = len(board)
    failure = fail(board.leaves()[:20], sth=board.sth())
    assert failure.leaf == 19
    assert f"covers {n} leaves, the board has 20" in failure.reason
    assert fail(board.leaves(), sth=board.sth(n - 1)).leaf == n - 1


def test_an_inconsistent_earlier_tree_head_fails(board: BoardBuilder) -> None:
    n = len(board)
    wrong = head(board, 10, board.tree.root(11))
    failure = fail(board.leaves(), sth=board.sth(), known_sths=[board.sth(5), wrong])
    assert failure.leaf == n - 1
    assert "not consistent with the earlier tree head of size 10" in failure.reason


def test_an_earlier_tree_head_beyond_the_board_fails(board: BoardBuilder) -> None:
    n = len(board)
    failure = fail(board.leaves()[:20], known_sths=[board.sth(30)])
    assert failure.leaf == 19
    assert "beyond the board's 20 leaves" in failure.reason
    assert fail(board.leaves(), known_sths=[board.sth(10, key=SigningKey(bytes(32)))]).leaf == n - 1


def test_an_earlier_tree_head_dated_after_the_latest_fails(board: BoardBuilder) -> None:
    n = len(board)
    verify_board(board.leaves(), sth=board.sth(), known_sths=[board.sth(10)])
    late = head(board, 10, board.tree.root(10), at=board.timestamp(n) + 1)
    failure = fail(board.leaves(), sth=board.sth(), known_sths=[late])
    assert (failure.leaf, "dated after" in failure.reason) == (n - 1, True)


def test_a_malformed_tree_head_is_refused_before_any_leaf_is_read(board: BoardBuilder) -> None:
    def untouchable() -> Iterator[bytes]:
        raise AssertionError("read a leaf")
        yield b""  # pragma: no cover

    for bad in ({"tree_size": 1}, board.sth() | {"extra": 1}, board.sth() | {"sig": "AA"}):
        with pytest.raises(Malformed):
            verify_board(untouchable(), sth=bad)
        with pytest.raises(Malformed):
            verify_board(untouchable(), known_sths=[bad])


def test_tree_head_json_round_trip_and_verify(board: BoardBuilder) -> None:
    sth = board.sth()
    parsed = TreeHead.from_json(sth)
    assert parsed.to_json() == sth
    parsed.verify(board.authority.public_key_b64u)
    with pytest.raises(InvalidSignature):
        parsed.verify(SigningKey(bytes(32)).public_key_b64u)
    bare = {k: v for k, v in sth.items() if k != "authority_key"}
    assert TreeHead.from_json(bare).authority_key is None


# -- signature verdicts made elsewhere ------------------------------------------------------------


def test_leaf_signature_ok_agrees_with_the_state_check(board: BoardBuilder) -> None:
    leaves = board.leaves()
    for leaf in leaves:
        assert leaf_signature_ok(leaf) is signature_ok(parse_envelope(parse_json(leaf))) is True
        envelope = json.loads(leaf)
        envelope["sig"] = envelope["sig"][:-2] + ("AA" if envelope["sig"][-2:] != "AA" else "BA")
        tampered = canonical_json(envelope)
        assert not leaf_signature_ok(tampered)
        assert not signature_ok(parse_envelope(parse_json(tampered)))
    assert check_signatures(leaves) == b"\x01" * len(leaves)
    assert check_signatures([b"", b"{}", b'{"record":' + b"x" * 200]) == b"\x00\x00\x00"


def test_signature_verdicts_passed_in_are_used(board: BoardBuilder) -> None:
    leaves = board.leaves()
    verdicts = [True] * len(leaves)
    verify_board(leaves, signatures=verdicts)
    with pytest.raises(ValueError, match="zip"):
        verify_board(leaves, signatures=verdicts[:-1])
    verdicts[17] = False
    failure = fail(leaves, signatures=verdicts)
    assert (failure.leaf, "signature" in failure.reason) == (17, True)


def test_a_verdict_passed_in_is_weighed_where_the_signature_check_comes(
    board: BoardBuilder,
) -> None:
    """Known and computed verdicts refuse a bad signature alike (403), after every 400 check,
    and a refused leaf leaves the state as it was."""
    state = BoardState()
    for n, leaf in enumerate(board.leaves()):
        envelope = parse_envelope(parse_json(leaf))
        sig = envelope.sig[:-2] + ("AA" if envelope.sig[-2:] != "AA" else "BA")
        forged = Envelope(envelope.record, envelope.signer, sig)
        for verdict in (None, False):
            with pytest.raises(Forbidden, match="signature does not verify"):
                state.apply(forged, signature_valid=verdict)
        if envelope.record.type == "ballot":  # a 400 comes first, whatever the verdict
            record = Record(dict(envelope.record.data) | {"choice": "no-such-option"})
            for verdict in (None, False, True):
                with pytest.raises(Malformed):
                    state.apply(Envelope(record, envelope.signer, sig), signature_valid=verdict)
        assert state.size == n
        state.apply(envelope, signature_valid=None if n % 2 else True)
    assert state.size == len(board) and state.required_next() is None


def test_replay_feeds_one_leaf_at_a_time(board: BoardBuilder) -> None:
    replay = Replay()
    tree = MemoryTree()
    for leaf in board.leaves():
        replay.feed(leaf)
        tree.append(leaf)
        assert replay.size == tree.size
    report = replay.finish(sth=TreeHead.from_json(board.sth()))
    assert report.root_hash == tree.root()
