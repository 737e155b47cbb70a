"""isegoria's own vectors (tests/vectors/isegoria/), read independently and by the project.

The independent reading is ``tests/vectors/isegoria/independent.py`` plus ``_Reader`` below: the
standard library, PyNaCl and ``cryptography`` only, no ``audit``, ``ballot``, ``delegation``,
``lobby``, ``crypto`` nor ``tests.boardgen``. It re-derives every JCS byte string, signature, leaf
hash, Merkle root and proof, every credential, every tally (all four methods, with its own
delegation resolver), every trace and the initiative figures, and refuses each tampered board at
the leaf the vectors name. The last three tests run the project's own verifier and generator on the
same files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import nacl.signing
import pytest

from tests.vectors.isegoria.independent import (
    ALL_TYPES,
    AUTHORITY_TYPES,
    CREDENTIAL_DOMAIN,
    LOBBY_DOMAIN,
    RECORD_DOMAIN,
    STH_DOMAIN,
    Refused,
    b64u,
    check_consistency,
    check_credential,
    check_inclusion,
    count,
    ed25519,
    enc,
    issuer_key,
    jcs,
    mth,
    path,
    resolve,
    sha,
    subproof,
)

HERE = Path(__file__).resolve().parents[1] / "vectors" / "isegoria"


def _load(name: str) -> Any:
    return json.loads((HERE / name).read_text(encoding="utf-8"))


# -- the board, folded leaf by leaf ---------------------------------------------------------------


class _Reader:
    """Checks each leaf (JCS bytes, envelope, Ed25519, signer, seq, credentials, owed records,
    close counters) and recomputes every owed ``tally`` and ``initiative_admitted``.

    It does not re-check every rule of §11 (existence, ids, choices): the project's verifier does.
    """

    def __init__(self) -> None:
        self.hashes: list[bytes] = []
        self.authority: str | None = None
        self.owed: dict[str, Any] | None = None
        self.seqs: dict[str, int] = {}
        self.keys: set[str] = set()
        self.assemblies: dict[str, dict[str, Any]] = {}
        self.questions: dict[str, dict[str, Any]] = {}
        self.of: dict[str, str] = {}  # pseudonym -> assembly
        self.entries: dict[str, dict[tuple[str, str], str | None]] = {}
        self.ballots: dict[str, dict[str, Any]] = {}
        self.positions: dict[str, dict[str, Any]] = {}
        self.lobbies: dict[str, dict[str, Any]] = {}
        self.initiatives: dict[str, dict[str, Any]] = {}
        self.stances: dict[str, dict[str, str]] = {}
        self.profiles: dict[str, str] = {}
        self.results: dict[str, Any] = {}
        self.traces: dict[str, Any] = {}

    def read(self, lines: list[bytes], sth: dict[str, Any] | None) -> None:
        for i, line in enumerate(lines):
            try:
                self.feed(line)
            except (Refused, AssertionError, LookupError, ValueError, TypeError) as exc:
                raise Refused(f"leaf {i}: {exc!r}") from exc
        n = len(lines)
        if self.owed is not None:
            raise Refused(f"leaf {n - 1}: the board ends owing a {self.owed['type']}")
        if sth is not None:
            signed = {k: sth[k] for k in ("tree_size", "root_hash", "timestamp")}
            assert self.authority is not None
            try:
                ed25519(self.authority, STH_DOMAIN + jcs(signed), sth["sig"])
            except Refused as exc:
                raise Refused(f"leaf {n - 1}: tree head signature") from exc
            if sth["tree_size"] != n or b64u(sth["root_hash"]) != mth(self.hashes):
                raise Refused(f"leaf {n - 1}: root or size differs from the tree head")

    def feed(self, line: bytes) -> None:
        def no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            assert len({k for k, _ in pairs}) == len(pairs), "repeated key"
            return dict(pairs)

        def no_float(text: str) -> Any:
            raise Refused(f"not an integer: {text}")  # §3.2: no fraction, exponent, NaN

        hooks = json.JSONDecoder(
            object_pairs_hook=no_repeats, parse_float=no_float, parse_constant=no_float
        )
        env = hooks.decode(line.decode())
        if jcs(env) != line:
            raise Refused("not the JCS of its value")
        assert set(env) == {"record", "signer", "sig"}
        rec, signer = env["record"], env["signer"]
        ed25519(signer, RECORD_DOMAIN + jcs(rec), env["sig"])
        kind = rec["type"]
        if self.owed is not None:
            if jcs(rec) != jcs(self.owed) or signer != self.authority:
                raise Refused(f"not the owed {self.owed['type']}")
            self.owed = None
        elif not self.hashes:
            assert kind == "genesis" and rec["authority_key"] == signer
            self.authority = signer
            self.keys.add(signer)
        elif kind in {"genesis", "tally", "initiative_admitted"}:
            raise Refused(f"a {kind} that is not owed")
        elif kind in AUTHORITY_TYPES:
            assert signer == self.authority
            self._handler(kind)(rec)
        else:
            if signer in self.seqs and rec["seq"] <= self.seqs[signer]:
                raise Refused("seq not above the signer's last")
            if "seq" in rec:
                self.seqs[signer] = rec["seq"]
            if kind == "lobby_position":
                lobby = self.lobbies[rec["lobby_id"]]
                assert lobby["key"] == signer and not lobby["suspended"]
                assert not self.questions[rec["question_id"]]["closed"]
            else:
                assert rec["pseudonym"] == signer
                assert kind == "pseudonym" or signer in self.of
            self._handler(kind)(rec)
        self.hashes.append(sha(b"\x00" + line))

    def _handler(self, kind: str) -> Callable[[dict[str, Any]], None]:
        if kind not in ALL_TYPES:
            raise Refused(f"unknown record type {kind!r}")
        handler: Callable[[dict[str, Any]], None] = getattr(self, f"_{kind}")
        return handler

    def _assembly(self, rec: dict[str, Any]) -> None:
        key = issuer_key(b64u(rec["issuer_key"]))
        self.assemblies[rec["assembly_id"]] = {
            "key": key, "threshold": rec["initiative_threshold"], "members": [], "counters": (0, 0),
        }  # fmt: skip

    def _topic(self, rec: dict[str, Any]) -> None:
        assert rec["assembly_id"] in self.assemblies

    def _question(self, rec: dict[str, Any]) -> None:
        self.questions[rec["question_id"]] = {"record": rec, "closed": False}
        self.ballots[rec["question_id"]], self.positions[rec["question_id"]] = {}, {}

    def effective(self, scopes: list[tuple[str, str]]) -> Callable[[str], str | None]:
        def eff(p: str) -> str | None:
            entries = self.entries.get(p, {})
            return next((entries[s] for s in scopes if s in entries), None)

        return eff

    def _question_closed(self, rec: dict[str, Any]) -> None:
        qid = rec["question_id"]
        q = self.questions[qid]
        assert not q["closed"]
        qr, a = q["record"], self.assemblies[q["record"]["assembly_id"]]
        members, counters = list(a["members"]), (rec["credentials_issued"], rec["roll_size"])
        assert len(members) <= counters[0] <= counters[1]
        assert all(x >= y for x, y in zip(counters, a["counters"], strict=True))
        a["counters"], q["closed"] = counters, True
        scopes = [("question", qid), ("topic", qr["topic_id"]), ("assembly", qr["assembly_id"])]
        ballots = self.ballots[qid]
        classes, weights, hops, traces = resolve(members, self.effective(scopes), set(ballots))
        part = count(qr, [(ballots[v], w) for v, w in weights.items()])
        heavy = [(v, w) for v, w in weights.items() if w > 1]
        carriers = sorted(heavy, key=lambda x: (-x[1], x[0]))
        names = ("ballots_direct", "weight_delegated", "dead_end", "cycle", "abstained")
        live = {x: c for x, c in self.positions[qid].items() if not self.lobbies[x]["suspended"]}
        # The lobby column counts like the method (first preferences, approvals), no selection.
        plain = qr | {"method": qr["method"].replace("budget", "approval")}
        result = {
            "citizens": {"method": qr["method"], "electorate": len(members)}
            | {k: classes[k] for k in names}
            | {"carriers": [{"pseudonym": v, "weight": w} for v, w in carriers]}
            | part,
            "lobbies": {
                "positions": [{"lobby_id": x, "choice": live[x]} for x in sorted(live)],
                "counts": count(plain, [(c, 1) for c in live.values()])["counts"],
            },
            "stats": {
                "largest_carrier_weight": max(weights.values(), default=0),
                "carriers": len(carriers),
                "chain_lengths": {str(h): c for h, c in sorted(hops.items())},
            },
        }
        self.results[qid] = result
        # Only a chain that ends at a ballot ends at a voter: its choice is that voter's.
        self.traces[qid] = {
            p: {"chain": chain, "end": end, "choice": ballots.get(chain[-1])}
            for p, (chain, end) in sorted(traces.items())
        }
        self.owed = {"type": "tally", "question_id": qid, "result": result}

    def _lobby_registered(self, rec: dict[str, Any]) -> None:
        known = self.lobbies.get(rec["lobby_id"])
        if known is None:
            assert rec["lobby_key"] not in self.keys
            self.keys.add(rec["lobby_key"])
            self.lobbies[rec["lobby_id"]] = {"key": rec["lobby_key"], "suspended": False}
        assert self.lobbies[rec["lobby_id"]]["key"] == rec["lobby_key"]

    def _lobby_suspended(self, rec: dict[str, Any]) -> None:
        self.lobbies[rec["lobby_id"]]["suspended"] = True

    def _pseudonym(self, rec: dict[str, Any]) -> None:
        pk, a = rec["pseudonym"], self.assemblies[rec["assembly_id"]]
        assert pk not in self.keys
        prefix, credential = b64u(rec["msg_prefix"]), b64u(rec["credential"])
        check_credential(a["key"], rec["assembly_id"], b64u(pk, 32), prefix, credential)
        self.keys.add(pk)
        self.of[pk] = rec["assembly_id"]
        a["members"].append(pk)

    def _ballot(self, rec: dict[str, Any]) -> None:
        q = self.questions[rec["question_id"]]
        assert not q["closed"] and q["record"]["assembly_id"] == self.of[rec["pseudonym"]]
        self.ballots[rec["question_id"]][rec["pseudonym"]] = rec["choice"]

    def _delegation(self, rec: dict[str, Any]) -> None:
        assert rec["assembly_id"] == self.of[rec["pseudonym"]] != rec.get("delegate")
        if rec.get("delegate") is not None:
            assert self.of[rec["delegate"]] == rec["assembly_id"]
        ((kind, ident),) = rec["scope"].items()
        scopes = self.entries.setdefault(rec["pseudonym"], {})
        if rec["type"] == "revocation":
            scopes.pop((kind, ident), None)
        else:
            scopes[(kind, ident)] = rec["delegate"]

    _revocation = _delegation

    def _lobby_position(self, rec: dict[str, Any]) -> None:
        self.positions[rec["question_id"]][rec["lobby_id"]] = rec["choice"]

    def _delegate_profile(self, rec: dict[str, Any]) -> None:
        self.profiles[rec["pseudonym"]] = rec["display_name"]

    def _opinion(self, rec: dict[str, Any]) -> None:
        assert not self.questions[rec["question_id"]]["closed"]
        self.stances.setdefault(rec["question_id"], {})[rec["pseudonym"]] = rec["stance"]

    def _initiative(self, rec: dict[str, Any]) -> None:
        self.initiatives[rec["initiative_id"]] = {"record": rec, "supports": {}, "admitted": False}

    def supports(self, initiative_id: str) -> tuple[int, int]:
        """Live direct supports, and supports_with_delegation (§6b.2), on the board so far."""
        ini = self.initiatives[initiative_id]
        rec, sup = ini["record"], ini["supports"]
        live = {p for p, ok in sup.items() if ok}
        stoppers = frozenset(p for p, ok in sup.items() if not ok)
        eff = self.effective([("topic", rec["topic_id"]), ("assembly", rec["assembly_id"])])
        classes, *_ = resolve(self.assemblies[rec["assembly_id"]]["members"], eff, live, stoppers)
        return len(live), classes["ballots_direct"] + classes["weight_delegated"]

    def _support(self, rec: dict[str, Any]) -> None:
        ini = self.initiatives[rec["initiative_id"]]
        ini["supports"][rec["pseudonym"]] = not rec["withdrawn"]
        threshold = self.assemblies[ini["record"]["assembly_id"]]["threshold"]
        direct, with_delegation = self.supports(rec["initiative_id"])
        if not ini["admitted"] and direct >= threshold:
            ini["admitted"] = True
            self.owed = {
                "type": "initiative_admitted", "initiative_id": rec["initiative_id"],
                "supports": direct, "supports_with_delegation": with_delegation,
                "threshold": threshold,
            }  # fmt: skip


# -- the tests ------------------------------------------------------------------------------------

ENVELOPES, HEADS = _load("envelopes.json"), _load("tree_heads.json")
EXPECTED, TAMPERED = _load("board.expected.json"), _load("board.tampered.json")
LINES = (HERE / "board.ndjson").read_bytes().split(b"\n")
assert LINES.pop() == b"", "board.ndjson ends with a newline"
STH = _load("board.sth.json")
LEAF_HASHES = [sha(b"\x00" + line) for line in LINES]


@cache
def reader() -> _Reader:
    r = _Reader()
    r.read(LINES, STH)
    return r


def test_independent_reading_imports_no_project_code() -> None:
    code = (
        "import json, sys, tests.vectors.isegoria.independent; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    root = HERE.parents[2]
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, cwd=root)
    loaded = json.loads(run.stdout)
    project = ("audit", "ballot", "client", "crypto", "delegation", "lobby", "service")
    assert "tests.vectors.isegoria.independent" in loaded
    assert not [m for m in loaded if m.split(".")[0] in project or m == "tests.boardgen"]


def test_files_hold_what_the_readme_promises() -> None:
    kinds = Counter(json.loads(line)["record"]["type"] for line in LINES)
    assert set(kinds) == ALL_TYPES and len(LINES) < 150
    assert {e["type"] for e in ENVELOPES["envelopes"]} == ALL_TYPES
    methods = Counter(q["method"] for q in EXPECTED["questions"].values())
    assert set(methods) == {"single", "approval", "ranked", "budget"}
    citizens = [q["result"]["citizens"] for q in EXPECTED["questions"].values()]
    for cls in ("weight_delegated", "dead_end", "cycle", "abstained"):
        assert any(c[cls] for c in citizens), cls
    assert any(q["initiative_id"] for q in EXPECTED["questions"].values())
    assert kinds["lobby_suspended"] and kinds["revocation"]
    assert any(json.loads(line)["record"].get("delegate", "") is None for line in LINES)
    assert STH["tree_size"] == len(LINES) == EXPECTED["summary"]["tree_size"]


@pytest.mark.parametrize("v", ENVELOPES["envelopes"], ids=lambda v: v["name"])
def test_envelope(v: dict[str, Any]) -> None:
    key = nacl.signing.SigningKey(bytes.fromhex(v["signer_seed_hex"]))
    assert bytes(key.verify_key) == bytes.fromhex(v["signer_hex"]) == b64u(v["signer"], 32)
    assert jcs(v["record"]).decode() == v["record_jcs"]
    message = RECORD_DOMAIN + jcs(v["record"])
    assert message.hex() == v["signed_message_hex"]
    sig = key.sign(message).signature  # Ed25519 is deterministic: the vector is reproducible
    assert sig.hex() == v["sig_hex"] and enc(sig) == v["sig"]
    ed25519(v["signer"], message, v["sig"])
    flipped = bytes([sig[0] ^ 1]) + sig[1:]
    with pytest.raises(Refused):
        ed25519(v["signer"], message, enc(flipped))
    leaf = jcs({"record": v["record"], "signer": v["signer"], "sig": v["sig"]})
    assert leaf.decode() == v["leaf"] and sha(b"\x00" + leaf).hex() == v["leaf_hash_hex"]
    assert enc(sha(b"\x00" + leaf)) == v["leaf_hash"]
    if v["board_index"] is not None:
        assert LINES[v["board_index"]] == leaf


def test_envelope_domains() -> None:
    d = ENVELOPES["domains_hex"]
    assert [d[k] for k in ("record", "sth", "lobby_application", "credential")] == [
        x.hex() for x in (RECORD_DOMAIN, STH_DOMAIN, LOBBY_DOMAIN, CREDENTIAL_DOMAIN)
    ]


def test_protocol_12_2_genesis() -> None:
    (v,) = [e for e in ENVELOPES["envelopes"] if e["name"] == "protocol-12.2-genesis"]
    assert v["leaf_hash_hex"] == "59e6762f4895710fc46634aa37a0693397923a24a8a6885de8850d06b1eea762"


def test_lobby_application() -> None:
    (v,) = ENVELOPES["lobby_applications"]
    key = nacl.signing.SigningKey(bytes.fromhex(v["signer_seed_hex"]))
    message = LOBBY_DOMAIN + jcs(v["application"])
    assert message.hex() == v["signed_message_hex"]
    assert enc(key.sign(message).signature) == v["sig"]
    ed25519(v["application"]["lobby_key"], message, v["sig"])


@pytest.mark.parametrize("v", ENVELOPES["credentials"], ids=lambda v: v["assembly_id"])
def test_credential(v: dict[str, Any]) -> None:
    key = issuer_key(bytes.fromhex(v["issuer_spki_hex"]))
    pk, prefix = b64u(v["pseudonym"], 32), bytes.fromhex(v["msg_prefix_hex"])
    msg = CREDENTIAL_DOMAIN + v["assembly_id"].encode() + b"\x00" + pk
    assert msg.hex() == v["msg_hex"] and (prefix + msg).hex() == v["prepared_msg_hex"]
    credential = bytes.fromhex(v["credential_hex"])
    check_credential(key, v["assembly_id"], pk, prefix, credential)
    with pytest.raises(Refused):
        check_credential(key, v["assembly_id"] + "x", pk, prefix, credential)


@pytest.mark.parametrize("v", HEADS["tree_heads"], ids=lambda v: f"size-{v['tree_size']}")
def test_tree_head(v: dict[str, Any]) -> None:
    root = mth(LEAF_HASHES[: v["tree_size"]])
    assert root.hex() == v["root_hex"] and enc(root) == v["root_hash"]
    signed = {k: v[k] for k in ("tree_size", "root_hash", "timestamp")}
    assert jcs(signed).decode() == v["signed_jcs"] and v["authority_key"] == HEADS["authority_key"]
    ed25519(HEADS["authority_key"], STH_DOMAIN + jcs(signed), v["sig"])
    assert sha(b"").hex() == HEADS["empty_root_hex"]


@pytest.mark.parametrize("v", HEADS["inclusion"], ids=lambda v: f"{v['index']}-of-{v['tree_size']}")
def test_inclusion(v: dict[str, Any]) -> None:
    h = LEAF_HASHES[: v["tree_size"]]
    assert enc(h[v["index"]]) == v["leaf_hash"] and enc(mth(h)) == v["root_hash"]
    assert [enc(x) for x in path(v["index"], h)] == v["proof"]
    proof = [b64u(x) for x in v["proof"]]
    check_inclusion(h[v["index"]], v["index"], v["tree_size"], proof, mth(h))


@pytest.mark.parametrize("v", HEADS["consistency"], ids=lambda v: f"{v['size1']}-to-{v['size2']}")
def test_consistency(v: dict[str, Any]) -> None:
    h1, h2 = LEAF_HASHES[: v["size1"]], LEAF_HASHES[: v["size2"]]
    assert [enc(mth(h1)), enc(mth(h2))] == [v["root1"], v["root2"]]
    assert [enc(x) for x in subproof(v["size1"], h2, True)] == v["proof"]
    check_consistency(v["size1"], v["size2"], [b64u(x) for x in v["proof"]], mth(h1), mth(h2))


@pytest.mark.parametrize("v", HEADS["invalid_inclusion"], ids=lambda v: v["why"])
def test_invalid_inclusion(v: dict[str, Any]) -> None:
    leaf, root = b64u(v["leaf_hash"]), b64u(v["root_hash"])
    with pytest.raises(Refused):
        check_inclusion(leaf, v["index"], v["tree_size"], [b64u(x) for x in v["proof"]], root)


@pytest.mark.parametrize("v", HEADS["invalid_consistency"], ids=lambda v: v["why"])
def test_invalid_consistency(v: dict[str, Any]) -> None:
    with pytest.raises(Refused):
        proof = [b64u(x) for x in v["proof"]]
        check_consistency(v["size1"], v["size2"], proof, b64u(v["root1"]), b64u(v["root2"]))


def test_board_reads_independently() -> None:
    r, summary = reader(), EXPECTED["summary"]
    assert r.authority == summary["authority_key"] == STH["authority_key"]
    assert enc(mth(LEAF_HASHES)) == summary["root_hash"] == STH["root_hash"]
    assert (len(r.assemblies), len(r.questions), len(r.of), len(r.lobbies)) == (
        summary["assemblies"], summary["questions"], summary["pseudonyms"], summary["lobbies"],
    )  # fmt: skip


@pytest.mark.parametrize("qid", sorted(EXPECTED["questions"]))
def test_tally(qid: str) -> None:
    """Recomputed here (every method), published on the board, and expected: all three agree."""
    q = EXPECTED["questions"][qid]
    published = json.loads(LINES[q["tally_index"]])["record"]
    assert published["type"] == "tally" and published["question_id"] == qid
    assert json.loads(LINES[q["closed_index"]])["record"]["type"] == "question_closed"
    assert jcs(reader().results[qid]) == jcs(published["result"]) == jcs(q["result"])


@pytest.mark.parametrize("qid", sorted(EXPECTED["traces"]))
def test_traces(qid: str) -> None:
    assert reader().traces[qid] == EXPECTED["traces"][qid]


def test_initiatives_opinions_and_delegates() -> None:
    r = reader()
    for assembly in EXPECTED["initiatives"].values():
        for ini in assembly["initiatives"]:
            direct, with_delegation = r.supports(ini["initiative_id"])
            assert (direct, with_delegation) == (ini["supports"], ini["supports_with_delegation"])
            admitted = json.loads(LINES[ini["admitted_index"]])["record"]
            assert admitted["type"] == "initiative_admitted" and ini["question_id"]
    for qid, counts in EXPECTED["opinions"].items():
        latest = Counter(r.stances.get(qid, {}).values())
        assert counts == {s: latest[s] for s in ("for", "against", "neutral")}
    for aid, view in EXPECTED["delegates"].items():
        incoming: dict[str, Counter[str]] = {}
        for p, scopes in r.entries.items():
            for (kind, ident), d in scopes.items():
                if d is not None and r.of[p] == aid:
                    incoming.setdefault(d, Counter())[f"{kind}:{ident}"] += 1
        listed = sorted(set(incoming) | {p for p in r.profiles if r.of[p] == aid})
        assert [d["pseudonym"] for d in view["delegates"]] == listed
        for d in view["delegates"]:
            assert d["incoming"] == dict(sorted(incoming.get(d["pseudonym"], Counter()).items()))
            assert d["display_name"] == r.profiles.get(d["pseudonym"])
    status = {x["lobby_id"]: x["status"] == "suspended" for x in EXPECTED["lobbies"]["lobbies"]}
    assert status == {x: v["suspended"] for x, v in r.lobbies.items()}


def _edited(case: dict[str, Any]) -> list[bytes]:
    board = list(LINES)
    for edit in case["edits"]:
        if edit["op"] == "replace":
            board[edit["index"]] = edit["leaf"].encode()
        elif edit["op"] == "swap":
            board[edit["index"]], board[edit["with"]] = board[edit["with"]], board[edit["index"]]
        else:
            assert edit["op"] == "truncate"
            del board[edit["size"] :]
    return board


@pytest.mark.parametrize("case", TAMPERED["cases"], ids=lambda c: c["name"])
def test_tampered_board_refused_independently(case: dict[str, Any]) -> None:
    with pytest.raises(Refused, match=rf"^leaf {case['fail_leaf']}:"):
        _Reader().read(_edited(case), case["sth"])


# -- the project's own code on the same files (not part of the independent reading) ----------------


def test_project_verifier_accepts_board() -> None:
    from audit.replay import verify_board

    report = verify_board(LINES, sth=STH)
    summary = EXPECTED["summary"]
    assert enc(report.root_hash) == summary["root_hash"] and report.root_checked
    assert (report.tree_size, report.assemblies, report.questions, report.tallies) == (
        summary["tree_size"], summary["assemblies"], summary["questions"], summary["tallies"],
    )  # fmt: skip
    assert (report.pseudonyms, report.lobbies) == (summary["pseudonyms"], summary["lobbies"])


@pytest.mark.parametrize("case", TAMPERED["cases"], ids=lambda c: c["name"])
def test_project_verifier_rejects_tampered(case: dict[str, Any]) -> None:
    from audit import VerificationFailed
    from audit.replay import verify_board

    with pytest.raises(VerificationFailed) as caught:
        verify_board(_edited(case), sth=case["sth"])
    assert caught.value.leaf == case["fail_leaf"]


def test_generator_reproduces_files(tmp_path: Path) -> None:
    from tests.vectors.isegoria.generate import FILES, main

    assert main(["--out", str(tmp_path)]) == 0
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (HERE / name).read_bytes(), name
