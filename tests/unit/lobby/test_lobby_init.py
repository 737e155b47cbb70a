"""The lobby package's public API and error tree."""

from __future__ import annotations

import lobby
from lobby import InvalidDeclaration, LobbyError


def test_public_api_is_pinned() -> None:
    assert lobby.__all__ == [
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
    assert sorted(lobby.__all__) == lobby.__all__
    for name in lobby.__all__:
        assert hasattr(lobby, name)


def test_error_tree() -> None:
    assert issubclass(InvalidDeclaration, LobbyError)
    assert issubclass(InvalidDeclaration, ValueError)
    assert issubclass(LobbyError, Exception)
    assert not issubclass(LobbyError, ValueError)
