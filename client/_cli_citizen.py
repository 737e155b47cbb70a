"""``isegoria citizen``: enroll, vote, delegate, and check what the board holds for you."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from client import _cli_common as common
from client._cli_common import UrlOption, reported
from client._client import DEFAULT_URL
from client.board import fetch_assembly, find_question, list_questions
from client.citizen import STANCES, Citizen, parse_scope
from client.errors import ClientError, UsageError, VerificationError, WalletError
from client.wallet import Wallet
from crypto.encoding import JSONValue, canonical_json

__all__ = ["citizen_app"]

citizen_app = common.new_typer(
    "A citizen's commands. The pseudonym and receipts live in a wallet file sealed with a "
    "passphrase (ISEGORIA_PASSPHRASE, or asked without echo). Every action prints the board "
    "leaf that holds it, after checking the signed receipt."
)

WalletOption = Annotated[
    Path,
    typer.Option(
        "--wallet",
        help="The sealed wallet file (created by enroll). Its passphrase comes from "
        "ISEGORIA_PASSPHRASE, else it is asked without echo, else read as one line of stdin.",
    ),
]


# The wallets opened by this command, so that a failure can say what became of its action.
_OPENED: dict[Path, Wallet] = {}


def _citizen(wallet: Path, url: str) -> Citizen:
    opened = _OPENED[wallet] = Wallet.open(wallet, common.passphrase())
    return Citizen(common.make_client(url), opened)


@contextmanager
def _acting(wallet: Path) -> Iterator[None]:
    """``reported()``, and when an action failed after its envelope was saved (a timeout, the
    server down), how it will be sent again: identical bytes, so never a double action."""
    _OPENED.pop(wallet, None)  # only what this command opens
    with reported():
        try:
            yield
        except (UsageError, WalletError):
            raise
        except ClientError:
            opened = _OPENED.get(wallet)
            if opened is not None and opened.pending is not None:
                typer.echo(
                    f"note: the action is kept in {wallet}; `isegoria citizen resume --wallet "
                    f"{wallet}` sends it again (so does your next action)",
                    err=True,
                )
            raise


@citizen_app.command("enroll")
def enroll(
    wallet: WalletOption,
    assembly: Annotated[str, typer.Option("--assembly", help="The assembly to enroll in.")],
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Make a pseudonym, get its anonymous credential, and register it on the board.

    Creates the wallet if it does not exist (asking for a new passphrase twice). The one-time
    enrollment code is read from ISEGORIA_ENROLLMENT_CODE or asked without echo. The issuer key
    is taken from the authority-signed board, never from the registrar. Prints the pseudonym.
    """
    with _acting(wallet):
        client = common.make_client(url)
        if wallet.exists():
            opened = Wallet.open(wallet, common.passphrase())
            if opened.assembly_id != assembly:
                raise UsageError(f"{wallet} belongs to assembly {opened.assembly_id!r}")
        else:
            # Before the file exists: a wallet is bound to its assembly for good.
            fetch_assembly(client, assembly)
            opened = Wallet.create(
                wallet, common.passphrase(confirm=True), assembly, limits=common.kdf_limits
            )
            typer.echo(f"new wallet {wallet} for assembly {assembly}")
        _OPENED[wallet] = opened
        citizen = Citizen(client, opened)
        code = "" if opened.enrolled else common.secret(common.CODE_ENV, "Enrollment code")
        receipt = citizen.enroll(code)
        typer.echo(f"pseudonym {citizen.pseudonym}")
        common.echo_receipt(f"enrolled in assembly {assembly}", receipt)


@citizen_app.command("vote")
def vote(
    wallet: WalletOption,
    question_id: Annotated[str, typer.Argument(metavar="QUESTION", help="The question.")],
    choices: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="CHOICE",
            help="Option ids: one for single; any for approval and budget (none approves "
            "nothing); best first for ranked.",
        ),
    ] = None,
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Cast or replace your ballot; a direct vote overrides any delegation.

    Reads the question's method and options from the board first.
    """
    with _acting(wallet):
        citizen = _citizen(wallet, url)
        question = find_question(citizen.client, question_id, pinned=citizen.authority_key())
        choice = common.build_choice(question, choices or [])
        common.echo_receipt(f"ballot on {question_id}", citizen.vote(question_id, choice))


@citizen_app.command("delegate")
def delegate(
    wallet: WalletOption,
    scope: Annotated[
        str, typer.Option("--scope", help="assembly:ID, topic:ID or question:ID.")
    ],
    to: Annotated[
        str | None,
        typer.Argument(metavar="DELEGATE", help="The delegate's pseudonym (base64url)."),
    ] = None,
    none: Annotated[
        bool,
        typer.Option("--none", help="Record 'no delegation at this scope' (blocks broader ones)."),
    ] = False,
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Delegate your vote at a scope to another pseudonym (or to nobody, with --none).

    The most specific scope wins: question, then topic, then assembly.
    """
    with _acting(wallet):
        if (to is None) == (not none):
            raise UsageError("give either a DELEGATE or --none")
        citizen = _citizen(wallet, url)
        receipt = citizen.delegate(parse_scope(scope), None if none else to)
        common.echo_receipt(f"delegation at {scope}", receipt)


@citizen_app.command("revoke")
def revoke(
    wallet: WalletOption,
    scope: Annotated[str, typer.Option("--scope", help="assembly:ID, topic:ID or question:ID.")],
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Take back your delegation at a scope (a broader one applies again)."""
    with _acting(wallet):
        common.echo_receipt(
            f"revocation at {scope}", _citizen(wallet, url).revoke(parse_scope(scope))
        )


@citizen_app.command("profile")
def profile(
    wallet: WalletOption,
    name: Annotated[str, typer.Option("--name", help="Display name shown to delegators.")],
    statement: Annotated[str, typer.Option("--statement", help="What you stand for.")] = "",
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Publish a delegate profile so that others can find you and delegate to you."""
    with _acting(wallet):
        common.echo_receipt("profile", _citizen(wallet, url).profile(name, statement))


@citizen_app.command("opine")
def opine(
    wallet: WalletOption,
    question_id: Annotated[str, typer.Argument(metavar="QUESTION", help="The question.")],
    stance: Annotated[str, typer.Option("--stance", help="for, against or neutral.")],
    text: Annotated[str, typer.Option("--text", help="Your argument.")],
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Publish an argued opinion on a question (counted per stance, never as a vote)."""
    with _acting(wallet):
        if stance not in STANCES:
            raise UsageError(f"--stance is one of {', '.join(STANCES)}")
        common.echo_receipt("opinion", _citizen(wallet, url).opine(question_id, stance, text))


@citizen_app.command("propose")
def propose(
    wallet: WalletOption,
    topic_id: Annotated[str, typer.Argument(metavar="TOPIC", help="The topic it belongs to.")],
    initiative_id: Annotated[
        str, typer.Argument(metavar="INITIATIVE", help="Identifier of the new initiative.")
    ],
    title: Annotated[str, typer.Option("--title", help="Title of the initiative.")],
    text: Annotated[str, typer.Option("--text", help="What it proposes.")],
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Put a citizens' initiative on a topic's agenda; others may then support it."""
    with _acting(wallet):
        receipt = _citizen(wallet, url).propose(topic_id, initiative_id, title, text)
        common.echo_receipt(f"initiative {initiative_id}", receipt)


@citizen_app.command("support")
def support(
    wallet: WalletOption,
    initiative_id: Annotated[str, typer.Argument(metavar="INITIATIVE", help="The initiative.")],
    withdraw: Annotated[
        bool, typer.Option("--withdraw", help="Withdraw an earlier support instead.")
    ] = False,
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Sign a citizens' initiative (or withdraw your signature)."""
    with _acting(wallet):
        receipt = _citizen(wallet, url).support(initiative_id, withdrawn=withdraw)
        common.echo_receipt(f"{'withdrawal' if withdraw else 'support'}", receipt)


@citizen_app.command("trace")
def trace(
    question_id: Annotated[str, typer.Argument(metavar="QUESTION", help="The question.")],
    wallet: Annotated[
        Path | None, typer.Option("--wallet", help="Trace this wallet's pseudonym.")
    ] = None,
    pseudonym: Annotated[
        str | None, typer.Option("--pseudonym", help="Trace this pseudonym instead.")
    ] = None,
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Show where a voice goes on a question: the delegation chain, how it ends, the choice."""
    with reported():
        if (wallet is None) == (pseudonym is None):
            raise UsageError("give either --wallet or --pseudonym")
        client = common.make_client(url)
        if wallet is not None:
            pseudonym = Wallet.open(wallet, common.passphrase()).pseudonym
        assert pseudonym is not None
        answer = client.trace(question_id, pseudonym)
        chain = answer.get("chain")
        hops = [str(p) for p in chain] if isinstance(chain, list) else []
        typer.echo(f"question {question_id}, pseudonym {pseudonym}")
        typer.echo("chain: " + " -> ".join(hops))
        typer.echo(f"end: {answer.get('end')}")
        choice: JSONValue = answer.get("choice")
        if answer.get("closed") is True:
            typer.echo(f"choice: {canonical_json(choice).decode()}")
        else:
            typer.echo("choice: (known when the question closes)")


@citizen_app.command("questions")
def questions(
    assembly: Annotated[str, typer.Option("--assembly", help="The assembly.")],
    url: UrlOption = DEFAULT_URL,
) -> None:
    """List an assembly's questions: id, method, open or closed, title and option ids.

    Read from the authority-signed board (checked against its signed tree head); no wallet.
    """
    with reported():
        found = list_questions(common.make_client(url), assembly)
        if not found:
            typer.echo(f"assembly {assembly} has no question on the board")
        for record, closed in found:
            options = record.get("options")
            ids = [o.get("id") for o in options if isinstance(o, dict)] if isinstance(
                options, list
            ) else []
            typer.echo(
                f"{record.get('question_id')}  {record.get('method')}  "
                f"{'closed' if closed else 'open'}  {record.get('title')!s}"
            )
            typer.echo(f"    options: {', '.join(str(i) for i in ids)}")


@citizen_app.command("tally")
def tally(
    question_id: Annotated[str, typer.Argument(metavar="QUESTION", help="A closed question.")],
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Print the published tally of a closed question as a table."""
    with reported():
        typer.echo(common.format_tally(question_id, common.make_client(url).tally(question_id)))


@citizen_app.command("receipts")
def receipts(
    wallet: WalletOption,
    url: UrlOption = DEFAULT_URL,
    save: Annotated[
        Path | None,
        typer.Option(
            "--save",
            help="Also write each receipt to DIR/receipt-<leaf>.json (mode 0600), the file "
            "`isegoria audit receipt` takes. A receipt points at your leaf: keep it private.",
            metavar="DIR",
        ),
    ] = None,
) -> None:
    """Check every saved receipt against the latest signed tree head.

    For each receipt: a consistency proof from its tree head to the latest one, and a fresh
    inclusion proof. Prints one line per receipt; exits 1 if any check fails.
    """
    with reported():
        citizen = _citizen(wallet, url)
        if save is not None:
            _save_receipts(save, citizen.wallet)
        head = citizen.latest_tree_head()
        typer.echo(f"latest signed tree head: size {head.tree_size}")
        failures = 0
        for stored in citizen.wallet.receipts:
            index = stored.receipt.index
            try:
                citizen.check_receipt_now(stored.receipt, stored.envelope, latest=head)
            except VerificationError as exc:
                failures += 1
                typer.echo(f"FAIL leaf {index} ({stored.record_type}): {exc}")
            else:
                typer.echo(f"ok   leaf {index} ({stored.record_type})")
        if citizen.wallet.pending is not None:
            typer.echo("pending: one action not yet acknowledged; `citizen resume` sends it again")
        if failures:
            raise typer.Exit(1)


def _save_receipts(directory: Path, opened: Wallet) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for stored in opened.receipts:
            path = directory / f"receipt-{stored.receipt.index}.json"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(canonical_json(stored.receipt.to_json()) + b"\n")
    except OSError as exc:
        raise UsageError(f"cannot write receipts to {directory}: {exc.strerror or exc}") from exc
    typer.echo(f"{len(opened.receipts)} receipt(s) written to {directory}")


@citizen_app.command("resume")
def resume(wallet: WalletOption, url: UrlOption = DEFAULT_URL) -> None:
    """Send again, byte for byte, the action an interrupted run left pending (if any)."""
    with reported():
        receipt = _citizen(wallet, url).resume()
        if receipt is None:
            typer.echo("nothing pending")
        else:
            common.echo_receipt("pending action", receipt)


@citizen_app.command("status")
def status(wallet: WalletOption) -> None:
    """Print the wallet's assembly, pseudonym, enrollment, last seq and pending action."""
    with reported():
        opened = Wallet.open(wallet, common.passphrase())
        typer.echo(f"assembly  {opened.assembly_id}")
        typer.echo(f"pseudonym {opened.pseudonym}")
        typer.echo(f"enrolled  {'yes' if opened.enrolled else 'no'}")
        typer.echo(f"last seq  {opened.seq}")
        typer.echo(f"receipts  {len(opened.receipts)}")
        pending = opened.pending
        if pending is None:
            typer.echo("pending   no")
        else:
            record = pending.get("record")
            record = record if isinstance(record, dict) else {}
            target = next(
                (f" on {record[k]}" for k in ("question_id", "initiative_id") if k in record), ""
            )
            typer.echo(
                f"pending   {record.get('type', '?')}{target} (seq {record.get('seq', '-')}), "
                "not yet acknowledged: `isegoria citizen resume` sends it again"
            )
