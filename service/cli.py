"""The ``isegoria`` command: ``serve`` the service, plus the admin, citizen, lobby and audit
commands of the client SDK (``client.cli``, ``client.audit_cli``)."""

from __future__ import annotations

import logging
import os

import typer

__all__ = ["app", "main"]

app = typer.Typer(
    name="isegoria",
    help="Anonymous, verifiable voting with liquid delegation, a lobby register and a public, "
    "signed Merkle board.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,  # rich tracebacks print local variables, secrets included
)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="TCP port to listen on."),
) -> None:
    """Run the isegoria server.

    Reads ISEGORIA_ADMIN_TOKEN (required, at least 16 characters), ISEGORIA_DATABASE_URL
    (default sqlite:///./isegoria.db; postgresql+psycopg://... in production) and the sealing
    key (ISEGORIA_SEALING_KEY or ISEGORIA_SEALING_KEY_FILE; SQLite only may create a key file
    beside the database). Migrations run at start; a new database gets its genesis leaf.
    The access log never holds client addresses.
    """
    import uvicorn
    from sqlalchemy.exc import SQLAlchemyError

    from service.app import create_app, start
    from service.errors import ConfigurationError
    from service.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        settings = Settings.from_env(os.environ)
        server_app = create_app(settings)
        # Migrate and write the genesis now, so that a database or key file that cannot be
        # used is one line here, not a traceback from the server's start-up.
        start(server_app.state.services)
    except ConfigurationError as exc:
        typer.echo(f"isegoria: {exc}", err=True)
        raise typer.Exit(2) from exc
    except OSError as exc:
        typer.echo(f"isegoria: {exc.strerror or exc}: {exc.filename or ''}", err=True)
        raise typer.Exit(2) from exc
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        typer.echo(f"isegoria: cannot use the database: {reason}", err=True)
        raise typer.Exit(2) from exc
    uvicorn.run(
        server_app,
        host=host,
        port=port,
        access_log=False,  # uvicorn's access log records client addresses; ours does not
        log_level="info",
        server_header=False,
    )


def _mount() -> None:
    from client.audit_cli import audit_app
    from client.cli import admin_app, citizen_app, lobby_app

    app.add_typer(admin_app, name="admin", help="Admin commands (ISEGORIA_ADMIN_TOKEN).")
    app.add_typer(citizen_app, name="citizen", help="A citizen's commands, from a sealed wallet.")
    app.add_typer(lobby_app, name="lobby", help="A lobby's commands, from its sealed key file.")
    app.add_typer(audit_app, name="audit", help="Verify the public board, receipts, tree heads.")


def main() -> None:
    _mount()
    app(prog_name="isegoria")


if __name__ == "__main__":  # pragma: no cover
    main()
