"""The service over HTTP, against the raw primitives measured in the same run.

Run: ``.venv/bin/python -m bench.service [--quick] [--part credentials|ballots|tally ...]``

* ``credentials``: credentials issued per second by a real server (uvicorn in a subprocess, so
  the clients do not share its GIL) on SQLite and on PostgreSQL, 4 client threads, blinded
  messages prepared beforehand; against bare ``PrivateKey.blind_sign`` in this process.
* ``ballots``: ballots appended per second on PostgreSQL by 32 client threads (one
  ``httpx.Client`` each, keep-alive; a pseudonym's ballots always come from one thread, in seq
  order), against a bare FastAPI endpoint (``bare_app``) that parses the envelope and verifies
  its Ed25519 signature, served the same way and sent the same envelopes (goal >= 0.5). Then
  both again with ``uvicorn --workers 2``: the board lock is in the database, so service
  processes can share one board.
* ``tally``: ``audit.tally.tally_result`` on 100,000 ballots of each method (no delegation),
  against a plain ``Counter`` of the same choices.

HTTP rates are wall-clock on this machine, clients included (CPU count and load average are
printed); the CPU milliseconds per request of the server processes are given beside them, since
other load skews them less. PostgreSQL: a fresh database on ``ISEGORIA_BENCH_POSTGRES_URL``
(default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``), dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bench._http import (
    ADMIN,
    JSON,
    Call,
    Load,
    PostgresUnavailable,
    Server,
    post_all,
    postgres_database,
    prestart,
    progress,
    rates,
    server,
)
from crypto.blind_rsa import PrivateKey, PublicKey, blind, credential_message, finalize, prepare
from crypto.ed25519 import RECORD_DOMAIN, SigningKey, sign_object, verify_object
from crypto.encoding import JSONValue, b64u_decode, b64u_encode, canonical_json, parse_json

GOAL_BALLOTS = 0.5
CLIENTS = 32
SERVICE, BARE = "bench.service:service_app", "bench.service:bare_app"

# -- the two servers (``uvicorn --factory bench.service:<name>``) ----------------------------


def service_app() -> FastAPI:
    """The real service, configured from ISEGORIA_* as ``isegoria serve`` is."""
    from service.app import create_app
    from service.settings import Settings

    return create_app(Settings.from_env(os.environ))


def bare_app() -> FastAPI:
    """The baseline: one endpoint that parses an envelope and verifies its signature, no more."""
    app = FastAPI()

    @app.post("/v1/board", status_code=201)
    async def append(request: Request) -> JSONResponse:
        _verify(await request.body())
        return JSONResponse({"verified": True}, status_code=201)

    @app.get("/v1/board/sth")
    async def ready() -> dict[str, bool]:
        return {"ready": True}

    return app


def _verify(body: bytes) -> None:
    envelope = parse_json(body)
    assert isinstance(envelope, dict)
    signer, sig = envelope["signer"], envelope["sig"]
    assert isinstance(signer, str) and isinstance(sig, str)
    verify_object(signer, RECORD_DOMAIN, envelope["record"], sig)


# -- clients ----------------------------------------------------------------------------------

def open_assembly(
    admin: httpx.Client, assembly_id: str, bits: int, voters: int
) -> tuple[PublicKey, list[str]]:
    """A new assembly's issuer key, and the enrollment codes of a roll of ``voters``."""
    body = {"assembly_id": assembly_id, "title": "Bench", "key_bits": bits}
    response = admin.post("/v1/assemblies", json=body)
    response.raise_for_status()
    pk = PublicKey.from_spki(b64u_decode(response.json()["envelope"]["record"]["issuer_key"]))
    refs = [f"voter-{i}" for i in range(voters)]
    response = admin.post(f"/v1/assemblies/{assembly_id}/roll", json={"voters": refs})
    response.raise_for_status()
    codes: dict[str, str] = response.json()["codes"]
    return pk, [codes[ref] for ref in refs]


def credential_call(assembly_id: str, pk: PublicKey, code: str) -> Call:
    _, prepared = prepare(credential_message(assembly_id, SigningKey.generate().public_key))
    body = canonical_json({"blinded_msg": b64u_encode(blind(pk, prepared)[0])})
    headers = {"Authorization": f"Bearer {code}", **JSON}
    return f"/v1/assemblies/{assembly_id}/credentials", body, headers


def enroll(client: httpx.Client, assembly_id: str, pk: PublicKey, code: str) -> SigningKey:
    """A pseudonym key with a credential checked here (finalize verifies it), then registered."""
    key = SigningKey.generate()
    prefix, prepared = prepare(credential_message(assembly_id, key.public_key))
    blinded, state = blind(pk, prepared)
    response = client.post(f"/v1/assemblies/{assembly_id}/credentials",
                           json={"blinded_msg": b64u_encode(blinded)},
                           headers={"Authorization": f"Bearer {code}"})
    response.raise_for_status()
    sig = finalize(pk, prepared, b64u_decode(response.json()["blind_sig"]), state)
    record: dict[str, JSONValue] = {"type": "pseudonym", "assembly_id": assembly_id,
                                    "pseudonym": key.public_key_b64u,
                                    "msg_prefix": b64u_encode(prefix),
                                    "credential": b64u_encode(sig)}
    client.post("/v1/board", content=envelope(key, record), headers=JSON).raise_for_status()
    return key


def envelope(key: SigningKey, record: dict[str, JSONValue]) -> bytes:
    sig = sign_object(key, RECORD_DOMAIN, record)
    return canonical_json({"record": record, "signer": key.public_key_b64u, "sig": sig})


# -- part 1: credentials -----------------------------------------------------------------------


def bare_blind_sign(bits: int, seconds: float) -> tuple[float, float]:
    sk = PrivateKey.generate(bits)
    pk = sk.public_key()
    blinded = [blind(pk, prepare(bytes([j]))[1])[0] for j in range(16)]
    return rates(lambda j: sk.blind_sign(blinded[j % 16]), seconds)


def http_credentials(target: Server, sizes: Sequence[int], n: int, threads: int) -> dict[int, Load]:
    loads: dict[int, Load] = {}
    with httpx.Client(base_url=target.url, headers=ADMIN, timeout=300) as admin:
        for bits in sizes:
            progress(f"  assembly bench-{bits}: issuer key generation, roll of {n + 1}")
            pk, codes = open_assembly(admin, f"bench-{bits}", bits, n + 1)
            enroll(admin, f"bench-{bits}", pk, codes[0])  # the credentials issued are valid
            calls = [credential_call(f"bench-{bits}", pk, code) for code in codes[1:]]
            progress(f"  {n} credentials from {threads} client threads")
            loads[bits] = post_all(target, [calls[i::threads] for i in range(threads)], 200)
    return loads


def part_credentials(quick: bool) -> None:
    sizes, n, seconds, threads = ([2048], 24, 0.3, 4) if quick else ([2048, 3072], 150, 2.0, 4)
    key = secrets.token_bytes(32)
    bare: dict[int, tuple[float, float]] = {}
    for bits in sizes:
        progress(f"bare BlindSign, {bits} bits")
        bare[bits] = bare_blind_sign(bits, seconds)
    http: dict[str, dict[int, Load]] = {}
    with tempfile.TemporaryDirectory(prefix="isegoria-bench-") as workdir:
        sqlite_url = f"sqlite:///{Path(workdir) / 'bench.db'}"
        progress("SQLite server")
        prestart(sqlite_url, key)
        with server(SERVICE, sqlite_url, key) as target:
            http["SQLite"] = http_credentials(target, sizes, n, threads)
    unavailable: PostgresUnavailable | None = None
    try:
        with postgres_database() as pg_url:
            progress("PostgreSQL server")
            prestart(pg_url, key)
            with server(SERVICE, pg_url, key) as target:
                http["PostgreSQL"] = http_credentials(target, sizes, n, threads)
    except PostgresUnavailable as exc:
        unavailable = exc
    for bits in sizes:  # again, after: the best of two, since other load only slows it down
        again = bare_blind_sign(bits, seconds)
        bare[bits] = (max(bare[bits][0], again[0]), max(bare[bits][1], again[1]))

    print(f"Credentials issued over HTTP: 1 uvicorn process, {threads} client threads, {n} "
          "requests; bare BlindSign in this process, one thread")
    print("(ratio: per wall second; CPU ratio: bare BlindSign CPU ms / server CPU ms per "
          "credential, PostgreSQL's own CPU not counted)")
    print(f"{'bits':>5} {'backend':>11} {'cred/s':>8} {'BlindSign/s':>12} {'ratio':>6} "
          f"{'server CPU ms':>14} {'BlindSign CPU ms':>17} {'CPU ratio':>10}")
    for bits in sizes:
        wall, cpu = bare[bits]
        for backend, loads in http.items():
            load = loads[bits]
            print(f"{bits:>5} {backend:>11} {load.rate:>8.1f} {wall:>12.1f} "
                  f"{load.rate / wall:>6.2f} {load.server_ms:>14.2f} {1000 / cpu:>17.2f} "
                  f"{1000 / cpu / load.server_ms:>10.2f}")
    if unavailable is not None:
        raise unavailable


# -- part 2: ballots ---------------------------------------------------------------------------


def enroll_all(target: Server, count: int) -> list[SigningKey]:
    """An assembly with one open question ``q``, and ``count`` enrolled pseudonyms."""
    with httpx.Client(base_url=target.url, headers=ADMIN, timeout=300) as admin:
        pk, codes = open_assembly(admin, "city", 2048, count)
        topic = {"topic_id": "parks", "title": "Parks"}
        admin.post("/v1/assemblies/city/topics", json=topic).raise_for_status()
        options = [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}]
        question = {"question_id": "q", "topic_id": "parks", "title": "Q?", "method": "single",
                    "options": options}
        admin.post("/v1/assemblies/city/questions", json=question).raise_for_status()

    def one(code: str) -> SigningKey:
        with httpx.Client(base_url=target.url, timeout=300) as client:
            return enroll(client, "city", pk, code)

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, codes))


def ballot_batches(keys: Sequence[SigningKey], first_seq: int, per_key: int) -> list[list[Call]]:
    """One batch per client thread; key ``i`` always in batch ``i % CLIENTS``, seqs in order."""
    batches: list[list[Call]] = [[] for _ in range(CLIENTS)]
    for seq in range(first_seq, first_seq + per_key):
        for i, key in enumerate(keys):
            record: dict[str, JSONValue] = {"type": "ballot", "question_id": "q",
                                            "choice": "yes" if (i + seq) % 3 else "no",
                                            "pseudonym": key.public_key_b64u, "seq": seq}
            batches[i % CLIENTS].append(("/v1/board", envelope(key, record), JSON))
    return batches


def part_ballots(quick: bool) -> None:
    # 64 x 30 = 1,920 requests per round: a few seconds, so that one stall weighs little.
    pseudonyms, per_key, rounds = (32, 2, [1]) if quick else (64, 30, [1, 2])
    key = secrets.token_bytes(32)
    results: dict[int, tuple[Load, Load]] = {}
    with postgres_database() as pg_url:
        prestart(pg_url, key)
        keys: list[SigningKey] = []
        for number, workers in enumerate(rounds):
            # Each round has new seqs: the same envelopes again would only be retries.
            batches = ballot_batches(keys, 1 + number * per_key, per_key) if keys else []
            with server(SERVICE, pg_url, key, workers) as target:
                if not keys:
                    progress(f"enrolling {pseudonyms} pseudonyms (not timed)")
                    keys = enroll_all(target, pseudonyms)
                    batches = ballot_batches(keys, 1, per_key)
                progress(f"{len(keys) * per_key} ballots, {workers} worker(s): service")
                ours = post_all(target, batches, 201)
            progress(f"{len(keys) * per_key} ballots, {workers} worker(s): bare endpoint")
            with server(BARE, pg_url, key, workers) as target:
                results[workers] = (ours, post_all(target, batches, 201))
    sample = ballot_batches(keys[:1], 1, 1)[0][0][1]
    _, verify_rate = rates(lambda _: _verify(sample), 0.3 if quick else 1.0)

    print(f"Ballots appended over HTTP on PostgreSQL: {CLIENTS} client threads (keep-alive), "
          f"{pseudonyms} pseudonyms x {per_key} ballots per round,")
    print("vs a bare FastAPI endpoint that parses the envelope and verifies its Ed25519 signature")
    print(f"(parse and verify in this process: {verify_rate:.0f}/CPU s; CPU ms per request: the "
          "uvicorn processes, PostgreSQL's own not counted)")
    print(f"{'workers':>7} {'ballots/s':>10} {'bare/s':>8} {'ratio':>6} {'goal':>11} "
          f"{'server CPU ms':>14} {'bare CPU ms':>12} {'client CPU ms':>14}")
    for workers, (ours, bare) in results.items():
        ratio = ours.rate / bare.rate
        verdict = f"{'meets' if ratio >= GOAL_BALLOTS else 'misses'} {GOAL_BALLOTS}"
        print(f"{workers:>7} {ours.rate:>10.1f} {bare.rate:>8.1f} {ratio:>6.2f} {verdict:>11} "
              f"{ours.server_ms:>14.2f} {bare.server_ms:>12.2f} {ours.client_ms:>14.2f}")


# -- part 3: tally ------------------------------------------------------------------------------


def best_cpu(op: Callable[[], object], rounds: int) -> float:
    """The least CPU time of ``rounds`` calls: other load on the machine only adds to it."""
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        op()
        best = min(best, time.process_time() - start)
    return best


def part_tally(quick: bool) -> None:
    from audit.tally import tally_result
    from ballot import question_spec

    n, rounds = (10_000, 3) if quick else (100_000, 2)
    rng = random.Random(2026)
    ids = [f"option-{i}" for i in range(5)]
    options: list[JSONValue] = [{"id": o, "title": o} for o in ids]
    costed: list[JSONValue] = [{"id": o, "title": o, "cost": 10_000 * (k + 1)}
                               for k, o in enumerate(ids)]
    choosers: dict[str, Callable[[], JSONValue]] = {
        "single": lambda: rng.choice(ids),
        "approval": lambda: rng.sample(ids, rng.randint(0, 3)),
        "ranked": lambda: rng.sample(ids, rng.randint(1, 5)),
        "budget": lambda: rng.sample(ids, rng.randint(1, 3)),
    }
    pseudonyms = [b64u_encode(rng.randbytes(32)) for _ in range(n)]
    rows = []
    for method, choose in choosers.items():
        spec = (question_spec("budget", costed, budget=60_000) if method == "budget"
                else question_spec(method, options))
        ballots = {p: choose() for p in pseudonyms}
        progress(f"tally of {n} {method} ballots, best of {rounds}")
        tally_result(spec, pseudonyms[:1000], {}, {p: ballots[p] for p in pseudonyms[:1000]}, {})

        def run_tally() -> None:
            result = tally_result(spec, pseudonyms, {}, ballots, {})  # noqa: B023
            citizens = result["citizens"]
            assert isinstance(citizens, dict) and citizens["ballots_direct"] == n

        def run_counter() -> None:
            choices = ballots.values()  # noqa: B023
            Counter(c if isinstance(c, str) else tuple(c) for c in choices)  # type: ignore[arg-type]

        rows.append((method, best_cpu(run_tally, rounds), best_cpu(run_counter, rounds)))

    print(f"Tally of {n:,} ballots per method (audit.tally.tally_result, no delegation, 5 options)")
    print("vs a plain Counter of the same choices (CPU seconds, best of rounds)")
    print(f"{'method':>9} {'tally s':>8} {'ballots/s':>10} {'Counter s':>10} {'x Counter':>10}")
    for method, seconds, raw in rows:
        print(f"{method:>9} {seconds:>8.3f} {n / seconds:>10.0f} {raw:>10.4f} "
              f"{seconds / raw:>10.1f}")


PARTS: dict[str, Callable[[bool], None]] = {
    "credentials": part_credentials,
    "ballots": part_ballots,
    "tally": part_tally,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--part", choices=PARTS, nargs="+", help="only these parts")
    args = parser.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"bench.service: {os.cpu_count()} CPUs, load average {load} at start")
    failed = False
    for name in args.part or PARTS:
        print(flush=True)
        try:
            PARTS[name](args.quick)
        except PostgresUnavailable as exc:
            failed = True
            print(f"{name}: FAILED, {exc}")
        sys.stdout.flush()
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
