"""``isegoria audit``: check the public board, a receipt, and the tree head over time (DESIGN §8).

* ``verify``: replay a whole board (an export, or a server) through the board's own rules
  (``audit.replay``) and check its Merkle root against the signed tree head;
* ``receipt``: check that a receipt's leaf is still on the latest board (RFC 9162 §2.1.3, §2.1.4);
* ``monitor``: keep the last verified tree head and check that the board only ever grows;
* ``export``: download the board and its signed tree head, for a later ``verify``.

Exit codes: 0 every check holds; 1 a check fails (``FAIL leaf N: reason`` for a board); 2 the
input is unreadable (missing file, bad URL, malformed JSON, network failure).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from pathlib import Path
from typing import Annotated, BinaryIO, NoReturn

import httpx
import typer

from audit import BoardState, Malformed, RecordRefused, VerificationFailed, parse_envelope
from audit.replay import Report, TreeHead, check_signatures, verify_board
from client.errors import (
    ClientError,
    MalformedResponse,
    NetworkError,
    ServerFailed,
    UsageError,
    VerificationError,
    refusal_for,
)
from crypto.encoding import JSONValue, b64u_decode, b64u_encode, canonical_json, parse_json
from crypto.errors import CryptoError
from crypto.merkle import EMPTY_ROOT, leaf_hash, node_hash, verify_consistency, verify_inclusion

__all__ = ["audit_app", "make_audit_app", "verify_parallel"]

_TIMEOUT = 30.0
_CHUNK = 2048  # leaves per signature-checking task: ~120 ms of work, so the pool's cost is slight
_AHEAD = 2  # tasks queued per worker process, so that none waits for the next


# -- parallel signature checks ---------------------------------------------------------------


class _Checked:
    """The leaves with their Ed25519 verdicts, checked ``_CHUNK`` at a time in order.

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
        return list(islice(self._source, _CHUNK))

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


# -- reading input ---------------------------------------------------------------------------


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def _read_json(path: Path, what: str) -> JSONValue:
    try:
        return parse_json(path.read_bytes())
    except OSError as exc:
        raise UsageError(f"cannot read the {what} {path}: {exc.strerror or exc}") from exc
    except CryptoError as exc:
        raise UsageError(f"the {what} {path} is not strict JSON: {exc}") from exc


def _object(value: JSONValue, path: Path) -> dict[str, JSONValue]:
    if not isinstance(value, dict):
        raise UsageError(f"the tree head {path} must be a JSON object")
    return value


def _tree_head(value: object, what: str) -> TreeHead:
    try:
        return TreeHead.from_json(value, what)
    except Malformed as exc:
        raise MalformedResponse(exc.detail) from exc


def _file_leaves(handle: BinaryIO, name: str) -> Iterator[bytes]:
    """Each line of an export without its ``\\n``: exactly the leaf bytes."""
    try:
        for line in handle:
            yield line[:-1] if line.endswith(b"\n") else line
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from exc


class _Server:
    """The public GET paths of one isegoria server (DESIGN §5), answers read strictly."""

    def __init__(self, url: str, transport: httpx.BaseTransport | None) -> None:
        if not _is_url(url):
            raise UsageError(f"{url!r} is not an http:// or https:// URL")
        self._owns_transport = transport is None
        try:
            self._http = httpx.Client(
                base_url=url.rstrip("/"),
                transport=transport,
                timeout=_TIMEOUT,
                follow_redirects=False,
                headers={"User-Agent": "isegoria-audit/1"},
            )
        except (httpx.InvalidURL, ValueError) as exc:
            raise UsageError(f"{url!r} is not a usable URL: {exc}") from exc

    def __enter__(self) -> _Server:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._owns_transport:  # a transport passed in belongs to the caller, who reuses it
            self._http.close()

    @staticmethod
    def _check(response: httpx.Response) -> None:
        if response.status_code >= 500:
            raise ServerFailed(response.status_code, response.text[:200])
        if response.status_code != 200:
            raise refusal_for(response.status_code, response.text[:200])

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except httpx.InvalidURL as exc:
            raise UsageError(f"unusable URL: {exc}") from exc
        except httpx.HTTPError as exc:
            raise NetworkError(f"cannot {what}: {exc}") from exc

    def json(self, path: str, **params: int) -> JSONValue:
        with self._errors(f"GET {path}"):
            response = self._http.get(path, params=params)
        self._check(response)
        try:
            return parse_json(response.content)
        except CryptoError as exc:
            raise MalformedResponse(f"GET {path} did not answer strict JSON: {exc}") from exc

    def sth(self) -> TreeHead:
        return _tree_head(self.json("/v1/board/sth"), "the server's tree head")

    def leaves(self, start: int, end: int) -> Iterator[bytes]:
        """``GET /v1/board``, streamed; split on ``\\n`` only (JCS leaves U+2028 unescaped)."""
        with self._errors("read the board"), self._http.stream(
            "GET", "/v1/board", params={"start": start, "end": end}
        ) as response:
            if response.status_code != 200:
                response.read()
                self._check(response)
            buffer = bytearray()
            for chunk in response.iter_bytes():
                buffer += chunk
                lines = buffer.split(b"\n")
                buffer = bytearray(lines.pop())
                yield from (bytes(line) for line in lines)
            if buffer:
                raise MalformedResponse("the board stream ends inside a leaf")

    def _hashes(self, path: str, member: str, **params: int) -> list[bytes]:
        answer = self.json(path, **params)
        items = answer.get(member) if isinstance(answer, dict) else None
        if not isinstance(items, list):
            raise MalformedResponse(f"GET {path} did not answer {{{member!r}: [...]}}")
        try:
            return [b64u_decode(h, length=32, what=member) for h in items]
        except CryptoError as exc:
            raise MalformedResponse(str(exc)) from exc

    def inclusion_proof(self, index: int, tree_size: int) -> list[bytes]:
        return self._hashes(
            "/v1/board/proof/inclusion", "inclusion_proof", index=index, tree_size=tree_size
        )

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        return self._hashes(
            "/v1/board/proof/consistency", "consistency_proof", first=first, second=second
        )

    def genesis_key(self, head: TreeHead) -> str:
        """The authority key of leaf 0, checked as genesis and as included under ``head``."""
        leaves = list(self.leaves(0, 1))
        if len(leaves) != 1 or head.tree_size < 1:
            raise VerificationError("the board has no genesis leaf")
        try:
            envelope = parse_envelope(parse_json(leaves[0]))
            state = BoardState()
            state.apply(envelope)
        except (CryptoError, RecordRefused) as exc:
            raise VerificationError(f"leaf 0 is not a valid genesis record: {exc}") from exc
        proof = self.inclusion_proof(0, head.tree_size)
        try:
            verify_inclusion(leaf_hash(leaves[0]), 0, head.tree_size, proof, head.root_hash)
        except CryptoError as exc:
            raise VerificationError(f"leaf 0 is not in the signed tree: {exc}") from exc
        assert state.authority_key is not None
        return state.authority_key


# -- shared checks ---------------------------------------------------------------------------


def _verify_head(head: TreeHead, authority_key: str, what: str) -> None:
    try:
        head.verify(authority_key)
    except CryptoError as exc:
        raise VerificationError(f"{what} (size {head.tree_size}) fails: {exc}") from exc


def _check_extends(server: _Server, old: TreeHead, new: TreeHead) -> None:
    """``new`` is at least as recent as ``old`` and its tree extends ``old``'s (§2.1.4.2)."""
    if new.tree_size < old.tree_size:
        raise VerificationError(
            f"the board shrank from {old.tree_size} to {new.tree_size} leaves: it was rewritten"
        )
    if new.timestamp < old.timestamp:
        raise VerificationError("the latest tree head is dated before an earlier one")
    proof = [] if new.tree_size == old.tree_size else server.consistency_proof(
        old.tree_size, new.tree_size
    )  # fmt: skip
    try:
        verify_consistency(old.tree_size, new.tree_size, proof, old.root_hash, new.root_hash)
    except CryptoError as exc:
        raise VerificationError(
            f"the board of {new.tree_size} leaves does not extend the one of {old.tree_size} "
            f"leaves: it was rewritten ({exc})"
        ) from exc


def _when(timestamp: int) -> str:
    moment = datetime.datetime.fromtimestamp(timestamp / 1000, tz=datetime.UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _write_atomically(
    path: Path, data: Iterable[bytes], check: Callable[[], None] | None = None
) -> None:
    """Write ``data`` to a temporary file, run ``check``, then rename it over ``path``."""
    temporary: str | None = None
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(handle, "wb") as out:
            for part in data:
                out.write(part)
            out.flush()
            os.fsync(out.fileno())
        if check is not None:
            check()
        os.replace(temporary, path)
    except BaseException as exc:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        if isinstance(exc, OSError):
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise


def _exit(message: str, code: int, as_json: bool = False, **fields: JSONValue) -> NoReturn:
    if as_json:
        typer.echo(canonical_json({"ok": False, **fields}).decode())
    else:
        typer.echo(message, err=code == 2)
    raise typer.Exit(code)


@contextlib.contextmanager
def _reported(as_json: bool = False) -> Iterator[None]:
    """Expected failures become one line and an exit code: 1 a failed check, 2 bad input."""
    try:
        yield
    except VerificationFailed as exc:
        _exit(str(exc), 1, as_json, leaf=exc.leaf, reason=exc.reason)
    except VerificationError as exc:
        _exit(f"FAIL: {exc.diagnostics()}", 1, as_json, reason=exc.diagnostics())
    except ClientError as exc:
        _exit(f"error: {exc.diagnostics()}", 2, as_json, error=exc.diagnostics())
    except Malformed as exc:
        _exit(f"error: {exc.detail}", 2, as_json, error=exc.detail)


class _Progress:
    """``\r``-updated count of leaves on stderr; a final newline only if something was shown."""

    def __init__(self) -> None:
        self.shown = False

    def __call__(self, done: int) -> None:
        typer.echo(f"\r{done:,} leaves verified", err=True, nl=False)
        self.shown = True

    def close(self) -> None:
        if self.shown:
            typer.echo("", err=True)


# -- the commands ----------------------------------------------------------------------------

_VERIFY_HELP = """Replay a whole board and check everything an auditor can (DESIGN §8).

BOARD is a file exported from GET /v1/board (one leaf per line, exactly its bytes) or a server's
URL (then its signed tree head is fetched first, and the board up to that size).

Checked: each leaf is canonical JSON (RFC 8785); every signature; every credential against its
assembly's issuer key; unique pseudonyms; seq order; every record legal where it stands; each
tally is the very next leaf after its question_closed and equals the one recomputed from the
board; electorate <= credentials_issued <= roll_size; the Merkle root equals the signed tree
head (--sth, or the server's); consistency with each earlier tree head you kept (--known-sth).
A file without --sth is checked in full except the root, and the output says so.

Exit 0 if everything holds; 1 with "FAIL leaf N: reason" for the first offending leaf (N = the
last leaf for a root or tree-head mismatch); 2 for unreadable input."""


def make_audit_app(transport: httpx.BaseTransport | None = None) -> typer.Typer:
    """The ``audit`` command group; ``transport`` replaces the network (tests)."""
    app = typer.Typer(
        help="Verify the public board, receipts and tree heads; no account needed.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.command(help=_VERIFY_HELP)
    def verify(
        board: Annotated[str, typer.Argument(help="An export of GET /v1/board, or a URL.")],
        sth: Annotated[
            Path | None, typer.Option("--sth", help="The signed tree head (JSON) to check against.")
        ] = None,
        known_sth: Annotated[
            list[Path] | None,
            typer.Option("--known-sth", help="An earlier tree head you kept (repeatable)."),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print a JSON verdict.")] = False,
        progress: Annotated[
            bool, typer.Option("--progress", help="Show progress on stderr (default: on a TTY).")
        ] = False,
        jobs: Annotated[
            int, typer.Option("--jobs", min=1, help="Processes checking signatures in parallel.")
        ] = 1,
    ) -> None:
        show = _Progress() if progress or sys.stderr.isatty() else None
        with _reported(as_json), contextlib.ExitStack() as stack:
            known = [_object(_read_json(p, "earlier tree head"), p) for p in known_sth or ()]
            head = None if sth is None else _object(_read_json(sth, "signed tree head"), sth)
            if _is_url(board):
                server = stack.enter_context(_Server(board, transport))
                if head is None:
                    head = server.sth().to_json()
                size = _tree_head(head, "the signed tree head").tree_size
                leaves = server.leaves(0, size)
            else:
                try:
                    handle = stack.enter_context(Path(board).open("rb"))
                except OSError as exc:
                    raise UsageError(f"cannot read {board}: {exc.strerror or exc}") from exc
                leaves = _file_leaves(handle, board)
            try:
                if jobs > 1:
                    report = verify_parallel(
                        leaves, jobs, sth=head, known_sths=known, progress=show
                    )
                else:
                    report = verify_board(leaves, sth=head, known_sths=known, progress=show)
            finally:
                if show is not None:
                    show.close()
            _print_report(report, as_json, head)

    @app.command()
    def receipt(
        receipt_file: Annotated[
            Path, typer.Argument(metavar="RECEIPT", help="The POST /v1/board answer (JSON).")
        ],
        url: Annotated[str, typer.Argument(help="The server's URL.")],
        authority_key: Annotated[
            str | None,
            typer.Option("--authority-key", help="Pin the authority key (base64url)."),
        ] = None,
    ) -> None:
        """Check that a receipt's leaf is still on the board (DESIGN §8).

        Checked: the receipt's tree head signature and inclusion proof; the latest tree head's
        signature; that it is no older than the receipt's; a consistency proof from the
        receipt's tree to the latest (RFC 9162 §2.1.4); a fresh inclusion proof of the leaf in
        the latest tree (§2.1.3). Without --authority-key the key is taken from the board's
        genesis (leaf 0, checked to be in the latest tree): trust on first use.
        """
        with _reported(), _Server(url, transport) as server:
            index, leaf, old = _read_receipt(receipt_file)
            if authority_key is not None:
                try:
                    b64u_decode(authority_key, length=32, what="--authority-key")
                except CryptoError as exc:
                    raise UsageError(str(exc)) from exc
            latest = server.sth()
            key = authority_key or server.genesis_key(latest)
            if authority_key is None:
                typer.echo(f"authority key {key} taken from the board's genesis (not pinned)")
            _verify_head(old, key, "the receipt's tree head")
            _verify_head(latest, key, "the latest tree head")
            _check_extends(server, old, latest)
            path = server.inclusion_proof(index, latest.tree_size)
            try:
                verify_inclusion(leaf, index, latest.tree_size, path, latest.root_hash)
            except CryptoError as exc:
                raise VerificationError(
                    f"leaf {index} is not in the latest board of {latest.tree_size} leaves: {exc}"
                ) from exc
            typer.echo(
                f"OK: leaf {index} is in the latest board ({latest.tree_size} leaves, "
                f"{_when(latest.timestamp)}), which extends the receipt's ({old.tree_size})"
            )

    @app.command()
    def monitor(
        url: Annotated[str, typer.Argument(help="The server's URL.")],
        state: Annotated[
            Path, typer.Option("--state", help="File keeping the last verified tree head.")
        ],
    ) -> None:
        """Check that the board only grew since the last run (run it from cron).

        Checked: the latest tree head is signed by the authority key pinned in the state file,
        is no older and no smaller than the one kept, and a consistency proof shows that its
        tree extends the kept one (RFC 9162 §2.1.4): the board was not rewritten. The state
        file is then replaced atomically. First run: the key comes from the board's genesis
        (trust on first use), and the output says so.
        """
        with _reported(), _Server(url, transport) as server:
            kept = _read_state(state, url)
            latest = server.sth()
            if kept is None:
                key = server.genesis_key(latest)
                _verify_head(latest, key, "the latest tree head")
                typer.echo(f"first run: trusting authority key {key} (trust on first use)")
            else:
                key, old = kept
                _verify_head(latest, key, "the latest tree head")
                _check_extends(server, old, latest)
                typer.echo(
                    f"OK: the board of {latest.tree_size} leaves extends the kept one of "
                    f"{old.tree_size} leaves"
                )
            document = {"url": url, "authority_key": key, "sth": latest.to_json()}
            _write_atomically(state, [canonical_json(document) + b"\n"])
            typer.echo(f"kept the tree head of size {latest.tree_size} ({_when(latest.timestamp)})")

    @app.command()
    def export(
        url: Annotated[str, typer.Argument(help="The server's URL.")],
        file: Annotated[Path, typer.Argument(help="Where to write the board (NDJSON).")],
    ) -> None:
        """Download the board up to the current tree head: FILE and FILE.sth.json.

        Both files are written atomically. The leaves are checked to number tree_size and to
        hash to the tree head's root; run `verify FILE --sth FILE.sth.json` for the full audit.
        """
        with _reported(), _Server(url, transport) as server:
            head = server.sth()
            frontier = _Frontier()

            def lines() -> Iterator[bytes]:
                for leaf in server.leaves(0, head.tree_size):
                    frontier.add(leaf)
                    yield leaf + b"\n"

            def check() -> None:
                if frontier.size != head.tree_size or frontier.root() != head.root_hash:
                    raise VerificationError(
                        f"the server sent {frontier.size} leaves that do not hash to its tree "
                        f"head of size {head.tree_size}; nothing was written"
                    )

            _write_atomically(file, lines(), check)
            sth_file = file.with_name(file.name + ".sth.json")
            _write_atomically(sth_file, [canonical_json(head.to_json()) + b"\n"])
            typer.echo(f"exported {head.tree_size} leaves to {file}, tree head to {sth_file}")

    return app


def _print_report(report: Report, as_json: bool, head: Mapping[str, JSONValue] | None) -> None:
    if as_json:
        verdict: dict[str, JSONValue] = {
            "ok": True,
            "tree_size": report.tree_size,
            "root_hash": b64u_encode(report.root_hash),
            "root_checked": report.root_checked,
            "known_sths_checked": report.known_sths,
            "assemblies": report.assemblies,
            "questions": report.questions,
            "tallies": report.tallies,
            "pseudonyms": report.pseudonyms,
            "lobbies": report.lobbies,
        }
        typer.echo(canonical_json(verdict).decode())
        return
    typer.echo(
        f"OK: {report.tree_size} leaves verified: {report.assemblies} assemblies, "
        f"{report.questions} questions, {report.tallies} tallies recomputed, "
        f"{report.pseudonyms} pseudonyms, {report.lobbies} lobbies"
    )
    root = b64u_encode(report.root_hash)
    if report.root_checked and head is not None:
        stamp = head.get("timestamp")
        when = f", {_when(stamp)}" if isinstance(stamp, int) else ""
        typer.echo(f"root {root} matches the signed tree head ({report.tree_size} leaves{when})")
    else:
        typer.echo(f"root {root} NOT checked: no signed tree head given (--sth); all else checked")
    if report.known_sths:
        typer.echo(f"consistent with {report.known_sths} earlier tree head(s)")


def _read_receipt(path: Path) -> tuple[int, bytes, TreeHead]:
    """``(index, leaf_hash, tree head)`` of a receipt, its own inclusion proof checked."""
    obj = _read_json(path, "receipt")
    members = {"index", "leaf_hash", "sth", "inclusion_proof"}
    if not isinstance(obj, dict) or set(obj) != members:
        raise UsageError(f"the receipt {path} must have exactly {', '.join(sorted(members))}")
    index, proof = obj["index"], obj["inclusion_proof"]
    if isinstance(index, bool) or not isinstance(index, int) or not isinstance(proof, list):
        raise UsageError(f"the receipt {path} is malformed: index or inclusion_proof")
    try:
        head = TreeHead.from_json(obj["sth"], "the receipt's tree head")
        leaf = b64u_decode(obj["leaf_hash"], length=32, what="leaf_hash")
        path_hashes = [b64u_decode(h, length=32, what="inclusion_proof") for h in proof]
    except (Malformed, CryptoError) as exc:
        raise UsageError(f"the receipt {path} is malformed: {exc}") from exc
    try:
        verify_inclusion(leaf, index, head.tree_size, path_hashes, head.root_hash)
    except CryptoError as exc:
        raise VerificationError(f"the receipt's own inclusion proof fails: {exc}") from exc
    return index, leaf, head


def _read_state(path: Path, url: str) -> tuple[str, TreeHead] | None:
    if not path.exists():
        return None
    obj = _read_json(path, "state file")
    try:
        if not isinstance(obj, dict) or set(obj) != {"url", "authority_key", "sth"}:
            raise UsageError("it must have exactly url, authority_key, sth")
        key, kept_url = obj["authority_key"], obj["url"]
        b64u_decode(key, length=32, what="authority_key")
        head = TreeHead.from_json(obj["sth"], "kept tree head")
    except (UsageError, Malformed, CryptoError) as exc:
        raise UsageError(f"the state file {path} is malformed: {exc}") from exc
    if kept_url != url:
        raise UsageError(f"the state file {path} watches {kept_url}, not {url}")
    assert isinstance(key, str)
    return key, head


class _Frontier:
    """RFC 9162 §2.1.1 root of a stream of leaves in O(log n) memory (perfect subtrees)."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []  # (leaves, hash), sizes strictly falling
        self.size = 0

    def add(self, leaf: bytes) -> None:
        count, current = 1, leaf_hash(leaf)
        while self._stack and self._stack[-1][0] == count:
            left_count, left = self._stack.pop()
            count, current = left_count + count, node_hash(left, current)
        self._stack.append((count, current))
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        result = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            result = node_hash(left, result)
        return result


audit_app = make_audit_app()
