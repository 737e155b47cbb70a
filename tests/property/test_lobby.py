"""Properties of the lobby register CSV (DESIGN §5 ``GET /v1/lobbies.csv``, RFC 4180)."""

from __future__ import annotations

import csv
import datetime
import io
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lobby import CATEGORIES, ID_TYPES, csv_export, csv_header, validate_declaration

FORMULA_STARTS = ("=", "+", "-", "@")
MAX_INT = 2**53 - 1


def _readable(text: str) -> bool:
    return "; " not in text and not text.startswith("'")


def _no_paren(text: str) -> bool:
    return " (" not in text


def _client_part(text: str) -> bool:
    # "name (registration_id)" items joined by "; " read back unambiguously only without
    # these characters (e.g. a name ending in ";" would merge with the separator).
    return not any(c in text for c in ";()")


def _band(pair: list[int]) -> dict[str, int]:
    low, high = sorted(pair)
    return {"min_eur": low, "max_eur": high}


def _year(pair: list[datetime.date]) -> dict[str, str]:
    start, end = sorted(pair)
    return {"start": start.isoformat(), "end": end.isoformat()}


# Any valid Unicode text, including commas, quotes, CR, LF and NUL.
any_text = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=20)
# Text whose cell can be read back without ambiguity: no "; " (the list separator) and no leading
# "'" (the formula prefix is undone by dropping one leading "'").
plain_text = any_text.filter(_readable)
identifiers = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=64)
amounts = st.integers(0, MAX_INT)
spend_bands = st.lists(amounts, min_size=2, max_size=2).map(_band)
fiscal_years = st.lists(st.dates(), min_size=2, max_size=2).map(_year)


def declarations(text: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    # The client cell is "name (registration_id)": read back by splitting at the last " (".
    part = text.filter(_client_part)
    client = st.fixed_dictionaries({"name": part, "registration_id": part.filter(_no_paren)})
    texts = st.lists(text, max_size=4)
    return st.fixed_dictionaries(
        {
            "legal_name": text,
            "registration_id": text,
            "id_type": st.sampled_from(ID_TYPES),
            "category": st.sampled_from(CATEGORIES),
            "address": text,
            "staff_count": amounts,
            "clients": st.lists(client, max_size=3),
            "interests": texts,
            "spend_band": spend_bands,
            "fiscal_year": fiscal_years,
            "targets": texts,
        },
        optional={"usual_name": text, "website": text, "leaders": texts, "memberships": texts},
    )


def rows(text: st.SearchStrategy[str]) -> st.SearchStrategy[list[dict[str, Any]]]:
    row = st.fixed_dictionaries(
        {
            "lobby_id": identifiers,
            "status": st.sampled_from(["active", "suspended"]),
            "declaration": declarations(text),
        }
    )
    return st.lists(row, max_size=4)


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), strict=True))


def undo_prefix(cell: str) -> str:
    return cell[1:] if cell[:1] == "'" and cell[1:2] in FORMULA_STARTS else cell


def split(cell: str) -> list[str]:
    return cell.split("; ") if cell else []


def read_back(cells: dict[str, str]) -> dict[str, Any]:
    cells = {column: undo_prefix(cell) for column, cell in cells.items()}
    declaration: dict[str, Any] = {
        "legal_name": cells["legal_name"],
        "registration_id": cells["registration_id"],
        "id_type": cells["id_type"],
        "category": cells["category"],
        "address": cells["address"],
        "staff_count": int(cells["staff_count"]),
        "clients": [
            {"name": name, "registration_id": rest[:-1]}
            for name, rest in (item.rsplit(" (", 1) for item in split(cells["clients"]))
        ],
        "interests": split(cells["interests"]),
        "spend_band": {
            "min_eur": int(cells["spend_min_eur"]),
            "max_eur": int(cells["spend_max_eur"]),
        },
        "fiscal_year": {"start": cells["fiscal_year_start"], "end": cells["fiscal_year_end"]},
        "targets": split(cells["targets"]),
    }
    for name in ("usual_name", "website"):
        if cells[name]:
            declaration[name] = cells[name]
    for name in ("leaders", "memberships"):
        if cells[name]:
            declaration[name] = split(cells[name])
    return {"lobby_id": cells["lobby_id"], "status": cells["status"], "declaration": declaration}


def without_empty_optional_lists(row: dict[str, Any]) -> dict[str, Any]:
    # An absent optional list and an empty one both give an empty cell.
    declaration = {
        k: v
        for k, v in row["declaration"].items()
        if v != [] or k not in ("leaders", "memberships")
    }
    return row | {"declaration": declaration}


@settings(max_examples=40, deadline=None)
@given(rows(plain_text))
def test_round_trip(lobbies: list[dict[str, Any]]) -> None:
    for row in lobbies:
        validate_declaration(row["declaration"])
    header, *records = parse(csv_export(lobbies))
    assert header == csv_header()
    recovered = [read_back(dict(zip(header, record, strict=True))) for record in records]
    assert recovered == [without_empty_optional_lists(row) for row in lobbies]


@settings(max_examples=40, deadline=None)
@given(rows(any_text))
def test_any_text_keeps_the_shape_and_never_starts_a_formula(lobbies: list[dict[str, Any]]) -> None:
    text = csv_export(lobbies)
    records = parse(text)
    assert len(records) == len(lobbies) + 1
    assert all(len(record) == len(csv_header()) for record in records)
    assert text.endswith("\r\n")
    for record in records:
        for cell in record:
            assert not cell.startswith(FORMULA_STARTS)
