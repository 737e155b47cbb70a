"""A lobby's public declaration: DESIGN §7 (fields) and §10 "Lobbies" (exact rules).

The fields follow the French HATVP "répertoire des représentants d'intérêts" and the EU
Transparency Register. Unknown fields are refused and optional fields are absent when unused,
never null (§10 "Encoding and parsing").

Bounds beyond the design (so that one declaration cannot bloat the board): every string holds at
most 2,000 characters and every list at most 200 items. Integers are ``int`` (never ``bool``)
within 0 … 2^53 - 1, the JCS range of §3.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Final

from lobby.errors import InvalidDeclaration

__all__ = ["CATEGORIES", "DECLARATION_FIELDS", "ID_TYPES", "validate_declaration"]

DECLARATION_FIELDS: Final[tuple[str, ...]] = (
    "legal_name",
    "usual_name",
    "registration_id",
    "id_type",
    "category",
    "address",
    "website",
    "leaders",
    "staff_count",
    "clients",
    "memberships",
    "interests",
    "spend_band",
    "fiscal_year",
    "targets",
)
ID_TYPES: Final[tuple[str, ...]] = ("SIREN", "RNA", "HATVP", "EU_TR", "other")
CATEGORIES: Final[tuple[str, ...]] = (
    "company",
    "consultancy",
    "professional_body",
    "union",
    "chamber",
    "association",
    "foundation",
    "think_tank",
    "public_body",
    "other",
)

_OPTIONAL: Final = frozenset({"usual_name", "website", "leaders", "memberships"})
_MAX_TEXT: Final = 2_000
_MAX_ITEMS: Final = 200
_MAX_INT: Final = 2**53 - 1
# ASCII digits only: ``\d`` would also match other scripts' digits.
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def validate_declaration(obj: object) -> None:
    """Check ``obj`` is a declaration as DESIGN §7 and §10 say, else raise InvalidDeclaration."""
    if not isinstance(obj, dict):
        raise InvalidDeclaration("declaration", "must be an object")
    unknown = sorted(k if isinstance(k, str) else repr(k) for k in obj if k not in _CHECKS)
    if unknown:
        raise InvalidDeclaration(unknown[0], "unknown field")
    for name in DECLARATION_FIELDS:
        if name not in obj:
            if name in _OPTIONAL:
                continue
            raise InvalidDeclaration(name, "required field is missing")
        value = obj[name]
        if value is None and name in _OPTIONAL:
            raise InvalidDeclaration(name, "must be absent when unused, not null")
        _CHECKS[name](name, value)


def _text(path: str, value: object) -> None:
    if not isinstance(value, str):
        raise InvalidDeclaration(path, "must be a string")
    if not value:
        raise InvalidDeclaration(path, "must not be empty")
    if len(value) > _MAX_TEXT:
        raise InvalidDeclaration(path, f"must hold at most {_MAX_TEXT} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate cannot be written as JCS bytes (§10: strings are valid Unicode).
        raise InvalidDeclaration(path, "must be valid Unicode") from None


def _one_of(allowed: tuple[str, ...]) -> Callable[[str, object], None]:
    def check(path: str, value: object) -> None:
        if not isinstance(value, str) or value not in allowed:
            raise InvalidDeclaration(path, f"must be one of {', '.join(allowed)}")

    return check


def _integer(path: str, value: object) -> int:
    # bool is a subclass of int; JSON true is not a number.
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidDeclaration(path, "must be an integer")
    if not 0 <= value <= _MAX_INT:
        raise InvalidDeclaration(path, "must be an integer from 0 to 2^53 - 1")
    return value


def _count(path: str, value: object) -> None:
    _integer(path, value)


def _list(path: str, value: object) -> list[object]:
    if not isinstance(value, list):
        raise InvalidDeclaration(path, "must be a list")
    if len(value) > _MAX_ITEMS:
        raise InvalidDeclaration(path, f"must hold at most {_MAX_ITEMS} items")
    return value


def _texts(path: str, value: object) -> None:
    for i, item in enumerate(_list(path, value)):
        _text(f"{path}[{i}]", item)


def _exact(path: str, value: object, keys: tuple[str, ...]) -> dict[str, object]:
    if not isinstance(value, dict):
        raise InvalidDeclaration(path, "must be an object")
    for key in value:
        if key not in keys:
            raise InvalidDeclaration(f"{path}.{key}", "unknown field")
    for key in keys:
        if key not in value:
            raise InvalidDeclaration(f"{path}.{key}", "required field is missing")
    return value


def _clients(path: str, value: object) -> None:
    for i, item in enumerate(_list(path, value)):
        client = _exact(f"{path}[{i}]", item, ("name", "registration_id"))
        _text(f"{path}[{i}].name", client["name"])
        _text(f"{path}[{i}].registration_id", client["registration_id"])


def _spend_band(path: str, value: object) -> None:
    band = _exact(path, value, ("min_eur", "max_eur"))
    low = _integer(f"{path}.min_eur", band["min_eur"])
    high = _integer(f"{path}.max_eur", band["max_eur"])
    if low > high:
        raise InvalidDeclaration(path, "min_eur must not exceed max_eur")


def _date(path: str, value: object) -> datetime.date:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise InvalidDeclaration(path, "must be a date YYYY-MM-DD")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise InvalidDeclaration(path, "must be a real calendar date") from None


def _fiscal_year(path: str, value: object) -> None:
    year = _exact(path, value, ("start", "end"))
    start = _date(f"{path}.start", year["start"])
    end = _date(f"{path}.end", year["end"])
    if start > end:
        raise InvalidDeclaration(path, "start must not be after end")


_CHECKS: Final[dict[str, Callable[[str, object], None]]] = {
    "legal_name": _text,
    "usual_name": _text,
    "registration_id": _text,
    "id_type": _one_of(ID_TYPES),
    "category": _one_of(CATEGORIES),
    "address": _text,
    "website": _text,
    "leaders": _texts,
    "staff_count": _count,
    "clients": _clients,
    "memberships": _texts,
    "interests": _texts,
    "spend_band": _spend_band,
    "fiscal_year": _fiscal_year,
    "targets": _texts,
}
