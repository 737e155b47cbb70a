"""Auditor throughput: replaying a whole board against raw Ed25519 verification (DESIGN §8).

Run: ``.venv/bin/python -m bench.audit [--quick] [--records N] [--budget S] [--jobs J]``

It generates a valid board of N records (default 1,000,000; ``--quick`` 20,000), mostly ballots
and delegations: a few hundred pseudonyms get real RFC 9474 credentials, then the bulk records are
signed on a fast path (JSON written by the C encoder, which is JCS for these ASCII records) and
applied to the board's rules as trusted, so the board stays valid by construction. Generation
stops at N records or after ``--budget`` seconds, whichever comes first; the figures are then for
the records made, and the line "extrapolated" says so.

It then verifies the board (``verify_parallel`` with ``--jobs`` processes: ``jobs − 1`` worker
processes check Ed25519 signatures, and this one folds the leaves and checks signatures too
whenever the workers' verdicts are not back yet) and measures, in the same run, PyNaCl's raw
Ed25519 verification (``crypto_sign_open`` on the board's own messages) on the same number of
processes. Rates are given per wall second and per CPU second (all processes summed): the CPU
figure is what the ratio (goal >= 0.7) is judged on, since other load on the machine skews wall
time. Peak memory is the process's peak RSS during verification, above what it held before (the
leaves themselves).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import resource
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

import nacl.bindings

from audit.records import Envelope, Record
from audit.replay import Replay, TreeHead, check_signatures
from client.audit_cli import verify_parallel
from crypto.ed25519 import RECORD_DOMAIN, STH_DOMAIN, SigningKey
from crypto.encoding import JSONValue, b64u_encode, canonical_json
from crypto.merkle import leaf_hash, node_hash
from tests.boardgen import BoardBuilder

GOAL = 0.7


def _jcs(value: object) -> bytes:
    # JCS for ASCII keys, strings and integers (DESIGN §3); the C encoder is 5x faster.
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


class FastBoard:
    """A valid board made quickly: real credentials for few pseudonyms, then bulk records."""

    def __init__(self, pseudonyms: int, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        b = self.builder = BoardBuilder(seed, check_signatures=False)
        b.assembly("city")
        b.topic("city", "parks")
        b.question("city", "parks", "q-bike", "single")
        b.question("city", "parks", "q-trees", "approval")
        b.lobby_registered("bakers")
        self.people = [b.enroll("city") for _ in range(pseudonyms)]
        self.leaves = b.leaves()
        self._stack: list[tuple[int, bytes]] = []
        for leaf in self.leaves:
            self._hash(leaf)

    def _hash(self, leaf: bytes) -> None:
        count, current = 1, leaf_hash(leaf)
        while self._stack and self._stack[-1][0] == count:
            left_count, left = self._stack.pop()
            count, current = left_count + count, node_hash(left, current)
        self._stack.append((count, current))

    def root(self) -> bytes:
        result = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            result = node_hash(left, result)
        return result

    def append(self, key: SigningKey, record: dict[str, JSONValue]) -> None:
        message = _jcs(record)
        sig = base64.urlsafe_b64encode(key.sign(RECORD_DOMAIN, message)).rstrip(b"=").decode()
        signer = key.public_key_b64u
        self.builder.state.apply(Envelope(Record(record), signer, sig), trusted=True)
        leaf = b'{"record":%b,"sig":"%b","signer":"%b"}' % (message, sig.encode(), signer.encode())
        self.leaves.append(leaf)
        self._hash(leaf)

    def bulk(self, count: int) -> None:
        b, rng, people = self.builder, self.rng, self.people
        for _ in range(count):
            who = b.citizens[rng.choice(people)]
            roll = rng.random()
            record: dict[str, JSONValue]
            if roll < 0.6:
                question = rng.choice(("q-bike", "q-trees"))
                record = {"type": "ballot", "question_id": question,
                          "choice": b.random_choice(question)}  # fmt: skip
            elif roll < 0.95:
                target = rng.choice(people)
                scopes: tuple[JSONValue, ...] = ({"assembly": "city"}, {"question": "q-bike"})
                record = {
                    "type": "delegation",
                    "assembly_id": "city",
                    "delegate": None if target == who.pk or roll > 0.93 else target,
                    "scope": rng.choice(scopes),
                }
            else:
                scope: dict[str, JSONValue] = {"assembly": "city"}
                record = {"type": "revocation", "assembly_id": "city", "scope": scope}
            record |= {"pseudonym": who.pk, "seq": who.next_seq()}
            self.append(who.key, record)

    def close(self) -> None:
        """Close both questions: ``question_closed`` then the required ``tally``, each."""
        b = self.builder
        for question in ("q-bike", "q-trees"):
            issued = b.assemblies["city"].credentials_issued
            self.append(b.authority, {"type": "question_closed", "question_id": question,
                                      "roll_size": issued + 10, "credentials_issued": issued})
            required = b.state.required_next()
            assert required is not None
            self.append(b.authority, dict(required))

    def sth(self) -> dict[str, JSONValue]:
        signed: dict[str, JSONValue] = {"tree_size": len(self.leaves),
                                        "root_hash": b64u_encode(self.root()), "timestamp": 1}
        sig = self.builder.authority.sign(STH_DOMAIN, canonical_json(signed))
        return TreeHead.from_json(signed | {"sig": b64u_encode(sig)}).to_json()


# -- measurements ---------------------------------------------------------------------------------


def _cpu() -> float:
    """CPU seconds of this process and its reaped children (the pool's workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(work: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of ``work``, worker processes included once they exit."""
    wall, cpu = time.perf_counter(), _cpu()
    work()
    return time.perf_counter() - wall, _cpu() - cpu


def _raw_messages(leaves: Sequence[bytes]) -> list[tuple[bytes, bytes]]:
    """(signature || domain || JCS(record), public key) of canonical leaves, as the replay reads."""
    out = []
    for leaf in leaves:
        envelope = json.loads(leaf)
        record = leaf[len(b'{"record":') : -151]
        sig = base64.urlsafe_b64decode(envelope["sig"] + "==")
        key = base64.urlsafe_b64decode(envelope["signer"] + "=")
        out.append((sig + RECORD_DOMAIN + record, key))
    return out


def _raw_verify(messages: Sequence[tuple[bytes, bytes]], rounds: int) -> int:
    for _ in range(rounds):
        for signed, key in messages:
            nacl.bindings.crypto_sign_open(signed, key)
    return rounds * len(messages)


def _raw_rate(messages: list[tuple[bytes, bytes]], jobs: int, per_job: int) -> tuple[float, float]:
    """Raw verifications per wall second and per CPU second, on ``jobs`` processes."""
    rounds = max(1, per_job // len(messages))
    with ProcessPoolExecutor(jobs) as pool:
        pool.submit(int).result()  # start the workers before the clock
        wall, cpu = time.perf_counter(), _cpu()
        futures = [pool.submit(_raw_verify, messages, rounds) for _ in range(jobs)]
        done = sum(f.result() for f in futures)
        wall = time.perf_counter() - wall
    cpu = _cpu() - cpu
    return done / wall, done / cpu


def _breakdown(leaves: Sequence[bytes]) -> tuple[float, float]:
    """CPU microseconds per leaf of the fold alone (verdicts given) and of the signature check."""
    replay = Replay()
    start = time.process_time()
    for leaf in leaves:
        replay.feed(leaf, True)
    fold = time.process_time() - start
    start = time.process_time()
    check_signatures(leaves)
    sigs = time.process_time() - start
    return fold / len(leaves) * 1e6, sigs / len(leaves) * 1e6


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover - not Linux


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover - not Linux


def _reset_peak() -> None:
    # Linux >= 4.0: writing 5 resets VmHWM to the current RSS.
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:  # pragma: no cover - not Linux, or not allowed
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 records, 50 pseudonyms")
    parser.add_argument("--records", type=int, default=None, help="board size (1,000,000)")
    parser.add_argument("--budget", type=float, default=40.0, help="generation seconds at most")
    parser.add_argument("--pseudonyms", type=int, default=None, help="credentials issued (300)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    wanted = args.records or (20_000 if args.quick else 1_000_000)
    pseudonyms = args.pseudonyms or (50 if args.quick else 300)
    jobs = args.jobs

    start = time.perf_counter()
    board = FastBoard(pseudonyms)
    deadline = start + args.budget
    while len(board.leaves) < wanted - 4 and time.perf_counter() < deadline:
        board.bulk(min(5_000, wanted - 4 - len(board.leaves)))
    board.close()
    made, generation = len(board.leaves), time.perf_counter() - start
    leaves, sth = board.leaves, board.sth()
    print(f"board: {made:,} records ({pseudonyms} pseudonyms with real credentials) generated in "
          f"{generation:.1f} s ({made / generation:,.0f}/s); {os.cpu_count()} CPUs, jobs={jobs}")

    messages = _raw_messages(leaves[-min(len(leaves) - 4, 4_000) - 4 : -4])
    per_job = 10_000 if args.quick else 40_000
    raw_wall, raw_cpu = _raw_rate(messages, jobs, per_job)

    before = _rss_mb()
    _reset_peak()
    wall, cpu = _timed(lambda: verify_parallel(leaves, jobs, sth=sth))
    peak = _peak_rss_mb()
    raw_wall2, raw_cpu2 = _raw_rate(messages, jobs, per_job)
    raw_wall, raw_cpu = (raw_wall + raw_wall2) / 2, (raw_cpu + raw_cpu2) / 2

    audit_wall, audit_cpu = made / wall, made / cpu
    print(f"raw Ed25519 verify (PyNaCl crypto_sign_open, {jobs} processes): "
          f"{raw_wall:,.0f}/s wall, {raw_cpu:,.0f}/CPU-s")
    print(f"audit verify_parallel ({jobs} processes: {jobs - 1} signature worker(s), and this "
          f"one folding and checking signatures when ahead): {audit_wall:,.0f} records/s wall "
          f"({wall:.1f} s), {audit_cpu:,.0f} records/CPU-s")
    print(f"ratio audit/raw: {audit_cpu / raw_cpu:.2f} per CPU second, "
          f"{audit_wall / raw_wall:.2f} per wall second (goal >= {GOAL})")
    print(f"memory: {before:,.0f} MB before (the leaves held by the benchmark), peak "
          f"{peak:,.0f} MB during verification: +{peak - before:,.0f} MB, "
          f"{(peak - before) * 2**20 / made:,.0f} bytes per leaf "
          "(the fold's state and the Merkle right edge)")
    fold, sigs = _breakdown(leaves[: min(made, 20_000)])
    print(f"where the CPU goes, per record (first {min(made, 20_000):,} records, one process): "
          f"signature check {sigs:.0f} us (raw {1e6 / raw_cpu:.0f} us), the fold {fold:.0f} us "
          f"(canonical JSON check, parse_envelope, BoardState.apply, Merkle append)")
    if made < wanted:
        scale = wanted / made
        print(f"extrapolated (linear, NOT measured): {wanted:,} records would take "
              f"{generation * scale:,.0f} s to generate, {wall * scale:,.0f} s to verify, and "
              f"about +{(peak - before) * scale:,.0f} MB peak; only {made:,} fit the "
              f"{args.budget:.0f} s generation budget")


if __name__ == "__main__":
    main()
