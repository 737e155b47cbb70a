"""The plumbing of bench.service: servers in subprocesses, a fresh PostgreSQL database, load.

``server("module:factory", ...)`` runs ``uvicorn --factory`` in its own process group (so the
clients never share its GIL, and its CPU time can be read from /proc); ``post_all`` sends
prepared POSTs from one thread and keep-alive connection per batch and measures requests per
wall second and CPU milliseconds per request on both sides.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from crypto.encoding import b64u_encode
from service.demo import free_port

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get(
    "ISEGORIA_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ADMIN_TOKEN = secrets.token_urlsafe(24)
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
JSON = {"Content-Type": "application/json"}
Call = tuple[str, bytes, dict[str, str]]  # the path, body and headers of one POST
_STARTED = time.perf_counter()

def progress(message: str) -> None:
    print(f"[{time.perf_counter() - _STARTED:6.1f} s] {message}", file=sys.stderr, flush=True)


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server could not be reached to create the benchmark's database."""



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
                    continue  # gone meanwhile
                if int(stat[2]) == self.pgid:  # after the name: state, ppid, pgrp, ...
                    ticks += int(stat[11]) + int(stat[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(app: str, database_url: str, sealing_key: bytes, workers: int = 1) -> Iterator[Server]:
    """``uvicorn`` serving ``app`` (``module:factory``) in its own process group; killed after."""
    port = free_port()
    options = f"--host 127.0.0.1 --port {port} --workers {workers} --log-level warning"
    command = [sys.executable, "-m", "uvicorn", "--factory", app,
               *options.split(), "--no-access-log"]
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
                raise RuntimeError(f"{app} exited with {process.returncode} at start")
            try:
                if httpx.get(url + "/v1/board/sth", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{app} did not start within 60 s")
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
        try:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        except OperationalError as exc:
            where = make_url(POSTGRES_URL).render_as_string(hide_password=True)
            raise PostgresUnavailable(f"PostgreSQL unreachable at {where}: {exc.orig!r}") from exc
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



@dataclass(frozen=True)
class Load:
    """What a load run measured: requests per wall second and CPU ms per request."""

    rate: float
    server_ms: float  # the uvicorn processes (not PostgreSQL's)
    client_ms: float  # this process: the client threads


def post_all(target: Server, batches: Sequence[Sequence[Call]], expected: int) -> Load:
    """One thread and one keep-alive connection per batch, each warmed up first; the clock
    runs from a common start until the last answer."""
    barrier = threading.Barrier(len(batches) + 1, timeout=120)
    failures: list[str] = []

    def worker(batch: Sequence[Call]) -> None:
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
