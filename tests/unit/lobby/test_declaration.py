"""validate_declaration: DESIGN §7 fields and §10 "Lobbies" rules, one refusal per case."""

from __future__ import annotations

from typing import Any

import pytest

from lobby import DECLARATION_FIELDS, InvalidDeclaration, LobbyError, validate_declaration

MAX_INT = 2**53 - 1


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
        "clients": [{"name": "Moulins SA", "registration_id": "987654321"}],
        "memberships": ["Confédération de l'artisanat"],
        "interests": ["urbanisme", "commerce"],
        "spend_band": {"min_eur": 10_000, "max_eur": 24_999},
        "targets": ["q-market-hours", "the opening hours of the market"],
    }


def refused(declaration: object) -> InvalidDeclaration:
    with pytest.raises(InvalidDeclaration) as info:
        validate_declaration(declaration)
    return info.value


OPTIONAL = ["usual_name", "website", "leaders", "memberships"]
REQUIRED = [f for f in DECLARATION_FIELDS if f not in OPTIONAL]


def test_fields_in_design_order() -> None:
    assert DECLARATION_FIELDS == (
        "legal_name", "usual_name", "registration_id", "id_type", "category", "address",
        "website", "leaders", "staff_count", "clients", "memberships", "interests",
        "spend_band", "fiscal_year", "targets",
    )  # fmt: skip
    assert set(full()) == set(DECLARATION_FIELDS)


def test_full_declaration_is_valid() -> None:
    validate_declaration(full())


def test_minimal_declaration_is_valid() -> None:
    validate_declaration(minimal())


def test_empty_optional_lists_are_valid() -> None:
    validate_declaration(minimal() | {"leaders": [], "memberships": []})


@pytest.mark.parametrize("id_type", ["SIREN", "RNA", "HATVP", "EU_TR", "other"])
def test_every_id_type(id_type: str) -> None:
    validate_declaration(minimal() | {"id_type": id_type})


@pytest.mark.parametrize(
    "category",
    [
        "company", "consultancy", "professional_body", "union", "chamber", "association",
        "foundation", "think_tank", "public_body", "other",
    ],
)  # fmt: skip
def test_every_category(category: str) -> None:
    validate_declaration(minimal() | {"category": category})


def test_bounds_are_inclusive() -> None:
    validate_declaration(
        minimal()
        | {
            "legal_name": "x" * 2000,
            "interests": ["i"] * 200,
            "staff_count": MAX_INT,
            "spend_band": {"min_eur": MAX_INT, "max_eur": MAX_INT},
            "fiscal_year": {"start": "2024-02-29", "end": "2024-02-29"},
        }
    )


def test_error_is_a_value_error_and_a_lobby_error() -> None:
    error = refused(None)
    assert isinstance(error, ValueError)
    assert isinstance(error, LobbyError)
    assert error.field == "declaration"


@pytest.mark.parametrize("value", [None, [], "declaration", 1, ()])
def test_not_an_object(value: object) -> None:
    assert refused(value).field == "declaration"


@pytest.mark.parametrize("field", REQUIRED)
def test_required_field_missing(field: str) -> None:
    declaration = full()
    del declaration[field]
    error = refused(declaration)
    assert error.field == field
    assert "missing" in str(error)


@pytest.mark.parametrize("field", REQUIRED)
def test_required_field_null(field: str) -> None:
    assert refused(full() | {field: None}).field == field


@pytest.mark.parametrize("field", OPTIONAL)
def test_optional_field_null(field: str) -> None:
    error = refused(minimal() | {field: None})
    assert error.field == field
    assert "absent" in str(error)


@pytest.mark.parametrize("key", ["lobby_id", "Legal_name", "acronym", ""])
def test_unknown_field(key: str) -> None:
    error = refused(full() | {key: "x"})
    assert error.field == key
    assert "unknown" in str(error)


def test_non_string_key_is_unknown() -> None:
    assert refused(full() | {1: "x"}).field == "1"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        # strings
        ({"legal_name": ""}, "legal_name"),
        ({"legal_name": 7}, "legal_name"),
        ({"legal_name": ["x"]}, "legal_name"),
        ({"legal_name": "x" * 2001}, "legal_name"),
        ({"legal_name": "a\ud800b"}, "legal_name"),
        ({"usual_name": ""}, "usual_name"),
        ({"usual_name": 1}, "usual_name"),
        ({"registration_id": ""}, "registration_id"),
        ({"registration_id": 123456789}, "registration_id"),
        ({"address": ""}, "address"),
        ({"address": {"street": "x"}}, "address"),
        ({"website": ""}, "website"),
        ({"website": False}, "website"),
        # enumerations
        ({"id_type": "siren"}, "id_type"),
        ({"id_type": "VAT"}, "id_type"),
        ({"id_type": 1}, "id_type"),
        ({"category": "lobby"}, "category"),
        ({"category": "think tank"}, "category"),
        ({"category": ["company"]}, "category"),
        # integers
        ({"staff_count": -1}, "staff_count"),
        ({"staff_count": True}, "staff_count"),
        ({"staff_count": False}, "staff_count"),
        ({"staff_count": 1.0}, "staff_count"),
        ({"staff_count": "3"}, "staff_count"),
        ({"staff_count": MAX_INT + 1}, "staff_count"),
        # lists of strings
        ({"leaders": "Anne"}, "leaders"),
        ({"leaders": [""]}, "leaders[0]"),
        ({"memberships": ["ok", 3]}, "memberships[1]"),
        ({"memberships": {"a": 1}}, "memberships"),
        ({"interests": ["x"] * 201}, "interests"),
        ({"interests": ["ok", None]}, "interests[1]"),
        ({"interests": ("a",)}, "interests"),
        ({"targets": "q-1"}, "targets"),
        ({"targets": ["q-1", ""]}, "targets[1]"),
        ({"targets": ["y" * 2001]}, "targets[0]"),
        # clients
        ({"clients": {"name": "a", "registration_id": "b"}}, "clients"),
        ({"clients": ["Moulins SA"]}, "clients[0]"),
        ({"clients": [{"name": "a"}]}, "clients[0].registration_id"),
        ({"clients": [{"registration_id": "b"}]}, "clients[0].name"),
        ({"clients": [{"name": "a", "registration_id": "b", "x": 1}]}, "clients[0].x"),
        ({"clients": [{"name": "", "registration_id": "b"}]}, "clients[0].name"),
        ({"clients": [{"name": "a", "registration_id": None}]}, "clients[0].registration_id"),
        ({"clients": [{"name": "a", "registration_id": "b"}] * 201}, "clients"),
        # spend band
        ({"spend_band": [0, 1]}, "spend_band"),
        ({"spend_band": {"min_eur": 0}}, "spend_band.max_eur"),
        ({"spend_band": {"max_eur": 0}}, "spend_band.min_eur"),
        ({"spend_band": {"min_eur": 0, "max_eur": 1, "currency": "EUR"}}, "spend_band.currency"),
        ({"spend_band": {"min_eur": 2, "max_eur": 1}}, "spend_band"),
        ({"spend_band": {"min_eur": -1, "max_eur": 1}}, "spend_band.min_eur"),
        ({"spend_band": {"min_eur": False, "max_eur": 1}}, "spend_band.min_eur"),
        ({"spend_band": {"min_eur": 0, "max_eur": True}}, "spend_band.max_eur"),
        ({"spend_band": {"min_eur": 0, "max_eur": 1.5}}, "spend_band.max_eur"),
        ({"spend_band": {"min_eur": 0, "max_eur": None}}, "spend_band.max_eur"),
        ({"spend_band": {"min_eur": 0, "max_eur": MAX_INT + 1}}, "spend_band.max_eur"),
        # fiscal year
        ({"fiscal_year": "2024"}, "fiscal_year"),
        ({"fiscal_year": {"start": "2024-01-01"}}, "fiscal_year.end"),
        ({"fiscal_year": {"end": "2024-01-01"}}, "fiscal_year.start"),
        ({"fiscal_year": {"start": "2024-01-01", "end": "2024-12-31", "y": 1}}, "fiscal_year.y"),
        ({"fiscal_year": {"start": "2024-12-31", "end": "2024-01-01"}}, "fiscal_year"),
        ({"fiscal_year": {"start": "2023-02-29", "end": "2024-01-01"}}, "fiscal_year.start"),
        ({"fiscal_year": {"start": "2024-01-01", "end": "2024-13-01"}}, "fiscal_year.end"),
        ({"fiscal_year": {"start": "2024-01-01", "end": "2024-04-31"}}, "fiscal_year.end"),
        ({"fiscal_year": {"start": "2024-1-01", "end": "2024-12-31"}}, "fiscal_year.start"),
        ({"fiscal_year": {"start": "20240101", "end": "2024-12-31"}}, "fiscal_year.start"),
        ({"fiscal_year": {"start": "2024-01-01T00:00", "end": "2024-12-31"}}, "fiscal_year.start"),
        ({"fiscal_year": {"start": "2024-01-01 ", "end": "2024-12-31"}}, "fiscal_year.start"),
        ({"fiscal_year": {"start": "２０２４-01-01", "end": "2024-12-31"}}, "fiscal_year.start"),
        ({"fiscal_year": {"start": 20240101, "end": "2024-12-31"}}, "fiscal_year.start"),
        ({"fiscal_year": {"start": "2024-01-01", "end": None}}, "fiscal_year.end"),
    ],
)
def test_refused(changes: dict[str, object], field: str) -> None:
    assert refused(full() | changes).field == field


def test_error_message_names_field() -> None:
    error = refused(full() | {"spend_band": {"min_eur": 5, "max_eur": 1}})
    assert str(error).startswith("spend_band: ")
    assert error.reason == "min_eur must not exceed max_eur"


def test_input_is_not_modified() -> None:
    declaration = full()
    validate_declaration(declaration)
    assert declaration == full()
