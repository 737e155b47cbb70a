"""Parallel Ed25519 checks for ``isegoria audit verify --jobs`` (``verify_parallel``).

The checks are independent per leaf (``audit.replay.check_signatures``), so worker processes
check chunks of the board while the replay folds it in order. Split from ``client.audit_cli``,
which re-exports ``verify_parallel``: the pool, its chunks and its queue are one concern.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice

from audit.replay import Report, check_signatures, verify_board
from crypto.encoding import JSONValue

__all__ = ["CHUNK", "verify_parallel"]

CHUNK = 2048  # leaves per signature-checking task: ~120 ms of work, so the pool's cost is slight
_AHEAD = 2  # tasks queued per worker process, so that none waits for the next


class _Checked:
    """The leaves with their Ed25519 verdicts, checked ``CHUNK`` at a time in order.

    ``jobs − 1`` worker processes check most chunks; this process folds them as their verdicts
    come back and, rather than wait for the next one, checks a later chunk itself. So ``jobs``
    processes keep ``jobs`` cores busy, none idles while there is work, and nothing is checked
    twice. ``leaves()`` and ``verdicts()`` are read in step, as ``zip`` does: each leaf's
    verdict is queued when the leaf is handed out.
    """

    def __init__(self, leaves: Iterable[bytes], jobs: int) -> None:
        self._source = iter(leaves)
        self._workers = jobs - 1
        self._pool = ProcessPoolExecutor(self._workers) if self._workers else None
        self._window: deque[tuple[list[bytes], Future[bytes] | bytes]] = deque()
        self._queued = 0  # chunks in the window that the pool has
        self._verdicts: deque[int] = deque()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _next_chunk(self) -> list[bytes]:
        return list(islice(self._source, CHUNK))

    def _fill(self) -> bool:
        """Keep the pool's queue full; then, while the oldest chunk is not back, check one here.

        False once the window is empty and the leaves are all read.
        """
        pool = self._pool
        while pool is not None and self._queued < _AHEAD * self._workers:
            batch = self._next_chunk()
            if not batch:
                break
            self._window.append((batch, pool.submit(check_signatures, batch)))
            self._queued += 1
        head = self._window[0][1] if self._window else None
        if head is None or (isinstance(head, Future) and not head.done()):
            batch = self._next_chunk()
            if batch:
                self._window.append((batch, check_signatures(batch)))
        return bool(self._window)

    def leaves(self) -> Iterator[bytes]:
        while self._fill():
            batch, verdicts = self._window.popleft()
            if isinstance(verdicts, Future):
                self._queued -= 1
                verdicts = verdicts.result()
            self._verdicts.extend(verdicts)
            yield from batch

    def verdicts(self) -> Iterator[bool]:
        queued = self._verdicts
        while queued:
            yield queued.popleft() == 1


def verify_parallel(
    leaves: Iterable[bytes],
    jobs: int,
    *,
    sth: Mapping[str, JSONValue] | None = None,
    known_sths: Sequence[Mapping[str, JSONValue]] = (),
    progress: Callable[[int], None] | None = None,
) -> Report:
    """``verify_board`` with the Ed25519 checks spread over ``jobs`` processes (this one too)."""
    checked = _Checked(leaves, jobs)
    try:
        return verify_board(
            checked.leaves(),
            sth=sth,
            known_sths=known_sths,
            progress=progress,
            signatures=checked.verdicts(),
        )
    finally:
        checked.close()
