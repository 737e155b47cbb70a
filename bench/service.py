"""The service over HTTP, against the raw primitives measured in the same run.

Run: ``.venv/bin/python -m bench.service [--quick] [--part credentials|ballots|tally]``

* ``credentials``: credentials issued per second by a real server (uvicorn in a subprocess, so
  the clients do not share its GIL) on SQLite and on PostgreSQL, 4 client threads, blinded
  messages prepared beforehand; against bare ``PrivateKey.blind_sign`` in this process.
* ``ballots``: ballots appended per second on PostgreSQL by 32 client threads (one
  ``httpx.Client`` each, keep-alive; a pseudonym's ballots always come from one thread, in seq
  order), against a bare FastAPI endpoint (``bare_app``) that parses the envelope and verifies
  its Ed25519 signature, served the same way and sent the same envelopes (goal >= 0.5). Also with
  ``uvicorn --workers 2`` for both: the board lock is in the database, so service processes can
  share one board.
* ``tally``: ``audit.tally.tally_result`` on 100,000 ballots of each method (no delegation),
  against a plain ``Counter`` of the same choices.

HTTP figures are wall-clock on this machine, clients included: the load average is printed.
PostgreSQL: a fresh database on ``ISEGORIA_BENCH_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``), dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from crypto.blind_rsa import PrivateKey, PublicKey, blind, credential_message, finalize, prepare
from crypto.ed25519 import RECORD_DOMAIN, SigningKey, sign_object, verify_object
from crypto.encoding import JSONValue, b64u_decode, b64u_encode, canonical_json, parse_json

GOAL_BALLOTS = 0.5
CLIENTS = 32
ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get(
    "ISEGORIA_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ADMIN_TOKEN = secrets.token_urlsafe(24)
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
JSON = {"Content-Type": "application/json"}

# (path, body, headers) of one request.
Request_ = tuple[str, bytes, dict[str, str]]


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


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
        envelope = parse_json(await request.body())
        assert isinstance(envelope, dict)
        signer, sig = envelope["signer"], envelope["sig"]
        assert isinstance(signer, str) and isinstance(sig, str)
        verify_object(signer, RECORD_DOMAIN, envelope["record"], sig)
        return JSONResponse({"verified": True}, status_code=201)

    @app.get("/v1/board/sth")
    async def ready() -> dict[str, bool]:
        return {"ready": True}

    return app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Server:
    """A running server: its URL, and the CPU its processes (one process group) have used."""

    url: str
    pgid: int

    def cpu(self) -> float:
        """CPU seconds (user + system) used so far by the live processes of the group (Linux)."""
        ticks = 0
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    stat = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
                except (OSError, IndexError):
                    continue  # gone, or not ours to read
                if int(stat[2]) == self.pgid:  # fields after the name: state, ppid, pgrp, ...
                    ticks += int(stat[11]) + int(stat[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(
    factory: str, database_url: str, sealing_key: bytes, workers: int = 1
) -> Iterator[Server]:
    """``uvicorn`` serving ``bench.service:<factory>`` in its own process group; killed after."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        f"bench.service:{factory}",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    env = {
        **os.environ,
        "ISEGORIA_ADMIN_TOKEN": ADMIN_TOKEN,
        "ISEGORIA_DATABASE_URL": database_url,
        "ISEGORIA_SEALING_KEY": b64u_encode(sealing_key),
    }
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{factory} exited with {process.returncode} at start")
            try:
                if httpx.get(url + "/v1/board/sth", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{factory} did not start within 60 s")
            time.sleep(0.1)
        yield Server(url, process.pid)
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server and its workers: its own process group, which only it and they are in."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, empty database on the PostgreSQL server, dropped (WITH FORCE) afterwards."""
    name = f"isegoria_bench_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_engine(make_url(POSTGRES_URL), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def prestart(database_url: str, sealing_key: bytes) -> None:
    """Migrate and write the genesis leaf here, so that several workers never race to."""
    from service.app import compose, start
    from service.settings import Settings

    services = compose(
        Settings(admin_token=ADMIN_TOKEN, database_url=database_url, sealing_key=sealing_key)
    )
    try:
        start(services)
    finally:
        services.engine.dispose()


# -- clients ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    """What a load run measured: requests per wall second and CPU ms per request."""

    rate: float
    server_ms: float  # the uvicorn processes (not PostgreSQL's)
    client_ms: float  # this process: the client threads


def post_all(target: Server, batches: Sequence[Sequence[Request_]], expected: int) -> Load:
    """One thread and one keep-alive connection per batch, each warmed up first; the clock
    runs from a common start until the last answer."""
    barrier = threading.Barrier(len(batches) + 1, timeout=120)
    failures: list[str] = []

    def worker(batch: Sequence[Request_]) -> None:
        with httpx.Client(base_url=target.url, timeout=300) as client:
            client.get("/v1/board/sth")
            barrier.wait()
            for path, body, headers in batch:
                response = client.post(path, content=body, headers=headers)
                if response.status_code != expected:
                    failures.append(f"{response.status_code} {response.text[:200]}")

    with ThreadPoolExecutor(len(batches)) as pool:
        futures = [pool.submit(worker, batch) for batch in batches]
        barrier.wait()
        start, server_cpu, client_cpu = time.perf_counter(), target.cpu(), time.process_time()
        for future in futures:
            future.result()
        elapsed = time.perf_counter() - start
        server_cpu, client_cpu = target.cpu() - server_cpu, time.process_time() - client_cpu
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, first: {failures[0]}")
    count = sum(len(batch) for batch in batches)
    return Load(count / elapsed, 1000 * server_cpu / count, 1000 * client_cpu / count)


def rates(op: Callable[[int], object], seconds: float) -> tuple[float, float]:
    """Calls of ``op(i)`` in this thread per wall second and per CPU second, for ``seconds``."""
    op(0)
    count, start, cpu = 0, time.perf_counter(), time.process_time()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(4):
            op(count)
            count += 1
    return count / elapsed, count / (time.process_time() - cpu)


def setup_assembly(admin: httpx.Client, assembly_id: str, bits: int) -> PublicKey:
    response = admin.post(
        "/v1/assemblies", json={"assembly_id": assembly_id, "title": "Bench", "key_bits": bits}
    )
    response.raise_for_status()
    issuer_key = response.json()["envelope"]["record"]["issuer_key"]
    return PublicKey.from_spki(b64u_decode(issuer_key))


def roll(admin: httpx.Client, assembly_id: str, n: int) -> list[str]:
    refs = [f"voter-{i}" for i in range(n)]
    response = admin.post(f"/v1/assemblies/{assembly_id}/roll", json={"voters": refs})
    response.raise_for_status()
    codes: dict[str, str] = response.json()["codes"]
    return [codes[ref] for ref in refs]


def credential_request(assembly_id: str, key: SigningKey, pk: PublicKey, code: str) -> Request_:
    _, prepared = prepare(credential_message(assembly_id, key.public_key))
    blinded, _ = blind(pk, prepared)
    body = canonical_json({"blinded_msg": b64u_encode(blinded)})
    headers = {"Authorization": f"Bearer {code}", **JSON}
    return f"/v1/assemblies/{assembly_id}/credentials", body, headers


def envelope(key: SigningKey, record: dict[str, JSONValue]) -> bytes:
    signed = {
        "record": record,
        "signer": key.public_key_b64u,
        "sig": sign_object(key, RECORD_DOMAIN, record),
    }
    return canonical_json(signed)


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
            assembly_id = f"bench-{bits}"
            progress(f"  assembly {assembly_id}: issuer key generation, roll of {n}")
            pk = setup_assembly(admin, assembly_id, bits)
            codes = roll(admin, assembly_id, n + 1)
            # One credential first, finalized here: the server issues valid signatures.
            key = SigningKey.generate()
            _, prepared = prepare(credential_message(assembly_id, key.public_key))
            blinded, state = blind(pk, prepared)
            response = admin.post(
                f"/v1/assemblies/{assembly_id}/credentials",
                json={"blinded_msg": b64u_encode(blinded)},
                headers={"Authorization": f"Bearer {codes[0]}"},
            )
            response.raise_for_status()
            finalize(pk, prepared, b64u_decode(response.json()["blind_sig"]), state)
            requests = [
                credential_request(assembly_id, SigningKey.generate(), pk, code)
                for code in codes[1:]
            ]
            progress(f"  {n} credentials from {threads} client threads")
            loads[bits] = post_all(target, [requests[i::threads] for i in range(threads)], 200)
    return loads


def part_credentials(quick: bool) -> None:
    sizes = [2048] if quick else [2048, 3072]
    n = 24 if quick else 300
    seconds = 0.3 if quick else 2.0
    threads = 4
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
        with server("service_app", sqlite_url, key) as target:
            http["SQLite"] = http_credentials(target, sizes, n, threads)
    with postgres_database() as pg_url:
        progress("PostgreSQL server")
        prestart(pg_url, key)
        with server("service_app", pg_url, key) as target:
            http["PostgreSQL"] = http_credentials(target, sizes, n, threads)
    for bits in sizes:  # again, after: the best of two, since other load only slows it down
        again = bare_blind_sign(bits, seconds)
        bare[bits] = (max(bare[bits][0], again[0]), max(bare[bits][1], again[1]))

    print(
        f"Credentials issued over HTTP: 1 uvicorn process, {threads} client threads, {n} "
        "requests; bare BlindSign in this process, one thread"
    )
    print(
        "(ratio: per wall second; CPU ratio: bare BlindSign CPU ms / server CPU ms per "
        "credential, PostgreSQL's own CPU not counted)"
    )
    print(
        f"{'bits':>5} {'backend':>11} {'cred/s':>8} {'BlindSign/s':>12} {'ratio':>6} "
        f"{'server CPU ms':>14} {'BlindSign CPU ms':>17} {'CPU ratio':>10}"
    )
    for bits in sizes:
        wall, cpu = bare[bits]
        for backend, loads in http.items():
            load = loads[bits]
            print(
                f"{bits:>5} {backend:>11} {load.rate:>8.1f} {wall:>12.1f} "
                f"{load.rate / wall:>6.2f} {load.server_ms:>14.2f} {1000 / cpu:>17.2f} "
                f"{1000 / cpu / load.server_ms:>10.2f}"
            )


# -- part 2: ballots ---------------------------------------------------------------------------


def enroll(url: str, count: int) -> list[SigningKey]:
    """An assembly with one open question and ``count`` enrolled pseudonyms."""
    with httpx.Client(base_url=url, headers=ADMIN, timeout=300) as admin:
        pk = setup_assembly(admin, "city", 2048)
        admin.post(
            "/v1/assemblies/city/topics", json={"topic_id": "parks", "title": "Parks"}
        ).raise_for_status()
        question = {
            "question_id": "q",
            "topic_id": "parks",
            "title": "Q?",
            "method": "single",
            "options": [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}],
        }
        admin.post("/v1/assemblies/city/questions", json=question).raise_for_status()
        codes = roll(admin, "city", count)

    def one(code: str) -> SigningKey:
        key = SigningKey.generate()
        message = credential_message("city", key.public_key)
        prefix, prepared = prepare(message)
        blinded, state = blind(pk, prepared)
        with httpx.Client(base_url=url, timeout=300) as client:
            response = client.post(
                "/v1/assemblies/city/credentials",
                json={"blinded_msg": b64u_encode(blinded)},
                headers={"Authorization": f"Bearer {code}"},
            )
            response.raise_for_status()
            sig = finalize(pk, prepared, b64u_decode(response.json()["blind_sig"]), state)
            record: dict[str, JSONValue] = {
                "type": "pseudonym",
                "assembly_id": "city",
                "pseudonym": key.public_key_b64u,
                "msg_prefix": b64u_encode(prefix),
                "credential": b64u_encode(sig),
            }
            client.post("/v1/board", content=envelope(key, record), headers=JSON).raise_for_status()
        return key

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, codes))


def ballot_batches(
    keys: Sequence[SigningKey], first_seq: int, per_key: int
) -> list[list[Request_]]:
    """One batch per client thread; key ``i`` always in batch ``i % CLIENTS``, seqs in order."""
    batches: list[list[Request_]] = [[] for _ in range(CLIENTS)]
    for seq in range(first_seq, first_seq + per_key):
        for i, key in enumerate(keys):
            record: dict[str, JSONValue] = {
                "type": "ballot",
                "question_id": "q",
                "choice": "yes" if (i + seq) % 3 else "no",
                "pseudonym": key.public_key_b64u,
                "seq": seq,
            }
            batches[i % CLIENTS].append(("/v1/board", envelope(key, record), JSON))
    return batches


def part_ballots(quick: bool) -> None:
    pseudonyms = 64 if quick else 128
    per_key = 2 if quick else 20
    worker_counts = [1] if quick else [1, 2]
    key = secrets.token_bytes(32)
    results: dict[int, tuple[Load, Load]] = {}
    with postgres_database() as pg_url:
        prestart(pg_url, key)
        with server("service_app", pg_url, key) as target:
            progress(f"enrolling {pseudonyms} pseudonyms (not timed)")
            keys = enroll(target.url, pseudonyms)
        sample = ballot_batches(keys[:1], 1, 1)[0][0][1]
        _, verify_rate = rates(lambda _: _bare_verify(sample), 0.3 if quick else 1.0)
        for round_, workers in enumerate(worker_counts):
            # Each round has new seqs: the same envelopes again would only be retries.
            batches = ballot_batches(keys, 1 + round_ * per_key, per_key)
            total = sum(map(len, batches))
            progress(f"{total} ballots, {CLIENTS} clients, {workers} worker(s): service")
            with server("service_app", pg_url, key, workers) as target:
                ours = post_all(target, batches, 201)
            progress(f"{total} ballots, {CLIENTS} clients, {workers} worker(s): bare endpoint")
            with server("bare_app", pg_url, key, workers) as target:
                bare = post_all(target, batches, 201)
            results[workers] = (ours, bare)

    print(
        f"Ballots appended over HTTP on PostgreSQL: {CLIENTS} client threads (keep-alive), "
        f"{pseudonyms} pseudonyms x {per_key} ballots per round,"
    )
    print("vs a bare FastAPI endpoint that parses the envelope and verifies its Ed25519 signature")
    print(
        f"(verify_object in this process: {verify_rate:.0f}/CPU s; CPU ms per request: the "
        "uvicorn processes, PostgreSQL's own not counted)"
    )
    print(
        f"{'workers':>7} {'ballots/s':>10} {'bare/s':>8} {'ratio':>6} {'goal':>11} "
        f"{'server CPU ms':>14} {'bare CPU ms':>12} {'client CPU ms':>14}"
    )
    for workers, (ours, bare) in results.items():
        ratio = ours.rate / bare.rate
        verdict = f"{'meets' if ratio >= GOAL_BALLOTS else 'misses'} {GOAL_BALLOTS}"
        print(
            f"{workers:>7} {ours.rate:>10.1f} {bare.rate:>8.1f} {ratio:>6.2f} {verdict:>11} "
            f"{ours.server_ms:>14.2f} {bare.server_ms:>12.2f} {ours.client_ms:>14.2f}"
        )


def _bare_verify(body: bytes) -> None:
    obj = parse_json(body)
    assert isinstance(obj, dict)
    verify_object(str(obj["signer"]), RECORD_DOMAIN, obj["record"], str(obj["sig"]))


# -- part 3: tally ------------------------------------------------------------------------------


def part_tally(quick: bool) -> None:
    from audit.tally import tally_result
    from ballot import question_spec

    n = 10_000 if quick else 100_000
    rng = random.Random(2026)
    ids = [f"option-{i}" for i in range(5)]
    options: list[JSONValue] = [{"id": o, "title": o} for o in ids]
    costed: list[JSONValue] = [
        {"id": o, "title": o, "cost": 10_000 * (k + 1)} for k, o in enumerate(ids)
    ]
    choosers: dict[str, Callable[[], JSONValue]] = {
        "single": lambda: rng.choice(ids),
        "approval": lambda: rng.sample(ids, rng.randint(0, 3)),
        "ranked": lambda: rng.sample(ids, rng.randint(1, 5)),
        "budget": lambda: rng.sample(ids, rng.randint(1, 3)),
    }
    pseudonyms = [b64u_encode(rng.randbytes(32)) for _ in range(n)]
    rows = []
    for method, choose in choosers.items():
        spec = (
            question_spec("budget", costed, budget=60_000)
            if method == "budget"
            else question_spec(method, options)
        )
        ballots = {p: choose() for p in pseudonyms}
        progress(f"tally of {n} {method} ballots")
        start = time.process_time()
        result = tally_result(spec, pseudonyms, {}, ballots, {})
        seconds = time.process_time() - start
        citizens = result["citizens"]
        assert isinstance(citizens, dict) and citizens["ballots_direct"] == n
        start = time.process_time()
        Counter(c if isinstance(c, str) else tuple(c) for c in ballots.values())  # type: ignore[arg-type]
        raw = time.process_time() - start
        rows.append((method, seconds, raw))

    print(f"Tally of {n:,} ballots per method (audit.tally.tally_result, no delegation, 5 options)")
    print("vs a plain Counter of the same choices (CPU seconds)")
    print(f"{'method':>9} {'tally s':>8} {'ballots/s':>10} {'Counter s':>10} {'x Counter':>10}")
    for method, seconds, raw in rows:
        print(
            f"{method:>9} {seconds:>8.3f} {n / seconds:>10.0f} {raw:>10.4f} {seconds / raw:>10.1f}"
        )


PARTS: dict[str, Callable[[bool], None]] = {
    "credentials": part_credentials,
    "ballots": part_ballots,
    "tally": part_tally,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds' smoke run")
    parser.add_argument("--part", choices=sorted(PARTS), action="append", help="(repeatable)")
    args = parser.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"bench.service: {os.cpu_count()} CPUs, load average {load} at start")
    failed = []
    for name in args.part or list(PARTS):
        print(flush=True)
        try:
            PARTS[name](args.quick)
        except OperationalError as exc:
            failed.append(name)
            url = make_url(POSTGRES_URL).render_as_string(hide_password=True)
            print(f"{name}: FAILED, PostgreSQL unreachable at {url}: {exc.orig!r}")
        sys.stdout.flush()
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
