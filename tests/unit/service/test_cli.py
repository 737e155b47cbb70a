"""The ``isegoria`` command: the README shows its real help, and ``serve`` refuses to start
without an admin token."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from service.cli import _mount, app

README = Path(__file__).resolve().parents[3] / "README.md"


def _help(*args: str) -> str:
    _mount()
    result = CliRunner().invoke(app, [*args, "--help"], prog_name="isegoria", terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


def test_readme_shows_the_real_top_level_help() -> None:
    block = re.search(r"\$ isegoria --help\n(.*?)```", README.read_text(), re.DOTALL)
    assert block is not None, "README.md lost its `isegoria --help` block"
    assert block.group(1).rstrip() == _help().rstrip()


def test_every_group_has_help() -> None:
    for group in ("serve", "admin", "citizen", "lobby", "audit"):
        assert "Usage: isegoria" in _help(group)


def test_serve_refuses_to_start_without_an_admin_token() -> None:
    _mount()
    result = CliRunner().invoke(app, ["serve"], env={"ISEGORIA_ADMIN_TOKEN": ""})
    assert result.exit_code == 2
    assert "ISEGORIA_ADMIN_TOKEN" in result.output


def test_serve_names_a_database_it_cannot_use_in_one_line(tmp_path: Path) -> None:
    _mount()
    missing = tmp_path / "no-such-dir" / "board.db"
    env: dict[str, str | None] = {
        "ISEGORIA_ADMIN_TOKEN": "admin-token-for-tests-0123456789",
        "ISEGORIA_DATABASE_URL": f"sqlite:///{missing}",
        "ISEGORIA_SEALING_KEY": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "ISEGORIA_SEALING_KEY_FILE": None,
    }
    result = CliRunner().invoke(app, ["serve"], env=env)
    assert result.exit_code == 2
    assert "cannot use the database" in result.output
    assert "Traceback" not in result.output
    env["ISEGORIA_SEALING_KEY"] = None  # SQLite: a key file beside the database, not makeable
    result = CliRunner().invoke(app, ["serve"], env=env)
    assert result.exit_code == 2
    assert "No such file or directory" in result.output
    assert "Traceback" not in result.output
