"""Lobby declarations, the public register's CSV and the separate lobby tally (pure).

DESIGN §7 (the register), §5 (``GET /v1/lobbies.csv``), §6 (lobby positions tallied apart from
citizens' ballots) and §10 "Lobbies".
"""

from __future__ import annotations

from lobby.declaration import CATEGORIES, DECLARATION_FIELDS, ID_TYPES, validate_declaration
from lobby.errors import InvalidDeclaration, LobbyError
from lobby.register import csv_export, csv_header, lobby_result

__all__ = [
    "CATEGORIES",
    "DECLARATION_FIELDS",
    "ID_TYPES",
    "InvalidDeclaration",
    "LobbyError",
    "csv_export",
    "csv_header",
    "lobby_result",
    "validate_declaration",
]
