"""``isegoria audit``: check the public board, a receipt, and the tree head over time (DESIGN §8).

* ``verify``: replay a whole board (an export, or a server) through the board's own rules
  (``audit.replay``) and check its Merkle root against the signed tree head;
* ``receipt``: check that a receipt's leaf is still on the latest board (RFC 9162 §2.1.3, §2.1.4);
* ``monitor``: keep the last verified tree head and check that the board only ever grows;
* ``export``: download the board and its signed tree head, for a later ``verify``.

Exit codes: 0 every check holds; 1 a check fails (``FAIL leaf N: reason`` for a board); 2 the
input is unreadable (missing file, bad URL, malformed JSON, network failure). The parallel
signature checks are in ``client._audit_parallel``, reading input in ``client._audit_source``.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, NoReturn

import httpx
import typer

from audit import Malformed, VerificationFailed
from audit.replay import Report, TreeHead, verify_board
from client._audit_parallel import verify_parallel
from client._audit_source import (
    Server,
    check_extends,
    file_leaves,
    head_object,
    is_url,
    parse_tree_head,
    verify_head,
)
from client._cli_common import read_json_file
from client.errors import ClientError, UsageError, VerificationError
from crypto.encoding import JSONValue, b64u_decode, b64u_encode, canonical_json
from crypto.errors import CryptoError
from crypto.merkle import EMPTY_ROOT, leaf_hash, node_hash, verify_inclusion

__all__ = ["audit_app", "make_audit_app", "verify_parallel"]

_STATE_MEMBERS = frozenset({"url", "authority_key", "sth"})


def _head_file(path: Path, what: str) -> dict[str, JSONValue]:
    value = read_json_file(path, what)
    if isinstance(value, dict) and set(value) == _STATE_MEMBERS:  # `audit monitor`'s state file
        value = value["sth"]
    return head_object(value, path)


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
            known = [_head_file(p, "earlier tree head") for p in known_sth or ()]
            head = None if sth is None else _head_file(sth, "signed tree head")
            if is_url(board):
                server = stack.enter_context(Server(board, transport))
                if head is None:
                    head = server.sth().to_json()
                size = parse_tree_head(head, "the signed tree head").tree_size
                leaves = server.leaves(0, size)
            else:
                try:
                    handle = stack.enter_context(Path(board).open("rb"))
                except OSError as exc:
                    raise UsageError(f"cannot read {board}: {exc.strerror or exc}") from exc
                leaves = file_leaves(handle, board)
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
        with _reported(), Server(url, transport) as server:
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
            verify_head(old, key, "the receipt's tree head")
            verify_head(latest, key, "the latest tree head")
            check_extends(server, old, latest)
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
        with _reported(), Server(url, transport) as server:
            kept = _read_state(state, url)
            latest = server.sth()
            if kept is None:
                key = server.genesis_key(latest)
                verify_head(latest, key, "the latest tree head")
                typer.echo(f"first run: trusting authority key {key} (trust on first use)")
            else:
                key, old = kept
                verify_head(latest, key, "the latest tree head")
                check_extends(server, old, latest)
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
        with _reported(), Server(url, transport) as server:
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
    obj = read_json_file(path, "receipt")
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
    obj = read_json_file(path, "state file")
    try:
        if not isinstance(obj, dict) or set(obj) != _STATE_MEMBERS:
            raise UsageError("it must have exactly url, authority_key, sth")
        key, kept_url = obj["authority_key"], obj["url"]
        b64u_decode(key, length=32, what="authority_key")
        head = TreeHead.from_json(obj["sth"], "kept tree head")
    except (UsageError, Malformed, CryptoError) as exc:
        raise UsageError(f"the state file {path} is malformed: {exc}") from exc
    if not isinstance(kept_url, str) or kept_url.rstrip("/") != url.rstrip("/"):
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
