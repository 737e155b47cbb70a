"""``isegoria audit``: exit codes 0/1/2, the FAIL line, and each command against a fake server."""

from __future__ import annotations

import functools
import json
import random
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner, Result

import audit.replay
import client._audit_parallel
from audit import VerificationFailed, verify_board
from client.audit_cli import audit_app, make_audit_app, verify_parallel
from crypto.encoding import b64u_encode, canonical_json
from tests.boardgen import BoardBuilder, random_board

URL = "https://board.example"
FAIL_LINE = re.compile(r"FAIL leaf (\d+): .+\n")


@functools.cache
def _board() -> BoardBuilder:
    return random_board(random.Random(3), 40)


def run(app: typer.Typer, *args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def write_board(path: Path, leaves: list[bytes]) -> Path:
    path.write_bytes(b"".join(leaf + b"\n" for leaf in leaves))
    return path


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path


def flipped(leaf: bytes, offset: int = 40) -> bytes:
    return leaf[:offset] + bytes([leaf[offset] ^ 1]) + leaf[offset + 1 :]


class FakeServer:
    """The public board paths of DESIGN §5, served from a BoardBuilder (or lies about it)."""

    def __init__(self, builder: BoardBuilder, leaves: list[bytes] | None = None) -> None:
        self.builder = builder
        self.leaves = builder.leaves() if leaves is None else leaves
        self.fail_with: int | None = None
        self.offline = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.offline:
            raise httpx.ConnectError("no route to host", request=request)
        if self.fail_with is not None:
            return httpx.Response(self.fail_with, json={"detail": "down"})
        q = {k: int(v) for k, v in request.url.params.items()}
        tree, n = self.builder.tree, len(self.builder)
        path = request.url.path

        def hashes(items: list[bytes]) -> list[str]:
            return [b64u_encode(h) for h in items]

        if path == "/v1/board/sth":
            return httpx.Response(200, json=self.builder.sth())
        if path == "/v1/board":
            chosen = self.leaves[q.get("start", 0) : q.get("end", n)]
            return httpx.Response(200, content=b"".join(leaf + b"\n" for leaf in chosen))
        if path == "/v1/board/proof/inclusion":
            proof = tree.inclusion_proof(q["index"], q.get("tree_size", n))
            return httpx.Response(200, json={"inclusion_proof": hashes(proof)})
        if path == "/v1/board/proof/consistency":
            proof = tree.consistency_proof(q["first"], q.get("second", n))
            return httpx.Response(200, json={"consistency_proof": hashes(proof)})
        return httpx.Response(404, json={"detail": "not found"})

    def app(self) -> typer.Typer:
        return make_audit_app(httpx.MockTransport(self.handle))


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    b = _board()
    return {
        "board": write_board(tmp_path / "board.ndjson", b.leaves()),
        "sth": write_json(tmp_path / "sth.json", b.sth()),
        "earlier": write_json(tmp_path / "earlier.json", b.sth(12)),
        "dir": tmp_path,
    }


# -- verify a file -----------------------------------------------------------------------------


def test_verify_a_file_with_its_tree_head_exits_0(files: dict[str, Path]) -> None:
    result = run(
        audit_app, "verify", str(files["board"]), "--sth", str(files["sth"]),
        "--known-sth", str(files["earlier"]),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"OK: {len(_board())} leaves verified")
    assert "matches the signed tree head" in result.stdout
    assert "consistent with 1 earlier tree head" in result.stdout


def test_verify_a_file_without_a_tree_head_says_the_root_was_not_checked(
    files: dict[str, Path],
) -> None:
    result = run(audit_app, "verify", str(files["board"]))
    assert result.exit_code == 0
    assert "NOT checked" in result.stdout


def test_verify_json_verdict(files: dict[str, Path]) -> None:
    result = run(audit_app, "verify", str(files["board"]), "--sth", str(files["sth"]), "--json")
    verdict = json.loads(result.stdout)
    assert result.exit_code == 0
    assert verdict["ok"] is True
    assert verdict["root_checked"] is True
    assert verdict["tree_size"] == len(_board())
    assert verdict["root_hash"] == b64u_encode(_board().tree.root())


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_tampered_leaf_prints_one_fail_line_and_exits_1(
    files: dict[str, Path], jobs: str
) -> None:
    leaves = _board().leaves()
    leaves[9] = flipped(leaves[9])
    board = write_board(files["dir"] / "tampered.ndjson", leaves)
    result = run(audit_app, "verify", str(board), "--sth", str(files["sth"]), "--jobs", jobs)
    assert result.exit_code == 1
    match = FAIL_LINE.fullmatch(result.stdout)
    assert match is not None, result.stdout
    assert match.group(1) == "9"


def test_a_failure_as_json(files: dict[str, Path]) -> None:
    other = write_json(files["dir"] / "short.json", _board().sth(len(_board()) - 1))
    result = run(audit_app, "verify", str(files["board"]), "--sth", str(other), "--json")
    assert result.exit_code == 1
    verdict = json.loads(result.stdout)
    assert verdict["ok"] is False
    assert verdict["leaf"] == len(_board()) - 1
    assert "covers" in verdict["reason"]


def test_a_root_mismatch_is_named_at_the_last_leaf(files: dict[str, Path]) -> None:
    leaves = _board().leaves()
    board = write_board(files["dir"] / "short.ndjson", leaves[:20])
    result = run(audit_app, "verify", str(board), "--sth", str(files["sth"]))
    assert result.exit_code == 1
    assert result.stdout.startswith("FAIL leaf 19: ")


def test_parallel_verification_matches_the_sequential_one(files: dict[str, Path]) -> None:
    args = ["verify", str(files["board"]), "--sth", str(files["sth"]), "--json"]
    assert run(audit_app, *args, "--jobs", "2").stdout == run(audit_app, *args).stdout


@pytest.mark.parametrize("jobs", [2, 3])
def test_parallel_verification_over_many_chunks_names_what_the_sequential_one_names(
    monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    # Chunks of 3 leaves, so that the workers and this process share the board between them.
    monkeypatch.setattr(client._audit_parallel, "CHUNK", 3)
    b = _board()
    leaves, sth = b.leaves(), b.sth()
    known = [b.sth(12), b.sth(len(leaves))]
    report = verify_parallel(leaves, jobs, sth=sth, known_sths=known)
    assert report == verify_board(leaves, sth=sth, known_sths=known)
    for at in (0, 5, len(leaves) // 2, len(leaves) - 1):
        tampered = [*leaves[:at], flipped(leaves[at], len(leaves[at]) - 20), *leaves[at + 1 :]]
        with pytest.raises(VerificationFailed) as parallel:
            verify_parallel(tampered, jobs, sth=sth)
        with pytest.raises(VerificationFailed) as sequential:
            verify_board(tampered, sth=sth)
        assert parallel.value.leaf == at
        assert (parallel.value.leaf, parallel.value.reason) == (
            sequential.value.leaf,
            sequential.value.reason,
        )


def test_progress_goes_to_stderr(files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit.replay, "PROGRESS_EVERY", 10)
    result = run(audit_app, "verify", str(files["board"]), "--progress")
    assert result.exit_code == 0
    assert "\r10 leaves verified\r20 leaves verified" in result.stderr
    assert "\r" not in result.stdout


@pytest.mark.parametrize(
    "case", ["missing-board", "missing-sth", "not-json-sth", "array-sth", "malformed-sth"]
)
def test_unreadable_input_exits_2(files: dict[str, Path], case: str) -> None:
    d = files["dir"]
    (d / "text.json").write_text("not json")
    write_json(d / "array.json", [1, 2])
    write_json(d / "malformed.json", {"tree_size": 1})
    board, sth = str(files["board"]), {
        "missing-board": str(files["sth"]),
        "missing-sth": str(d / "nowhere.json"),
        "not-json-sth": str(d / "text.json"),
        "array-sth": str(d / "array.json"),
        "malformed-sth": str(d / "malformed.json"),
    }[case]
    if case == "missing-board":
        board = str(d / "nowhere.ndjson")
    result = run(audit_app, "verify", board, "--sth", sth)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ")
    assert result.stdout == ""


def test_every_command_explains_what_it_checks() -> None:
    for command, words in [
        ("verify", "credential"),
        ("receipt", "inclusion proof"),
        ("monitor", "consistency proof"),
        ("export", "FILE.sth.json"),
    ]:
        result = run(audit_app, command, "--help")
        assert result.exit_code == 0
        assert words in " ".join(result.stdout.split())


# -- against a server ------------------------------------------------------------------------------


def test_verify_a_server_by_url() -> None:
    server = FakeServer(_board())
    result = run(server.app(), "verify", URL)
    assert result.exit_code == 0, result.output
    assert "matches the signed tree head" in result.stdout


def test_a_server_serving_a_tampered_leaf_fails() -> None:
    leaves = _board().leaves()
    leaves[3] = flipped(leaves[3])
    result = run(FakeServer(_board(), leaves).app(), "verify", URL)
    assert (result.exit_code, result.stdout.startswith("FAIL leaf 3: ")) == (1, True)


@pytest.mark.parametrize("trouble", ["offline", "500", "bad-url"])
def test_network_trouble_exits_2(trouble: str) -> None:
    server = FakeServer(_board())
    server.offline = trouble == "offline"
    server.fail_with = 500 if trouble == "500" else None
    result = run(server.app(), "verify", "http://[::1" if trouble == "bad-url" else URL)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ")


def test_export_then_verify(tmp_path: Path) -> None:
    target = tmp_path / "export.ndjson"
    result = run(FakeServer(_board()).app(), "export", URL, str(target))
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == b"".join(leaf + b"\n" for leaf in _board().leaves())
    sth = target.with_name("export.ndjson.sth.json")
    assert json.loads(sth.read_text()) == _board().sth()
    assert run(audit_app, "verify", str(target), "--sth", str(sth)).exit_code == 0


def test_export_refuses_leaves_that_do_not_match_the_tree_head(tmp_path: Path) -> None:
    leaves = _board().leaves()
    leaves[5] = flipped(leaves[5])
    target = tmp_path / "export.ndjson"
    result = run(FakeServer(_board(), leaves).app(), "export", URL, str(target))
    assert result.exit_code == 1
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def _receipt(tmp_path: Path, b: BoardBuilder, index: int) -> Path:
    return write_json(tmp_path / "receipt.json", b.receipt(index))


def _grown(extra: int, seed: int = 5) -> tuple[BoardBuilder, BoardBuilder]:
    """Two builders with the same authority: ``old`` and ``old`` plus ``extra`` records."""
    old, new = BoardBuilder(seed), BoardBuilder(seed)
    for b in (old, new):
        b.assembly("city")
        b.topic("city", "parks")
    for n in range(extra):
        new.topic("city", f"more-{n}")
    return old, new


def test_a_receipt_still_on_a_grown_board(tmp_path: Path) -> None:
    old, new = _grown(5)
    receipt = _receipt(tmp_path, old, len(old) - 1)
    result = run(FakeServer(new).app(), "receipt", str(receipt), URL)
    assert result.exit_code == 0, result.output
    assert "taken from the board's genesis" in result.stdout
    pinned = old.authority.public_key_b64u
    result = run(FakeServer(new).app(), "receipt", str(receipt), URL, "--authority-key", pinned)
    assert (result.exit_code, "genesis" in result.stdout) == (0, False)


def test_a_receipt_on_a_rewritten_board_fails(tmp_path: Path) -> None:
    old, _ = _grown(0)
    rewritten = BoardBuilder(5)
    rewritten.assembly("city")
    rewritten.topic("city", "roads")  # a different leaf 2, same authority key
    rewritten.topic("city", "more")
    receipt = _receipt(tmp_path, old, 2)
    result = run(FakeServer(rewritten).app(), "receipt", str(receipt), URL)
    assert result.exit_code == 1
    assert "\nFAIL: the board of 4 leaves does not extend the one of 3 leaves" in result.stdout


def test_a_receipt_under_another_authority_fails(tmp_path: Path) -> None:
    old, new = _grown(1)
    receipt = _receipt(tmp_path, old, 1)
    stranger = BoardBuilder(77).authority.public_key_b64u
    result = run(FakeServer(new).app(), "receipt", str(receipt), URL, "--authority-key", stranger)
    assert result.exit_code == 1


def test_a_malformed_receipt_or_key_exits_2(tmp_path: Path) -> None:
    bad = write_json(tmp_path / "receipt.json", {"index": 0})
    result = run(FakeServer(_board()).app(), "receipt", str(bad), URL)
    assert result.exit_code == 2
    good = _receipt(tmp_path, _board(), 3)
    result = run(FakeServer(_board()).app(), "receipt", str(good), URL, "--authority-key", "x")
    assert result.exit_code == 2


def test_monitor_trusts_on_first_use_then_follows_growth(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    old, new = _grown(3)
    first = run(FakeServer(old).app(), "monitor", URL, "--state", str(state))
    assert first.exit_code == 0, first.output
    assert "trust on first use" in first.stdout
    kept = json.loads(state.read_text())
    assert kept["sth"] == old.sth()
    assert kept["authority_key"] == old.authority.public_key_b64u
    second = run(FakeServer(new).app(), "monitor", URL, "--state", str(state))
    assert second.exit_code == 0, second.output
    assert f"board of {len(new)} leaves extends the kept one of {len(old)}" in second.stdout
    assert json.loads(state.read_text())["sth"] == new.sth()


@pytest.mark.parametrize("how", ["rewritten", "shrunk", "other-authority"])
def test_monitor_detects_a_rewritten_board(tmp_path: Path, how: str) -> None:
    state = tmp_path / "state.json"
    old, new = _grown(3)
    assert run(FakeServer(new).app(), "monitor", URL, "--state", str(state)).exit_code == 0
    before = state.read_bytes()
    if how == "rewritten":
        later = BoardBuilder(5)
        later.assembly("city")
        for n in range(6):
            later.topic("city", f"other-{n}")
    else:
        later = old if how == "shrunk" else _grown(9, seed=6)[1]
    result = run(FakeServer(later).app(), "monitor", URL, "--state", str(state))
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith("FAIL: ")
    assert state.read_bytes() == before  # the kept tree head is not replaced


def test_monitor_refuses_a_broken_state_file(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text("{}")
    result = run(FakeServer(_board()).app(), "monitor", URL, "--state", str(state))
    assert result.exit_code == 2
    other = write_json(tmp_path / "other.json", {
        "url": "https://elsewhere.example",
        "authority_key": _board().authority.public_key_b64u,
        "sth": _board().sth(),
    })  # fmt: skip
    result = run(FakeServer(_board()).app(), "monitor", URL, "--state", str(other))
    assert result.exit_code == 2
    assert "watches https://elsewhere.example" in result.stderr


def test_canonical_state_file(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    run(FakeServer(_board()).app(), "monitor", URL, "--state", str(state))
    data = state.read_bytes()
    assert data == canonical_json(json.loads(data)) + b"\n"


def test_a_transport_passed_in_is_left_open_for_the_caller() -> None:
    closed: list[bool] = []

    class Transport(httpx.MockTransport):
        def close(self) -> None:
            closed.append(True)

    app = make_audit_app(Transport(FakeServer(_board()).handle))
    assert run(app, "verify", URL).exit_code == 0
    assert run(app, "verify", URL, "--jobs", "2").exit_code == 0
    assert closed == []


def test_the_monitor_state_file_serves_as_an_earlier_tree_head(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    old, new = _grown(3)
    assert run(FakeServer(old).app(), "monitor", URL, "--state", str(state)).exit_code == 0
    # The same server with a trailing slash is the same server.
    grown = run(FakeServer(new).app(), "monitor", URL + "/", "--state", str(state))
    assert grown.exit_code == 0, grown.output
    result = run(FakeServer(new).app(), "verify", URL, "--known-sth", str(state))
    assert result.exit_code == 0, result.output
    assert "consistent with 1 earlier tree head" in result.stdout
