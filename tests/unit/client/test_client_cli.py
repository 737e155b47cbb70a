"""The admin, citizen and lobby commands (client/cli.py) through typer's CliRunner."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner

from client import Client, Wallet
from client import _cli_common as common
from client.cli import admin_app, citizen_app, lobby_app
from crypto.ed25519 import SigningKey
from tests.unit.client.client_fakes import ADMIN_TOKEN, PASSPHRASE, TINY, FakeServer, refuse
from tests.unit.client.test_client_lobby import DECLARATION

runner = CliRunner()
APPS = {"admin": admin_app, "citizen": citizen_app, "lobby": lobby_app}


@pytest.fixture(autouse=True)
def wired(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    def factory(url: str, *, admin_token: str | None = None) -> Client:
        return Client(url, transport=httpx.MockTransport(server), admin_token=admin_token,
                      retry_delay=0)

    monkeypatch.setattr(common, "client_factory", factory)
    monkeypatch.setattr(common, "kdf_limits", TINY)
    monkeypatch.setenv("ISEGORIA_PASSPHRASE", PASSPHRASE.decode())
    monkeypatch.setenv("ISEGORIA_ADMIN_TOKEN", ADMIN_TOKEN)
    monkeypatch.delenv("ISEGORIA_URL", raising=False)


def run(app: typer.Typer, *args: str, code: int = 0) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    assert "Traceback" not in result.stdout + result.stderr
    return result


# --- help -------------------------------------------------------------------------------------


def _walk(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
    # typer vendors its own click: groups are recognised by their ``commands``.
    yield path, command
    for sub_name, sub in getattr(command, "commands", {}).items():
        yield from _walk(sub, [*path, sub_name])


def _commands() -> Iterator[tuple[str, typer.Typer, list[str], Any]]:
    for name, app in APPS.items():
        for path, command in _walk(typer.main.get_command(app), []):
            yield name, app, path, command


COMMANDS = list(_commands())


@pytest.mark.parametrize(
    ("name", "app", "path", "command"), COMMANDS,
    ids=[" ".join([c[0], *c[2]]) for c in COMMANDS],
)
def test_every_command_has_help(
    name: str, app: typer.Typer, path: list[str], command: Any
) -> None:
    result = run(app, *path, "--help")
    assert "Usage:" in result.stdout
    assert command.help, f"{name} {' '.join(path)} has no help text"
    for param in command.params:
        assert getattr(param, "help", None), f"{name} {' '.join(path)}: {param.name} lacks help"


def test_the_command_tree() -> None:
    tree = {" ".join([n, *p]) for n, _, p, _ in COMMANDS}
    assert tree == {
        "admin", "admin assembly", "admin topic", "admin question", "admin roll", "admin close",
        "admin lobby", "admin lobby approve", "admin lobby suspend",
        "citizen", "citizen enroll", "citizen vote", "citizen delegate", "citizen revoke",
        "citizen profile", "citizen opine", "citizen propose", "citizen support",
        "citizen trace", "citizen tally", "citizen receipts", "citizen resume", "citizen status",
        "citizen questions",
        "lobby", "lobby keygen", "lobby apply", "lobby position",
    }


def test_no_secret_is_a_command_line_option() -> None:
    for _, _, _, command in COMMANDS:
        for param in command.params:
            assert not {"--token", "--admin-token", "--passphrase", "--code"} & set(param.opts)


# --- admin ------------------------------------------------------------------------------------


def test_admin_needs_the_token_from_the_environment(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ISEGORIA_ADMIN_TOKEN")
    result = run(admin_app, "topic", "city", "parks", "--title", "Parks", code=2)
    assert "ISEGORIA_ADMIN_TOKEN" in result.stderr
    assert server.requests == []


def test_admin_refusal_prints_the_detail_and_exits_1(server: FakeServer) -> None:
    server.overrides[("POST", "/v1/assemblies/city/topics")] = refuse(409, "topic exists")
    result = run(admin_app, "topic", "city", "parks", "--title", "Parks", code=1)
    assert "topic exists" in result.stderr


def test_admin_question_sends_the_options(server: FakeServer) -> None:
    server.overrides[("POST", "/v1/assemblies/city/questions")] = httpx.Response(
        201, json={"index": 9, "envelope": {"record": {}, "signer": "k", "sig": "s"}})
    result = run(admin_app, "question", "city", "pb", "--topic", "parks", "--title", "Budget",
                 "--method", "budget", "--option", "a=Trees: many:300",
                 "--option", "b=Bench", "--budget", "500")
    assert "leaf 9" in result.stdout
    assert json.loads(server.bodies[-1]) == {
        "question_id": "pb", "topic_id": "parks", "title": "Budget", "method": "budget",
        "options": [{"id": "a", "title": "Trees: many", "cost": 300},
                    {"id": "b", "title": "Bench"}],
        "budget": 500,
    }
    run(admin_app, "question", "city", "x", "--topic", "t", "--title", "T", "--method",
        "plurality", "--option", "a=A", code=2)


def _roll(server: FakeServer) -> None:
    server.overrides[("POST", "/v1/assemblies/city/roll")] = httpx.Response(
        200, json={"codes": {"alice": "SECRET-A", "bob": "SECRET-B"}})


def test_admin_roll_writes_a_private_file_and_never_echoes(
    server: FakeServer, tmp_path: Path
) -> None:
    _roll(server)
    (tmp_path / "voters.txt").write_text("alice\n\nbob\nalice\n")
    out = tmp_path / "codes.csv"
    result = run(admin_app, "roll", "city", str(tmp_path / "voters.txt"), "--out", str(out))
    assert "SECRET" not in result.stdout + result.stderr
    assert out.read_bytes() == b"ref,code\r\nalice,SECRET-A\r\nbob,SECRET-B\r\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert json.loads(server.bodies[-1]) == {"voters": ["alice", "bob"]}
    again = run(admin_app, "roll", "city", str(tmp_path / "voters.txt"), "--out", str(out),
                code=2)
    assert "already exists" in again.stderr
    printed = run(admin_app, "roll", "city", str(tmp_path / "voters.txt"), "--out", "-")
    assert "alice,SECRET-A" in printed.stdout


def test_admin_roll_unreadable_voters_file(tmp_path: Path) -> None:
    run(admin_app, "roll", "city", str(tmp_path / "missing.txt"), code=2)


def test_admin_close_prints_a_table(server: FakeServer) -> None:
    server.tally_result = {
        "citizens": {"method": "single", "electorate": 5, "ballots_direct": 3,
                     "weight_delegated": 1, "dead_end": 0, "cycle": 0, "abstained": 1,
                     "counts": {"yes": 3, "no": 1}, "ranking": ["yes", "no"],
                     "carriers": [{"pseudonym": "PSEUDO", "weight": 2}]},
        "lobbies": {"positions": [{"lobby_id": "acme", "choice": "no"}],
                    "counts": {"yes": 0, "no": 1}},
        "stats": {"largest_carrier_weight": 2, "carriers": 1, "chain_lengths": {"1": 1}},
    }
    out = run(admin_app, "close", "q1").stdout
    assert "electorate 5: 3 voted, 1 delegated" in out
    lines = out.splitlines()
    assert any(line.split() == ["yes", "3", "0"] for line in lines)
    assert any(line.split() == ["no", "1", "1"] for line in lines)
    assert "PSEUDO  weight 2" in out
    assert run(citizen_app, "tally", "q1").stdout == out


# --- citizen ----------------------------------------------------------------------------------


def _enroll(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: str = "code-alice") -> Path:
    monkeypatch.setenv("ISEGORIA_ENROLLMENT_CODE", code)
    wallet = tmp_path / "alice.wallet"
    result = run(citizen_app, "enroll", "--wallet", str(wallet), "--assembly", "city")
    assert "enrolled in assembly city" in result.stdout
    return wallet


def test_citizen_enroll_vote_delegate_receipts(
    server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wallet = _enroll(tmp_path, monkeypatch)
    pseudonym = Wallet.open(wallet, PASSPHRASE).pseudonym
    server.ask("q1", "approval", ("a", "b", "c"))
    result = run(citizen_app, "vote", "--wallet", str(wallet), "q1", "a", "c")
    assert "ballot on q1: leaf 4" in result.stdout
    assert json.loads(server.leaves[-1])["record"]["choice"] == ["a", "c"]
    run(citizen_app, "vote", "--wallet", str(wallet), "q1", "z", code=2)
    run(citizen_app, "delegate", "--wallet", str(wallet), "--scope", "topic:parks", "--none")
    assert json.loads(server.leaves[-1])["record"]["delegate"] is None
    run(citizen_app, "delegate", "--wallet", str(wallet), "--scope", "topic:parks", code=2)
    run(citizen_app, "revoke", "--wallet", str(wallet), "--scope", "topic:parks")
    checked = run(citizen_app, "receipts", "--wallet", str(wallet)).stdout
    assert checked.count("ok   leaf") == 4
    status = run(citizen_app, "status", "--wallet", str(wallet)).stdout
    assert pseudonym in status and "last seq  3" in status
    traced = run(citizen_app, "trace", "q1", "--wallet", str(wallet)).stdout
    assert f"chain: {pseudonym}" in traced


def test_citizen_receipts_fail_loudly_on_a_forged_head(
    server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wallet = _enroll(tmp_path, monkeypatch)
    server.forge_sth = True
    result = run(citizen_app, "receipts", "--wallet", str(wallet), code=1)
    assert "not signed by the authority key" in result.stderr


def test_citizen_enroll_with_a_used_code(
    server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.codes["code-alice"] = b"\x01" * 256
    monkeypatch.setenv("ISEGORIA_ENROLLMENT_CODE", "code-alice")
    result = run(citizen_app, "enroll", "--wallet", str(tmp_path / "w"), "--assembly", "city",
                 code=1)
    assert "someone may have enrolled in your name" in result.stderr
    assert "registrar" in result.stderr


def test_citizen_code_is_asked_without_echo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ISEGORIA_ENROLLMENT_CODE", raising=False)
    result = runner.invoke(citizen_app, ["enroll", "--wallet", str(tmp_path / "w"),
                                         "--assembly", "city"], input="code-bob\n")
    assert result.exit_code == 0, result.stderr
    assert "code-bob" not in result.stdout


def test_citizen_wrong_passphrase_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wallet = _enroll(tmp_path, monkeypatch)
    monkeypatch.setenv("ISEGORIA_PASSPHRASE", "wrong")
    result = run(citizen_app, "status", "--wallet", str(wallet), code=2)
    assert "wrong passphrase" in result.stderr


def test_citizen_other_actions(
    server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wallet = str(_enroll(tmp_path, monkeypatch))
    server.ask("q1")
    run(citizen_app, "profile", "--wallet", wallet, "--name", "Ada", "--statement", "Parks")
    run(citizen_app, "opine", "--wallet", wallet, "q1", "--stance", "for", "--text", "Yes")
    run(citizen_app, "opine", "--wallet", wallet, "q1", "--stance", "maybe", "--text", "?",
        code=2)
    run(citizen_app, "propose", "--wallet", wallet, "parks", "trees", "--title", "Trees",
        "--text", "Plant")
    run(citizen_app, "support", "--wallet", wallet, "trees", "--withdraw")
    kinds = [json.loads(leaf)["record"]["type"] for leaf in server.leaves[-4:]]
    assert kinds == ["delegate_profile", "opinion", "initiative", "support"]
    assert run(citizen_app, "resume", "--wallet", wallet).stdout.strip() == "nothing pending"


# --- lobby ------------------------------------------------------------------------------------


def test_lobby_keygen_apply_position(server: FakeServer, tmp_path: Path) -> None:
    key = str(tmp_path / "acme.key")
    made = run(lobby_app, "keygen", "--key-file", key, "--lobby-id", "acme").stdout
    assert "lobby acme: key" in made
    run(lobby_app, "keygen", "--key-file", key, "--lobby-id", "acme", code=2)
    declaration = tmp_path / "decl.json"
    declaration.write_text(json.dumps(DECLARATION))
    server.overrides[("POST", "/v1/lobbies")] = httpx.Response(
        202, json={"lobby_id": "acme", "status": "pending"})
    applied = run(lobby_app, "apply", "--key-file", key, "--declaration", str(declaration))
    assert "application pending" in applied.stdout
    server.ask("q1")
    run(lobby_app, "position", "--key-file", key, "q1", "yes", "--statement", "For it")
    assert json.loads(server.leaves[-1])["record"]["type"] == "lobby_position"


@pytest.mark.parametrize("content", ['{"legal_name": 1.5}', "[]", '{"category": "cartel"}'])
def test_lobby_apply_bad_declaration_exits_2(
    server: FakeServer, tmp_path: Path, content: str
) -> None:
    key = str(tmp_path / "acme.key")
    run(lobby_app, "keygen", "--key-file", key, "--lobby-id", "acme")
    declaration = tmp_path / "decl.json"
    declaration.write_text(content)
    run(lobby_app, "apply", "--key-file", key, "--declaration", str(declaration), code=2)
    assert not any(r.url.path == "/v1/lobbies" for r in server.requests)


# --- what users get wrong ---------------------------------------------------------------------


def test_a_passphrase_piped_in_is_read_without_a_prompt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wallet = _enroll(tmp_path, monkeypatch)
    monkeypatch.delenv("ISEGORIA_PASSPHRASE")
    piped = runner.invoke(citizen_app, ["status", "--wallet", str(wallet)],
                          input=PASSPHRASE.decode() + "\n")
    assert piped.exit_code == 0, piped.stderr
    assert "Passphrase" not in piped.stdout + piped.stderr
    nothing = runner.invoke(citizen_app, ["status", "--wallet", str(wallet)], input="")
    assert nothing.exit_code == 2
    assert "set ISEGORIA_PASSPHRASE or pipe it in" in nothing.stderr


def test_enrolling_in_an_unknown_assembly_leaves_no_wallet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISEGORIA_ENROLLMENT_CODE", "code-alice")
    wallet = tmp_path / "w"
    result = run(citizen_app, "enroll", "--wallet", str(wallet), "--assembly", "nope", code=1)
    assert "nope" in result.stderr
    assert not wallet.exists()  # so the next try, in the right assembly, starts afresh
    run(citizen_app, "enroll", "--wallet", str(wallet), "--assembly", "city")


def test_an_action_that_could_not_be_sent_says_how_it_will_be(
    server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wallet = _enroll(tmp_path, monkeypatch)
    server.ask("q1")
    server.overrides[("POST", "/v1/board")] = refuse(503, "the database is unavailable")
    failed = run(citizen_app, "vote", "--wallet", str(wallet), "q1", "yes", code=1)
    assert f"isegoria citizen resume --wallet {wallet}" in failed.stderr
    pending = run(citizen_app, "status", "--wallet", str(wallet)).stdout
    assert "pending   ballot on q1 (seq 1), not yet acknowledged" in pending
    del server.overrides[("POST", "/v1/board")]
    resumed = run(citizen_app, "resume", "--wallet", str(wallet))
    assert "leaf" in resumed.stdout
    # A refusal is final, not kept: no such note.
    refused = run(citizen_app, "vote", "--wallet", str(wallet), "q-unknown", "yes", code=1)
    assert "resume" not in refused.stderr


def test_an_unreachable_server_is_named_with_where_its_url_comes_from(
    server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wallet = _enroll(tmp_path, monkeypatch)
    server.fail_before = 100
    result = run(citizen_app, "vote", "--wallet", str(wallet), "q1", "yes", "--url",
                 "http://vote.example:8443", code=1)
    assert "http://vote.example:8443" in result.stderr
    assert "--url or ISEGORIA_URL" in result.stderr


def test_an_admin_creation_sent_again_says_nothing_was_appended(server: FakeServer) -> None:
    answer = {"index": 2, "envelope": server.envelope(server.authority, {"type": "topic"})}
    server.overrides[("POST", "/v1/assemblies/city/topics")] = httpx.Response(201, json=answer)
    first = run(admin_app, "topic", "city", "parks", "--title", "Parks").stdout
    assert "appended at leaf 2" in first
    server.overrides[("POST", "/v1/assemblies/city/topics")] = httpx.Response(200, json=answer)
    again = run(admin_app, "topic", "city", "parks", "--title", "Parks").stdout
    assert "already on the board at leaf 2 (nothing appended)" in again


def test_a_tally_without_ballots_names_no_winner(server: FakeServer) -> None:
    server.tally_result = {
        "citizens": {"method": "single", "electorate": 3, "ballots_direct": 0,
                     "counts": {"yes": 0, "no": 0}, "ranking": ["yes", "no"]},
        "stats": {"largest_carrier_weight": 0, "carriers": 0},
    }
    out = run(citizen_app, "tally", "q1").stdout
    assert "ranking: (no ballot)" in out
    assert "ranking: yes" not in out
    assert "0 ballot(s) carry delegated weight" in out


def test_receipts_are_saved_for_the_auditor(
    server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from client.audit_cli import _read_receipt

    wallet = _enroll(tmp_path, monkeypatch)
    server.ask("q1")
    run(citizen_app, "vote", "--wallet", str(wallet), "q1", "yes")
    out = tmp_path / "receipts"
    result = run(citizen_app, "receipts", "--wallet", str(wallet), "--save", str(out))
    assert f"2 receipt(s) written to {out}" in result.stdout
    stored = Wallet.open(wallet, PASSPHRASE).receipts
    for receipt in (s.receipt for s in stored):
        path = out / f"receipt-{receipt.index}.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert json.loads(path.read_text()) == receipt.to_json()
        index, leaf, head = _read_receipt(path)  # what `isegoria audit receipt` reads
        assert (index, leaf, head.tree_size) == (receipt.index, receipt.leaf_hash,
                                                 receipt.sth.tree_size)


def test_lobby_mistakes_are_caught_before_anything_is_made_or_sent(
    server: FakeServer, tmp_path: Path
) -> None:
    key = str(tmp_path / "acme.key")
    bad = run(lobby_app, "keygen", "--key-file", key, "--lobby-id", "Acme Transport", code=2)
    assert "--lobby-id" in bad.stderr
    assert not Path(key).exists()
    run(lobby_app, "keygen", "--key-file", key, "--lobby-id", "acme")
    server.ask("q1")
    sent = len(server.requests)
    silent = run(lobby_app, "position", "--key-file", key, "q1", "yes", code=2)
    assert "--statement" in silent.stderr
    assert len(server.requests) == sent
    described = run(lobby_app, "apply", "--help").stdout
    assert "spend_band" in described and "fiscal_year" in described


def test_questions_are_listed_from_the_signed_board(server: FakeServer) -> None:
    server.ask("q1", "approval", ("a", "b"))
    server.ask("q2")
    server.add(server.envelope(server.authority, {"type": "question_closed", "question_id": "q2",
                                                  "roll_size": 1, "credentials_issued": 1}))
    out = run(citizen_app, "questions", "--assembly", "city").stdout.splitlines()
    assert out[0].split()[:3] == ["q1", "approval", "open"]
    assert out[1].split() == ["options:", "a,", "b"]
    assert out[2].split()[:3] == ["q2", "single", "closed"]
    assert "no question" in run(citizen_app, "questions", "--assembly", "other").stdout
    # A question record not signed by the authority is not believed.
    server.add(server.envelope(SigningKey(bytes(range(1, 33))), {
        "type": "question", "assembly_id": "city", "topic_id": "parks", "question_id": "q3",
        "title": "Q?", "method": "single", "options": [{"id": "x", "title": "X"}]}))
    forged = run(citizen_app, "questions", "--assembly", "city", code=1)
    assert "not signed by the authority key" in forged.stderr


def test_a_vote_reads_one_leaf_of_the_board_not_all_of_it(
    server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wallet = _enroll(tmp_path, monkeypatch)
    for n in range(20):
        server.ask(f"other-{n}")
    server.ask("q1")
    before = len(server.requests)
    run(citizen_app, "vote", "--wallet", str(wallet), "q1", "yes")
    reads = [r for r in server.requests[before:]
             if r.method == "GET" and r.url.path == "/v1/board"]
    spans = [int(r.url.params["end"]) - int(r.url.params["start"]) for r in reads]
    assert spans == [1]  # the question's own leaf, checked by an inclusion proof
    # A server that names another leaf, or serves altered bytes, is caught.
    server.overrides[("GET", "/v1/questions/q1")] = httpx.Response(
        200, json={"question_id": "q1", "index": 3, "closed": False})
    wrong = run(citizen_app, "vote", "--wallet", str(wallet), "q1", "no", code=1)
    assert "is not the record of question 'q1'" in wrong.stderr
    del server.overrides[("GET", "/v1/questions/q1")]
    server.served_leaves = lambda leaves: [leaf.replace(b'"Q?"', b'"Q!"') for leaf in leaves]
    altered = run(citizen_app, "vote", "--wallet", str(wallet), "q1", "no", code=1)
    assert "not in the signed tree" in altered.stderr
