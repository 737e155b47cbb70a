"""Write isegoria's own test vectors (docs/VECTORS.md, section ``isegoria/``).

Run from the repository root::

    .venv/bin/python -m tests.vectors.isegoria.generate            # writes tests/vectors/isegoria/
    .venv/bin/python -m tests.vectors.isegoria.generate --out DIR  # writes elsewhere

The board comes from ``tests.vectors.isegoria.scenario`` (``tests.boardgen.BoardBuilder`` with a
fixed seed); tree heads and proofs from ``crypto.merkle``; the tallies, traces and reads of
``board.expected.json`` from ``audit`` (the code the server runs), after ``audit.verify_board``
has accepted the board. Two runs write identical bytes. The independent check is
``tests/unit/test_isegoria_vectors.py`` with ``tests/vectors/isegoria/independent.py``: the
standard library, PyNaCl and ``cryptography`` only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from audit import verify_board
from audit.views import (
    delegates_view,
    initiatives_view,
    lobbies_view,
    opinions_view,
    trace_view,
)
from crypto.blind_rsa import CREDENTIAL_DOMAIN, credential_message
from crypto.ed25519 import (
    LOBBY_APPLICATION_DOMAIN,
    RECORD_DOMAIN,
    STH_DOMAIN,
    SigningKey,
    sign_object,
)
from crypto.encoding import JSONValue, b64u_decode, b64u_encode, canonical_json, parse_json
from crypto.errors import InvalidProof
from crypto.merkle import EMPTY_ROOT, leaf_hash, verify_consistency, verify_inclusion
from tests.boardgen import Json, issuer_key, lobby_declaration
from tests.vectors.isegoria.scenario import SEED, Scenario, build, flip_bit, resign, tampered

__all__ = ["FILES", "main", "write_vectors"]

HERE = Path(__file__).resolve().parent
FILES = (
    "envelopes.json",
    "tree_heads.json",
    "board.ndjson",
    "board.sth.json",
    "board.expected.json",
    "board.tampered.json",
)


# -- envelopes.json ---------------------------------------------------------------------------


def _envelope_entry(name: str, index: int | None, leaf: bytes, seed: bytes) -> Json:
    envelope = parse_json(leaf)
    assert isinstance(envelope, dict)
    record = envelope["record"]
    signed = RECORD_DOMAIN + canonical_json(record)
    return {
        "name": name,
        "board_index": index,
        "type": record["type"] if isinstance(record, dict) else None,
        "signer_seed_hex": seed.hex(),
        "signer": envelope["signer"],
        "signer_hex": b64u_decode(envelope["signer"]).hex(),
        "record": record,
        "record_jcs": canonical_json(record).decode(),
        "signed_message_hex": signed.hex(),
        "sig": envelope["sig"],
        "sig_hex": b64u_decode(envelope["sig"]).hex(),
        "leaf": leaf.decode(),
        "leaf_hash_hex": leaf_hash(leaf).hex(),
        "leaf_hash": b64u_encode(leaf_hash(leaf)),
    }


def _seeds(s: Scenario) -> dict[str, bytes]:
    keys: dict[str, SigningKey] = {s.b.authority.public_key_b64u: s.b.authority}
    keys.update({pk: c.key for pk, c in s.b.citizens.items()})
    keys.update({lobby.pk: lobby.key for lobby in s.b.lobbies.values()})
    return {pk: key.seed() for pk, key in keys.items()}


def envelopes(s: Scenario) -> Json:
    """One envelope per record type (first on the board) and named special cases."""
    leaves, seeds = s.b.leaves(), _seeds(s)
    picks: dict[str, int] = {}
    for index, leaf in enumerate(leaves):
        kind = str(json.loads(leaf)["record"]["type"])
        picks.setdefault(kind, index)
    extras = {
        "question-budget": s.marks["question:budget"],
        "question-from-initiative": s.marks["question:initiative"],
        "delegation-null": s.marks["delegation:null"],
        "ballot-ranked": s.marks["ballot:ranked"],
        "ballot-approval-empty": s.marks["ballot:approval:empty"],
        "opinion-non-ascii": s.marks["opinion:non-ascii"],
        "lobby_registered-redeclaration": s.marks["lobby:cyclists:redeclared"],
    }
    entries: list[JSONValue] = []
    for name, index in [*picks.items(), *extras.items()]:
        signer = str(json.loads(leaves[index])["signer"])
        entries.append(_envelope_entry(name, index, leaves[index], seeds[signer]))
    # docs/PROTOCOL.md §12.2: the genesis record under the seed 00 01 … 1f.
    key = SigningKey(bytes(range(32)))
    pk = key.public_key_b64u
    genesis: Json = {"type": "genesis", "protocol": "isegoria/v1", "authority_key": pk}
    leaf = resign(key, genesis).encode()
    entries.append(_envelope_entry("protocol-12.2-genesis", None, leaf, key.seed()))
    lobby = s.b.lobbies["cyclists"]
    application: Json = {
        "lobby_id": "cyclists", "lobby_key": lobby.pk, "declaration": lobby_declaration("cyclists"),
    }  # fmt: skip
    credentials: list[JSONValue] = []
    for name in ("A", "P"):
        pk = s.names[name]
        assembly = s.b.state.assemblies[s.b.citizens[pk].assembly_id]
        rec = json.loads(leaves[assembly.pseudonyms[pk]])["record"]
        msg = credential_message(rec["assembly_id"], b64u_decode(pk))
        prefix = b64u_decode(rec["msg_prefix"])
        credentials.append(
            {
                "pseudonym": pk,
                "assembly_id": rec["assembly_id"],
                "issuer_spki_hex": issuer_key(rec["assembly_id"]).public_key().to_spki().hex(),
                "msg_hex": msg.hex(),
                "msg_prefix_hex": prefix.hex(),
                "prepared_msg_hex": (prefix + msg).hex(),
                "credential_hex": b64u_decode(rec["credential"]).hex(),
            }
        )
    return {
        "description": "isegoria envelopes, signatures, leaf hashes and credentials (README.md)",
        "generator": "tests/vectors/isegoria/generate.py",
        "seed": SEED,
        "domains_hex": {
            "record": RECORD_DOMAIN.hex(),
            "sth": STH_DOMAIN.hex(),
            "lobby_application": LOBBY_APPLICATION_DOMAIN.hex(),
            "credential": CREDENTIAL_DOMAIN.hex(),
        },
        "envelopes": entries,
        "lobby_applications": [
            {
                "signer_seed_hex": lobby.key.seed().hex(),
                "application": application,
                "signed_message_hex": (
                    LOBBY_APPLICATION_DOMAIN + canonical_json(application)
                ).hex(),
                "sig": sign_object(lobby.key, LOBBY_APPLICATION_DOMAIN, application),
            }
        ],
        "credentials": credentials,
    }


# -- tree_heads.json ----------------------------------------------------------------------------


def tree_heads(s: Scenario) -> Json:
    """Roots and tree heads of board prefixes, inclusion and consistency proofs, and bad proofs."""
    b, n = s.b, len(s.b)
    sizes = sorted({x for x in (1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 65, n)})
    heads: list[JSONValue] = []
    for size in sizes:
        head = b.sth(size)
        signed = canonical_json({k: head[k] for k in ("tree_size", "root_hash", "timestamp")})
        heads.append(head | {"root_hex": b.tree.root(size).hex(), "signed_jcs": signed.decode()})
    pairs = [
        (0, 1), (0, 2), (1, 2), (2, 3), (0, 8), (5, 8), (6, 7), (10, 17), (16, 17), (31, 64),
        (40, 65), (0, n), (50, n), (n - 1, n),
    ]  # fmt: skip
    inclusion: list[JSONValue] = [
        {
            "index": i,
            "tree_size": size,
            "leaf_hash": b64u_encode(leaf_hash(b.leaves()[i])),
            "root_hash": b64u_encode(b.tree.root(size)),
            "proof": [b64u_encode(h) for h in b.tree.inclusion_proof(i, size)],
        }
        for i, size in pairs
    ]
    steps = [
        (1, 1), (1, 2), (1, n), (2, 3), (3, 4), (3, 7), (4, 8), (6, 8), (7, 15), (16, 17),
        (17, 33), (32, 64), (33, n), (64, n), (n, n),
    ]  # fmt: skip
    consistency: list[JSONValue] = [
        {
            "size1": a,
            "size2": c,
            "root1": b64u_encode(b.tree.root(a)),
            "root2": b64u_encode(b.tree.root(c)),
            "proof": [b64u_encode(h) for h in b.tree.consistency_proof(a, c)],
        }
        for a, c in steps
    ]
    return {
        "description": "RFC 9162 §2.1 roots, tree heads and proofs over board.ndjson (README.md)",
        "generator": "tests/vectors/isegoria/generate.py",
        "leaves": "board.ndjson",
        "empty_root_hex": EMPTY_ROOT.hex(),
        "authority_key": b.authority.public_key_b64u,
        "tree_heads": heads,
        "inclusion": inclusion,
        "consistency": consistency,
        "invalid_inclusion": _bad_inclusion(s, inclusion),
        "invalid_consistency": _bad_consistency(s, consistency),
    }


def _bad_inclusion(s: Scenario, good: list[JSONValue]) -> list[JSONValue]:
    base = good[7]  # index 10 in a tree of 17: a 5-element proof
    assert isinstance(base, dict) and isinstance(base["proof"], list)
    proof: list[JSONValue] = [str(h) for h in base["proof"]]
    other_root = b64u_encode(s.b.tree.root(16))
    cases: list[tuple[str, Json]] = [
        ("wrong-root", {"root_hash": other_root}),
        ("truncated-proof", {"proof": proof[:-1]}),
        ("extended-proof", {"proof": [*proof, proof[0]]}),
        ("flipped-proof-element", {"proof": [proof[0], flip_bit(str(proof[1])), *proof[2:]]}),
        ("wrong-index", {"index": 11}),
        ("wrong-tree-size", {"tree_size": 16}),
        ("index-beyond-size", {"index": 17}),
        ("short-leaf-hash", {"leaf_hash": b64u_encode(b64u_decode(str(base["leaf_hash"]))[:31])}),
    ]
    return [base | {"why": why} | change for why, change in cases]


def _bad_consistency(s: Scenario, good: list[JSONValue]) -> list[JSONValue]:
    base = good[7]  # 6 -> 8
    assert isinstance(base, dict) and isinstance(base["proof"], list)
    proof: list[JSONValue] = [str(h) for h in base["proof"]]
    cases: list[tuple[str, Json]] = [
        ("wrong-root1", {"root1": b64u_encode(s.b.tree.root(5))}),
        ("wrong-root2", {"root2": b64u_encode(s.b.tree.root(9))}),
        ("truncated-proof", {"proof": proof[:-1]}),
        ("extended-proof", {"proof": [*proof, proof[0]]}),
        ("flipped-proof-element", {"proof": [flip_bit(str(proof[0])), *proof[1:]]}),
        ("empty-proof", {"proof": []}),
        ("from-size-zero", {"size1": 0, "root1": b64u_encode(EMPTY_ROOT)}),
        ("size1-above-size2", {"size1": 9}),
    ]
    return [base | {"why": why} | change for why, change in cases]


def _check_bad_proofs(doc: Json) -> None:
    """Every invalid proof must fail the project's own checks (else it is no negative vector)."""
    inclusion, consistency = doc["invalid_inclusion"], doc["invalid_consistency"]
    assert isinstance(inclusion, list) and isinstance(consistency, list)
    for case in inclusion:
        assert isinstance(case, dict) and isinstance(case["proof"], list)
        try:
            verify_inclusion(
                b64u_decode(case["leaf_hash"]), int(str(case["index"])),
                int(str(case["tree_size"])), [b64u_decode(h) for h in case["proof"]],
                b64u_decode(case["root_hash"]),
            )  # fmt: skip
        except InvalidProof:
            continue
        raise AssertionError(f"invalid inclusion case {case['why']} verifies")
    for case in consistency:
        assert isinstance(case, dict) and isinstance(case["proof"], list)
        try:
            verify_consistency(
                int(str(case["size1"])), int(str(case["size2"])),
                [b64u_decode(h) for h in case["proof"]],
                b64u_decode(case["root1"]), b64u_decode(case["root2"]),
            )  # fmt: skip
        except InvalidProof:
            continue
        raise AssertionError(f"invalid consistency case {case['why']} verifies")


# -- board.expected.json ------------------------------------------------------------------------


def expected(s: Scenario) -> Json:
    """The board's verdict and everything derived from it, as the project's code computes it."""
    state, leaves = s.b.state, s.b.leaves()
    report = verify_board(leaves, sth=s.b.sth())
    questions: dict[str, JSONValue] = {}
    traces: dict[str, JSONValue] = {}
    for question_id, q in state.questions.items():
        closed = q.closed
        assert closed is not None, "every question of the vector board is closed"
        questions[question_id] = {
            "assembly_id": q.assembly_id,
            "topic_id": q.topic_id,
            "method": q.spec.method,
            "initiative_id": q.initiative_id,
            "question_index": q.index,
            "closed_index": closed.index,
            "tally_index": closed.index + 1,
            "result": closed.result,
        }
        traces[question_id] = {
            p: {k: v for k, v in trace_view(state, question_id, p).items() if k in _TRACE}
            for p in sorted(closed.electorate)
        }
    return {
        "description": "the verdict on board.ndjson and what it establishes (README.md)",
        "generator": "tests/vectors/isegoria/generate.py",
        "seed": SEED,
        "board": "board.ndjson",
        "sth": "board.sth.json",
        "summary": {
            "tree_size": report.tree_size,
            "root_hash": b64u_encode(report.root_hash),
            "assemblies": report.assemblies,
            "questions": report.questions,
            "tallies": report.tallies,
            "pseudonyms": report.pseudonyms,
            "lobbies": report.lobbies,
            "authority_key": s.b.authority.public_key_b64u,
        },
        "names": dict(s.names),
        "indices": dict(sorted(s.marks.items())),
        "questions": questions,
        "traces": traces,
        "initiatives": {a: initiatives_view(state, a) for a in sorted(state.assemblies)},
        "delegates": {a: delegates_view(state, a) for a in sorted(state.assemblies)},
        "opinions": {q: opinions_view(state, q)["counts"] for q in sorted(state.questions)},
        "lobbies": lobbies_view(state),
    }


_TRACE = ("chain", "end", "choice")


# -- writing ------------------------------------------------------------------------------------


def _json_file(value: JSONValue) -> bytes:
    return (json.dumps(value, indent=1, ensure_ascii=False) + "\n").encode()


def write_vectors(out: Path) -> dict[str, bytes]:
    """Build the board and write every file of ``FILES`` into ``out``; their bytes by name."""
    s = build()
    heads = tree_heads(s)
    _check_bad_proofs(heads)
    files = {
        "envelopes.json": _json_file(envelopes(s)),
        "tree_heads.json": _json_file(heads),
        "board.ndjson": b"".join(leaf + b"\n" for leaf in s.b.leaves()),
        "board.sth.json": _json_file(s.b.sth()),
        "board.expected.json": _json_file(expected(s)),
        "board.tampered.json": _json_file(tampered(s)),
    }
    assert tuple(files) == FILES
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (out / name).write_bytes(data)
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=HERE, help="directory to write (default: here)")
    args = parser.parse_args(argv)
    files = write_vectors(args.out)
    for name, data in files.items():
        print(f"{hashlib.sha256(data).hexdigest()}  {name} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
