"""csv_export / csv_header (DESIGN §5 ``GET /v1/lobbies.csv``, RFC 4180) and lobby_result (§6)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

import pytest

from lobby import InvalidDeclaration, csv_export, csv_header, lobby_result

HEADER = [
    "lobby_id", "status", "legal_name", "usual_name", "registration_id", "id_type", "category",
    "address", "website", "leaders", "staff_count", "clients", "memberships", "interests",
    "spend_min_eur", "spend_max_eur", "fiscal_year_start", "fiscal_year_end", "targets",
]  # fmt: skip


def minimal() -> dict[str, Any]:
    return {
        "legal_name": "Fédération des boulangers",
        "registration_id": "123456789",
        "id_type": "SIREN",
        "category": "professional_body",
        "address": "1 rue du Pain, 75001 Paris",
        "staff_count": 0,
        "clients": [],
        "interests": [],
        "spend_band": {"min_eur": 0, "max_eur": 0},
        "fiscal_year": {"start": "2024-01-01", "end": "2024-12-31"},
        "targets": [],
    }


def full() -> dict[str, Any]:
    return minimal() | {
        "usual_name": "FdB",
        "website": "https://fdb.example",
        "leaders": ["Anne Martin", "Paul Durand"],
        "staff_count": 3,
        "clients": [
            {"name": "Moulins SA", "registration_id": "987654321"},
            {"name": "Blé d'or", "registration_id": "W751234567"},
        ],
        "memberships": ["Confédération de l'artisanat"],
        "interests": ["urbanisme", "commerce"],
        "spend_band": {"min_eur": 10_000, "max_eur": 24_999},
        "targets": ["q-market-hours"],
    }


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def one_row(
    declaration: dict[str, Any], lobby_id: str = "fdb", status: str = "active"
) -> dict[str, str]:
    header, row = parse(
        csv_export([{"lobby_id": lobby_id, "status": status, "declaration": declaration}])
    )
    assert header == HEADER
    return dict(zip(header, row, strict=True))


def test_header_order() -> None:
    assert csv_header() == HEADER


def test_header_is_a_fresh_list() -> None:
    csv_header().append("x")
    assert csv_header() == HEADER


def test_no_rows_is_the_header_line() -> None:
    assert csv_export([]) == ",".join(HEADER) + "\r\n"


def test_full_row() -> None:
    assert one_row(full()) == {
        "lobby_id": "fdb",
        "status": "active",
        "legal_name": "Fédération des boulangers",
        "usual_name": "FdB",
        "registration_id": "123456789",
        "id_type": "SIREN",
        "category": "professional_body",
        "address": "1 rue du Pain, 75001 Paris",
        "website": "https://fdb.example",
        "leaders": "Anne Martin; Paul Durand",
        "staff_count": "3",
        "clients": "Moulins SA (987654321); Blé d'or (W751234567)",
        "memberships": "Confédération de l'artisanat",
        "interests": "urbanisme; commerce",
        "spend_min_eur": "10000",
        "spend_max_eur": "24999",
        "fiscal_year_start": "2024-01-01",
        "fiscal_year_end": "2024-12-31",
        "targets": "q-market-hours",
    }


def test_absent_optionals_and_empty_lists_are_empty_cells() -> None:
    row = one_row(minimal())
    for column in (
        "usual_name",
        "website",
        "leaders",
        "memberships",
        "clients",
        "interests",
        "targets",
    ):
        assert row[column] == ""
    assert row["staff_count"] == "0"


def test_rows_keep_their_order_and_crlf_line_ends() -> None:
    rows = [
        {"lobby_id": "zeta", "status": "suspended", "declaration": minimal()},
        {"lobby_id": "alpha", "status": "active", "declaration": full()},
    ]
    text = csv_export(rows)
    assert text.endswith("\r\n")
    assert text.count("\r\n") == 3
    assert "\n" not in text.replace("\r\n", "")
    parsed = parse(text)
    assert [r[:2] for r in parsed[1:]] == [["zeta", "suspended"], ["alpha", "active"]]
    assert all(len(r) == len(HEADER) for r in parsed)


def test_commas_quotes_and_line_breaks_are_quoted() -> None:
    name = 'Les "Amis", du\r\nmarché\nouvert'
    text = csv_export(
        [{"lobby_id": "amis", "status": "active", "declaration": minimal() | {"legal_name": name}}]
    )
    # RFC 4180 §2 (6), (7): the field is enclosed in quotes and inner quotes are doubled.
    assert '"Les ""Amis"", du\r\nmarché\nouvert"' in text
    assert parse(text)[1][2] == name


def test_plain_cells_are_not_quoted() -> None:
    text = csv_export([{"lobby_id": "fdb", "status": "active", "declaration": full()}])
    assert text.splitlines()[1].startswith("fdb,active,Fédération des boulangers,FdB,")


@pytest.mark.parametrize(
    "cell", ['=HYPERLINK("http://x")', "+33 1 23", "-1+2", "@SUM(A1)", "=", "-"]
)
def test_formula_cells_are_prefixed(cell: str) -> None:
    row = one_row(minimal() | {"legal_name": cell, "interests": [cell, "b"], "address": cell})
    assert row["legal_name"] == "'" + cell
    assert row["address"] == "'" + cell
    assert row["interests"] == "'" + cell + "; b"


def test_formula_prefix_applies_to_lobby_id_and_status() -> None:
    row = one_row(minimal(), lobby_id="-cmd", status="@x")
    assert row["lobby_id"] == "'-cmd"
    assert row["status"] == "'@x"


def test_formula_prefix_applies_to_a_client_cell() -> None:
    row = one_row(minimal() | {"clients": [{"name": "=evil", "registration_id": "1"}]})
    assert row["clients"] == "'=evil (1)"


@pytest.mark.parametrize("cell", ["a=b", "'=x", " =x", "x-y", "1+1", "\t=x"])
def test_other_cells_are_left_alone(cell: str) -> None:
    assert one_row(minimal() | {"legal_name": cell})["legal_name"] == cell


def test_only_the_cell_start_is_escaped() -> None:
    row = one_row(minimal() | {"interests": ["ok", "=later"]})
    assert row["interests"] == "ok; =later"


def test_invalid_declaration_is_refused() -> None:
    with pytest.raises(InvalidDeclaration) as info:
        csv_export(
            [{"lobby_id": "x", "status": "active", "declaration": minimal() | {"staff_count": -1}}]
        )
    assert info.value.field == "staff_count"


def test_non_string_status_is_refused() -> None:
    with pytest.raises(TypeError):
        csv_export([{"lobby_id": "x", "status": None, "declaration": minimal()}])


class FakeCount:
    def __init__(self) -> None:
        self.calls: list[list[tuple[object, int]]] = []

    def __call__(self, weighted: Iterable[tuple[object, int]]) -> dict[str, object]:
        pairs = list(weighted)
        self.calls.append(pairs)
        counts: dict[str, int] = {"yes": 0, "no": 0}
        for choice, weight in pairs:
            assert isinstance(choice, str)
            counts[choice] += weight
        return {"method": "single", "counts": counts, "ranking": ["yes", "no"]}


def test_lobby_result_sorts_positions_and_keeps_only_counts() -> None:
    count = FakeCount()
    result = lobby_result({"zeta": "no", "alpha": "yes", "mid": "yes"}, count)
    assert result == {
        "positions": [
            {"lobby_id": "alpha", "choice": "yes"},
            {"lobby_id": "mid", "choice": "yes"},
            {"lobby_id": "zeta", "choice": "no"},
        ],
        "counts": {"yes": 2, "no": 1},
    }
    assert count.calls == [[("yes", 1), ("yes", 1), ("no", 1)]]


def test_lobby_result_without_positions_still_counts() -> None:
    count = FakeCount()
    assert lobby_result({}, count) == {"positions": [], "counts": {"yes": 0, "no": 0}}
    assert count.calls == [[]]


def test_lobby_result_passes_choices_through_unchanged() -> None:
    choice = ["b", "a"]
    seen: list[object] = []

    def count(weighted: Iterable[tuple[object, int]]) -> dict[str, object]:
        seen.extend(c for c, _ in weighted)
        return {"counts": {"a": 1, "b": 1}}

    result = lobby_result({"l1": choice}, count)
    assert seen == [choice]
    assert result["positions"] == [{"lobby_id": "l1", "choice": ["b", "a"]}]
