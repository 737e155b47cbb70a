"""Errors raised by the ``lobby`` package.

::

    LobbyError
    └── InvalidDeclaration (also ValueError)   a declaration outside DESIGN §7 / §10 ("Lobbies")
"""

from __future__ import annotations

__all__ = ["InvalidDeclaration", "LobbyError"]


class LobbyError(Exception):
    """Base of every error raised by the lobby package."""


class InvalidDeclaration(LobbyError, ValueError):
    """A lobby declaration is malformed; ``field`` names the offending field (dotted path)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
