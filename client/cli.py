"""The client's command-line apps, mounted by ``service/cli.py`` under ``isegoria``.

``admin_app`` (``isegoria admin``), ``citizen_app`` (``isegoria citizen``) and ``lobby_app``
(``isegoria lobby``) are thin: each command reads its input, calls the SDK, prints one result.
"""

from __future__ import annotations

from client._cli_admin import admin_app
from client._cli_citizen import citizen_app
from client._cli_lobby import lobby_app

__all__ = ["admin_app", "citizen_app", "lobby_app"]
