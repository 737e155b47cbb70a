"""``isegoria admin``: assemblies, topics, questions, the roll, closing, lobby approval."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from client import _cli_common as common
from client._cli_common import UrlOption, reported
from client._client import DEFAULT_URL
from client.admin import codes_csv, parse_option, read_roll, write_codes
from client.errors import UsageError
from client.models import Published

__all__ = ["admin_app"]

admin_app = common.new_typer(
    "Admin commands. They need the admin token in ISEGORIA_ADMIN_TOKEN (never an argument). "
    "Each creation prints the board leaf the authority appended."
)
_lobby_app = common.new_typer("Approve or suspend lobbies that applied to the register.")
admin_app.add_typer(_lobby_app, name="lobby")

_METHODS = ("single", "approval", "ranked", "budget")


def _echo_published(what: str, published: Published) -> None:
    if published.created:
        typer.echo(f"{what}: appended at leaf {published.index}")
    else:
        typer.echo(f"{what}: already on the board at leaf {published.index} (nothing appended)")


@admin_app.command("assembly")
def assembly(
    assembly_id: Annotated[
        str, typer.Argument(metavar="ID", help="Identifier: 1-64 of [a-z0-9-].")
    ],
    title: Annotated[str, typer.Option("--title", help="Title shown to citizens.")],
    key_bits: Annotated[
        int, typer.Option("--key-bits", help="Issuer RSA modulus: 2048, 3072 or 4096 bits.")
    ] = 3072,
    initiative_threshold: Annotated[
        int | None,
        typer.Option(
            "--initiative-threshold",
            help="Direct supports that admit a citizens' initiative (server default 100).",
        ),
    ] = None,
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Open an assembly: the server makes its issuer key and appends the assembly record.

    Prints the leaf index of the record.
    """
    with reported():
        client = common.make_client(url, admin=True)
        published = client.create_assembly(
            assembly_id, title, key_bits=key_bits, initiative_threshold=initiative_threshold
        )
        _echo_published(f"assembly {assembly_id}", published)


@admin_app.command("topic")
def topic(
    assembly_id: Annotated[
        str, typer.Argument(metavar="ASSEMBLY", help="The assembly the topic belongs to.")
    ],
    topic_id: Annotated[str, typer.Argument(metavar="ID", help="Identifier of the new topic.")],
    title: Annotated[str, typer.Option("--title", help="Title of the topic.")],
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Add a topic to an assembly; prints the leaf index of the topic record."""
    with reported():
        published = common.make_client(url, admin=True).create_topic(assembly_id, topic_id, title)
        _echo_published(f"topic {topic_id}", published)


@admin_app.command("question")
def question(
    assembly_id: Annotated[str, typer.Argument(metavar="ASSEMBLY", help="The assembly asked.")],
    question_id: Annotated[
        str, typer.Argument(metavar="ID", help="Identifier of the new question.")
    ],
    topic_id: Annotated[str, typer.Option("--topic", help="The topic it belongs to.")],
    title: Annotated[str, typer.Option("--title", help="The question as citizens read it.")],
    method: Annotated[
        str, typer.Option("--method", help="Voting method: single, approval, ranked or budget.")
    ],
    options: Annotated[
        list[str],
        typer.Option(
            "--option",
            help="An option as id=title, or id=title:cost for a budget; repeat for each option.",
        ),
    ],
    budget: Annotated[
        int | None, typer.Option("--budget", help="Total budget (budget method only).")
    ] = None,
    max_choices: Annotated[
        int | None,
        typer.Option("--max-choices", help="Most options a ballot may approve (approval, budget)."),
    ] = None,
    initiative_id: Annotated[
        str | None,
        typer.Option("--initiative", help="The admitted initiative this question comes from."),
    ] = None,
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Ask a question in an assembly; prints the leaf index of the question record."""
    with reported():
        if method not in _METHODS:
            raise UsageError(f"--method is one of {', '.join(_METHODS)}")
        parsed = [parse_option(spec) for spec in options]
        published = common.make_client(url, admin=True).create_question(
            assembly_id,
            question_id,
            topic_id=topic_id,
            title=title,
            method=method,
            options=parsed,
            budget=budget,
            max_choices=max_choices,
            initiative_id=initiative_id,
        )
        _echo_published(f"question {question_id}", published)


@admin_app.command("roll")
def roll(
    assembly_id: Annotated[
        str, typer.Argument(metavar="ASSEMBLY", help="The assembly whose roll grows.")
    ],
    voters_file: Annotated[
        Path,
        typer.Argument(metavar="VOTERS_FILE", help="Text file of voter references, one per line."),
    ],
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            help="New file (mode 0600) for the ref,code CSV; '-' prints it to stdout instead. "
            "Default: ASSEMBLY-codes.csv.",
        ),
    ] = None,
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Put voters on an assembly's roll and save their one-time enrollment codes.

    A reference already on the roll gets its existing code back. The codes are secrets: they
    are written to a new file of mode 0600 and never printed unless --out - is given.
    """
    with reported():
        refs = read_roll(voters_file)
        target = out if out is not None else f"{assembly_id}-codes.csv"
        if target != "-" and Path(target).exists():
            raise UsageError(f"{target} already exists; choose another file for the codes")
        codes = common.make_client(url, admin=True).add_to_roll(assembly_id, refs)
        text = codes_csv(codes, refs)
        if target == "-":
            sys.stdout.write(text)
            return
        write_codes(target, text)
        typer.echo(f"{len(codes)} enrollment codes written to {target} (mode 0600)")


@admin_app.command("close")
def close(
    question_id: Annotated[
        str, typer.Argument(metavar="QUESTION", help="The question to close.")
    ],
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Close a question: the server appends question_closed and the tally.

    Prints the tally as a table (citizens and lobbies side by side).
    """
    with reported():
        result = common.make_client(url, admin=True).close_question(question_id)
        typer.echo(common.format_tally(question_id, result))


@_lobby_app.command("approve")
def approve(
    lobby_id: Annotated[
        str, typer.Argument(metavar="LOBBY", help="The lobby whose application to approve.")
    ],
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Approve a pending lobby application; prints the leaf of the lobby_registered record."""
    with reported():
        published = common.make_client(url, admin=True).approve_lobby(lobby_id)
        _echo_published(f"lobby {lobby_id} registered", published)


@_lobby_app.command("suspend")
def suspend(
    lobby_id: Annotated[
        str, typer.Argument(metavar="LOBBY", help="The lobby to suspend (final).")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Public reason for the suspension.")],
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Suspend a lobby for good; prints the leaf of the lobby_suspended record."""
    with reported():
        published = common.make_client(url, admin=True).suspend_lobby(lobby_id, reason)
        _echo_published(f"lobby {lobby_id} suspended", published)
