"""The public lobby register as CSV, and the separate lobby column of a tally.

CSV: DESIGN §5 (``GET /v1/lobbies.csv``) in RFC 4180 form (§2: CRLF line ends, a header row,
fields holding a comma, a double quote or a line break quoted, quotes doubled). A cell starting
with one of ``= + - @`` is prefixed with ``'`` so that a spreadsheet does not run it as a formula.

Tally: DESIGN §6, ``"lobbies": {"positions": [{"lobby_id", "choice"}], "counts": {...}}``, each
lobby's latest position counted once with weight 1 through the question method's own counting.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping
from typing import Final, TypeVar

from lobby.declaration import DECLARATION_FIELDS, validate_declaration

__all__ = ["csv_export", "csv_header", "lobby_result"]

_C = TypeVar("_C")  # a choice, as the question's method shapes it

_LIST_SEPARATOR: Final = "; "
_FORMULA_STARTS: Final = ("=", "+", "-", "@")
# Declaration fields written as two columns each, in this order.
_SPLIT_COLUMNS: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "spend_band": (("spend_min_eur", "min_eur"), ("spend_max_eur", "max_eur")),
    "fiscal_year": (("fiscal_year_start", "start"), ("fiscal_year_end", "end")),
}


def csv_header() -> list[str]:
    """The column names of the register's CSV, in order."""
    header = ["lobby_id", "status"]
    for name in DECLARATION_FIELDS:
        if name in _SPLIT_COLUMNS:
            header.extend(column for column, _ in _SPLIT_COLUMNS[name])
        else:
            header.append(name)
    return header


def csv_export(rows: Iterable[Mapping[str, object]]) -> str:
    """The register as RFC 4180 CSV; each row is ``{"lobby_id", "status", "declaration"}``.

    Each declaration is validated first (InvalidDeclaration); ``lobby_id`` and ``status`` must be
    strings (TypeError).
    """
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(csv_header())
    for row in rows:
        writer.writerow([_defused(cell) for cell in _cells(row)])
    return out.getvalue()


def lobby_result(
    positions: Mapping[str, _C],
    count: Callable[[Iterable[tuple[_C, int]]], Mapping[str, object]],
) -> dict[str, object]:
    """The lobby column of a tally from each lobby's latest ``choice`` (``lobby_id`` → choice).

    ``count`` is the question method's counting function, bound to the question: it takes
    ``(choice, weight)`` pairs and returns a result holding ``"counts"``.
    """
    ordered = sorted(positions.items())
    counted = count([(choice, 1) for _, choice in ordered])
    return {
        "positions": [{"lobby_id": lobby_id, "choice": choice} for lobby_id, choice in ordered],
        "counts": counted["counts"],
    }


def _cells(row: Mapping[str, object]) -> list[str]:
    lobby_id, status, declaration = row["lobby_id"], row["status"], row["declaration"]
    if not isinstance(lobby_id, str) or not isinstance(status, str):
        raise TypeError("lobby_id and status must be strings")
    validate_declaration(declaration)
    assert isinstance(declaration, dict)  # validate_declaration refuses anything else
    cells = [lobby_id, status]
    for name in DECLARATION_FIELDS:
        value = declaration.get(name)
        if name in _SPLIT_COLUMNS:
            assert isinstance(value, dict)
            cells.extend(_text(value[key]) for _, key in _SPLIT_COLUMNS[name])
        else:
            cells.append(_text(value))
    return cells


def _text(value: object) -> str:
    if value is None:  # an absent optional field
        return ""
    if isinstance(value, list):
        return _LIST_SEPARATOR.join(_text(item) for item in value)
    if isinstance(value, dict):  # a client
        return f"{value['name']} ({value['registration_id']})"
    return str(value)


def _defused(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell
