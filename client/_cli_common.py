"""What the admin, citizen and lobby commands share: options, secrets, errors, output.

Secrets never come from the command line, where they would land in the shell history: the admin
token from ``ISEGORIA_ADMIN_TOKEN``, passphrases from ``ISEGORIA_PASSPHRASE`` or a hidden prompt,
enrollment codes from ``ISEGORIA_ENROLLMENT_CODE`` or a hidden prompt. Expected errors print one
line and exit 1 (a refusal, a failed check, the network) or 2 (unusable input); never a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from client._client import DEFAULT_URL, Client
from client.errors import ClientError, NetworkError, UsageError, WalletError
from client.models import Receipt
from client.wallet import KdfLimits
from crypto.encoding import JSONValue, parse_json
from crypto.errors import CryptoError

URL_ENV = "ISEGORIA_URL"
# Names of environment variables, not secrets.
ADMIN_TOKEN_ENV = "ISEGORIA_ADMIN_TOKEN"  # noqa: S105
PASSPHRASE_ENV = "ISEGORIA_PASSPHRASE"  # noqa: S105
CODE_ENV = "ISEGORIA_ENROLLMENT_CODE"

UrlOption = Annotated[
    str,
    typer.Option(
        "--url",
        envvar=URL_ENV,
        help="Base URL of the isegoria server (also from ISEGORIA_URL).",
        show_default=True,
    ),
]

# Seams the tests (and the integration suite) replace: reach the app without sockets, and seal
# new files with cheap Argon2id costs.
client_factory = Client
kdf_limits = KdfLimits()


def new_typer(help_text: str) -> typer.Typer:
    # Pretty exceptions are off: rich tracebacks show local variables, passphrases included.
    # Plain help (no rich markup) rewraps docstring paragraphs and prints the same on any terminal.
    return typer.Typer(
        help=help_text,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )


def make_client(url: str, *, admin: bool = False) -> Client:
    token = None
    if admin:
        token = os.environ.get(ADMIN_TOKEN_ENV)
        if not token:
            raise UsageError(f"set {ADMIN_TOKEN_ENV} to the admin token (never an argument)")
    return client_factory(url or DEFAULT_URL, admin_token=token)


def secret(env: str, prompt: str, *, confirm: bool = False) -> str:
    """From ``env``; else asked without echo at a terminal; else one line of standard input."""
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        # A script: read the line it pipes in (no prompt, no confirmation, nothing echoed).
        entered = sys.stdin.readline().rstrip("\r\n")
        if not entered:
            raise UsageError(f"no {prompt.lower()}: set {env} or pipe it in on one line")
        return entered
    entered = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm)
    if not entered:
        raise UsageError(f"{prompt.lower()} must not be empty")
    return str(entered)


def passphrase(*, confirm: bool = False) -> bytes:
    return secret(PASSPHRASE_ENV, "Passphrase", confirm=confirm).encode("utf-8")


def fail(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def reported() -> Iterator[None]:
    """Turn the SDK's expected errors into one line on stderr and an exit code."""
    try:
        yield
    except (UsageError, WalletError) as exc:
        fail(exc.diagnostics(), 2)
    except NetworkError as exc:
        fail(f"{exc.diagnostics()} (the server's URL: --url or {URL_ENV})", 1)
    except ClientError as exc:
        fail(exc.diagnostics(), 1)


def read_json_file(path: Path, what: str) -> JSONValue:
    try:
        return parse_json(path.read_bytes())
    except OSError as exc:
        raise UsageError(f"cannot read the {what} {path}: {exc.strerror or exc}") from exc
    except CryptoError as exc:
        raise UsageError(f"the {what} {path} is not strict JSON: {exc}") from exc


def build_choice(question: Mapping[str, JSONValue], picked: Sequence[str]) -> JSONValue:
    """The ``choice`` a question's method expects, from option ids on the command line (§6)."""
    method = question.get("method")
    options = question.get("options")
    ids = [o.get("id") for o in options if isinstance(o, dict)] if isinstance(options, list) else []
    unknown = [c for c in picked if c not in ids]
    if unknown:
        known = ", ".join(str(i) for i in ids)
        raise UsageError(f"unknown option {', '.join(unknown)}; the options are: {known}")
    if len(set(picked)) != len(picked):
        raise UsageError("an option is given twice")
    if method == "single":
        if len(picked) != 1:
            raise UsageError("this question takes exactly one option")
        return picked[0]
    if method == "ranked" and not picked:
        raise UsageError("a ranked ballot lists at least one option, best first")
    if method in ("approval", "budget", "ranked"):
        return list(picked)
    raise UsageError(f"unknown method {method!r}")


def echo_receipt(what: str, receipt: Receipt) -> None:
    typer.echo(
        f"{what}: leaf {receipt.index}, in the signed tree of size {receipt.sth.tree_size} "
        "(receipt verified and saved)"
    )


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                  enumerate(zip(row, widths, strict=True))).rstrip()
        for row in rows
    ]


def _obj(value: JSONValue) -> Mapping[str, JSONValue]:
    return value if isinstance(value, dict) else {}


def format_tally(question_id: str, result: Mapping[str, JSONValue]) -> str:
    """A tally result (DESIGN §6) as a table a person can read."""
    citizens, lobbies, stats = (_obj(result.get(k)) for k in ("citizens", "lobbies", "stats"))
    counts, lobby_counts = _obj(citizens.get("counts")), _obj(lobbies.get("counts"))
    ranking = citizens.get("ranking")
    order = [str(o) for o in ranking] if isinstance(ranking, list) else list(counts)
    order += [o for o in counts if o not in order]
    lines = [f"question {question_id} ({citizens.get('method')})"]
    lines.append(
        f"electorate {citizens.get('electorate')}: {citizens.get('ballots_direct')} voted, "
        f"{citizens.get('weight_delegated')} delegated, {citizens.get('dead_end')} dead end, "
        f"{citizens.get('cycle')} in a cycle, {citizens.get('abstained')} abstained"
    )
    rows = [["option", "citizens", "lobbies"]]
    rows += [[o, str(counts.get(o, 0)), str(lobby_counts.get(o, 0))] for o in order]
    lines += _table(rows)
    counted = citizens.get("ballots_direct")
    lines.append(f"ranking: {', '.join(order)}" if counted else "ranking: (no ballot)")
    selected = citizens.get("selected")
    if isinstance(selected, list):
        lines.append(f"selected: {', '.join(str(s) for s in selected) or '(none)'}")
    carriers = citizens.get("carriers")
    if isinstance(carriers, list) and carriers:
        lines.append("carriers (ballots carrying delegated weight):")
        for carrier in carriers:
            c = _obj(carrier)
            lines.append(f"  {c.get('pseudonym')}  weight {c.get('weight')}")
    if stats:
        lines.append(
            f"largest ballot weight {stats.get('largest_carrier_weight')}; "
            f"{stats.get('carriers')} ballot(s) carry delegated weight"
        )
    return "\n".join(lines)
