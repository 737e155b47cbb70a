"""The board's writer: batches of queued envelopes appended in one transaction (group commit).

The HTTP tests cover the writer through ``POST /v1/board``; these drive a batch directly, so that
what only happens when envelopes share a batch (an identical retry queued behind its original, a
refusal between two appends, a failed commit) happens every time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import httpx
import pytest

from audit import Conflict
from crypto.encoding import canonical_json
from service.board import BoardService, Posted, _Job, _Writer
from service.deps import Services
from service.settings import Settings
from tests.integration.raw import ADMIN, Citizen
from tests.integration.servers import serving


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[Services, httpx.Client]]:
    with serving(settings) as server:
        yield server


def _voters(client: httpx.Client, count: int) -> list[Citizen]:
    """An assembly with an open single-choice question ``q`` and ``count`` registered citizens."""
    for path, body in [
        ("/v1/assemblies", {"assembly_id": "city", "title": "City", "key_bits": 2048}),
        ("/v1/assemblies/city/topics", {"topic_id": "parks", "title": "Parks"}),
        (
            "/v1/assemblies/city/questions",
            {
                "question_id": "q",
                "topic_id": "parks",
                "title": "Q",
                "method": "single",
                "options": [{"id": "a", "title": "A"}, {"id": "b", "title": "B"}],
            },
        ),
    ]:
        assert client.post(path, json=body, headers=ADMIN).status_code == 201
    refs = [f"v{i}" for i in range(count)]
    codes = client.post("/v1/assemblies/city/roll", json={"voters": refs}, headers=ADMIN).json()
    citizens = [Citizen("city") for _ in refs]
    for citizen, ref in zip(citizens, refs, strict=True):
        response = client.post("/v1/board", json=citizen.enroll(client, codes["codes"][ref]))
        assert response.status_code == 201, response.text
    return citizens


def _size(client: httpx.Client) -> int:
    size = client.get("/v1/board/sth").json()["tree_size"]
    assert isinstance(size, int)
    return size


def _batch(board: BoardService, envelopes: list[dict[str, Any]]) -> list[Future[Posted]]:
    jobs = [_Job(board.prepare(canonical_json(envelope))) for envelope in envelopes]
    board._run_batch(jobs)
    return [job.future for job in jobs]


def test_a_batch_appends_in_order_answers_retries_and_refuses_alone(
    served: tuple[Services, httpx.Client],
) -> None:
    services, client = served
    alice, bob = _voters(client, 2)
    before = _size(client)
    first = alice.ballot("q", "a")
    stale = Citizen("city", alice.key, first["record"]["seq"] - 1).ballot("q", "b")  # same seq
    second = bob.ballot("q", "b")

    futures = _batch(services.board, [first, first, stale, second])

    one, retry, refused, two = futures
    assert one.result().created and two.result().created
    assert not retry.result().created
    assert retry.result().receipt == one.result().receipt
    assert one.result().receipt["index"] == before
    assert two.result().receipt["index"] == before + 1
    with pytest.raises(Conflict):
        refused.result()
    assert _size(client) == before + 2
    # The writer's receipts are those the board gives for the same leaves afterwards.
    again = client.post("/v1/board", json=first)
    assert again.status_code == 200
    assert again.json() == one.result().receipt


def test_a_failed_batch_fails_every_request_and_writes_nothing(
    served: tuple[Services, httpx.Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    services, client = served
    alice, bob = _voters(client, 2)
    before = _size(client)
    ballots = [alice.ballot("q", "a"), bob.ballot("q", "b")]

    def broken(*args: object) -> None:
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(services.board.store, "write", broken)
        futures = _batch(services.board, ballots)
    for future in futures:
        with pytest.raises(OSError, match="disk full"):
            future.result()
    assert _size(client) == before
    # Nothing half-applied stays in the process's state: the same envelopes append as new.
    for ballot in ballots:
        assert client.post("/v1/board", json=ballot).status_code == 201
    assert _size(client) == before + 2


def test_the_writer_runs_jobs_in_order_in_bounded_batches_and_stops_when_idle() -> None:
    batches: list[list[int]] = []
    gate = threading.Event()

    def run(jobs: list[_Job]) -> None:
        gate.wait(timeout=30)
        batches.append([id(job) for job in jobs])

    writer = _Writer(run, max_batch=3, idle_seconds=0.05)
    jobs = [_Job(None) for _ in range(8)]  # type: ignore[arg-type]
    for job in jobs:
        writer.put(job)
    gate.set()
    deadline = time.monotonic() + 30
    while sum(map(len, batches)) < len(jobs) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [i for batch in batches for i in batch] == [id(job) for job in jobs]
    assert all(1 <= len(batch) <= 3 for batch in batches)
    while writer._running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not writer._running
    writer.put(_Job(None))  # type: ignore[arg-type]  # a new job starts a new thread
    while sum(map(len, batches)) < len(jobs) + 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sum(map(len, batches)) == len(jobs) + 1


# The dying thread's exception is the point of the test.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_writer_that_dies_is_started_again_by_the_next_job() -> None:
    ran: list[int] = []
    dead: list[threading.Thread] = []

    def run(jobs: list[_Job]) -> None:
        ran.append(len(jobs))
        if len(ran) == 1:
            dead.append(threading.current_thread())
            raise SystemExit  # not an Exception: the thread ends with it
        for job in jobs:
            job.future.set_result(None)  # type: ignore[arg-type]

    writer = _Writer(run, max_batch=8, idle_seconds=0.05)
    first = _Job(None)  # type: ignore[arg-type]
    writer.put(first)
    deadline = time.monotonic() + 30
    while (writer._running or not ran) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ran == [1] and not writer._running
    second = _Job(None)  # type: ignore[arg-type]
    writer.put(second)
    assert second.future.result(timeout=30) is None
    assert ran == [1, 1]
    # Joined here, so that its exception is reported within this test (and ignored).
    dead[0].join(timeout=30)
    assert not dead[0].is_alive()
