"""``isegoria lobby``: make a lobby key, apply to the register, publish positions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from audit import Malformed
from audit.records import identifier
from client import _cli_common as common
from client._cli_common import UrlOption, reported
from client._client import DEFAULT_URL
from client.board import find_question
from client.errors import UsageError
from client.lobby import LobbyAgent
from client.wallet import LobbyKeyFile

__all__ = ["lobby_app"]

lobby_app = common.new_typer(
    "A lobby's commands. The lobby key lives in a file sealed with a passphrase "
    "(ISEGORIA_PASSPHRASE, or asked without echo)."
)

KeyFileOption = Annotated[
    Path,
    typer.Option(
        "--key-file",
        help="The sealed lobby key file (created by keygen). Its passphrase comes from "
        "ISEGORIA_PASSPHRASE, else it is asked without echo, else read as one line of stdin.",
    ),
]


def _agent(key_file: Path, url: str) -> LobbyAgent:
    return LobbyAgent(common.make_client(url), LobbyKeyFile.open(key_file, common.passphrase()))


@lobby_app.command("keygen")
def keygen(
    key_file: KeyFileOption,
    lobby_id: Annotated[
        str, typer.Option("--lobby-id", help="The lobby's identifier: 1-64 of [a-z0-9-].")
    ],
) -> None:
    """Make a new lobby key in a new sealed file (never overwrites); prints the public key."""
    with reported():
        try:
            identifier(lobby_id, "--lobby-id")  # checked now: the key file is bound to it
        except Malformed as exc:
            raise UsageError(str(exc)) from exc
        created = LobbyKeyFile.create(
            key_file, common.passphrase(confirm=True), lobby_id, limits=common.kdf_limits
        )
        typer.echo(f"lobby {lobby_id}: key {created.public_key} sealed in {key_file}")


@lobby_app.command("apply")
def apply(
    key_file: KeyFileOption,
    declaration: Annotated[
        Path,
        typer.Option(
            "--declaration", help="JSON file with the declaration (HATVP / EU register fields)."
        ),
    ],
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Apply to the lobby register (or re-declare), signed with the lobby key.

    The declaration is a JSON object with exactly these members (docs/PROTOCOL.md §7.1):
    legal_name, registration_id, address (strings); id_type (SIREN, RNA, HATVP, EU_TR or
    other); category (company, consultancy, professional_body, union, chamber, association,
    foundation, think_tank, public_body or other); staff_count (integer); clients (a list of
    {"name", "registration_id"}, empty when the lobby acts for itself); interests and targets
    (lists of strings); spend_band {"min_eur", "max_eur"} (integers); fiscal_year {"start",
    "end"} (YYYY-MM-DD); and, optionally, usual_name, website, leaders, memberships.

    The declaration is checked locally first; an invalid one exits 2. Prints the status:
    pending until an admin approves it.
    """
    with reported():
        content = common.read_json_file(declaration, "declaration")
        if not isinstance(content, dict):
            raise UsageError(f"the declaration {declaration} must be a JSON object")
        agent = _agent(key_file, url)
        answer = agent.apply(content)
        typer.echo(f"lobby {agent.lobby_id}: application {answer.get('status')}")


@lobby_app.command("position")
def position(
    key_file: KeyFileOption,
    question_id: Annotated[str, typer.Argument(metavar="QUESTION", help="The question.")],
    choices: Annotated[
        list[str] | None,
        typer.Argument(metavar="CHOICE", help="Option ids, in the shape the method expects."),
    ] = None,
    statement: Annotated[
        str, typer.Option("--statement", help="The lobby's public statement (required).")
    ] = "",
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Publish the lobby's position on a question (tallied apart from citizens).

    Reads the question's method and options from the board first.
    """
    with reported():
        if not statement:
            raise UsageError("a position needs --statement: the lobby's public statement")
        agent = _agent(key_file, url)
        question = find_question(agent.client, question_id, pinned=agent.authority_key())
        choice = common.build_choice(question, choices or [])
        common.echo_receipt(
            f"position on {question_id}", agent.position(question_id, choice, statement)
        )
