"""Scope parsing and keys (DESIGN §4 ``scope``, §5 ``delegates``)."""

from __future__ import annotations

import pytest

from delegation import DelegationError, InvalidScope, Scope

_LONGEST = "q-" + "9" * 62  # identifiers are 1-64 chars


@pytest.mark.parametrize(
    ("obj", "scope", "key"),
    [
        ({"assembly": "city"}, Scope("assembly", "city"), "assembly:city"),
        ({"topic": "roads-2"}, Scope("topic", "roads-2"), "topic:roads-2"),
        ({"question": _LONGEST}, Scope("question", _LONGEST), f"question:{_LONGEST}"),
    ],
)
def test_from_json_to_key_and_back(obj: object, scope: Scope, key: str) -> None:
    parsed = Scope.from_json(obj)
    assert parsed == scope
    assert parsed.to_key() == key
    assert parsed.to_json() == obj
    assert Scope.from_json(parsed.to_json()) == parsed


def test_scopes_are_hashable_values() -> None:
    assert len({Scope("topic", "a"), Scope("topic", "a"), Scope("question", "a")}) == 2
    with pytest.raises(AttributeError):
        Scope("topic", "a").id = "b"  # type: ignore[misc]


@pytest.mark.parametrize(
    "obj",
    [
        None,
        "assembly:city",
        ["assembly", "city"],
        {},
        {"assembly": "city", "topic": "roads"},
        {"lobby": "city"},
        {"Assembly": "city"},
        {1: "city"},
        {"topic": None},
        {"topic": 7},
        {"topic": ""},
        {"topic": "Roads"},
        {"topic": "roads_2"},
        {"topic": "r" * 65},
        {"topic": "rués"},
        {"topic": "roads\n"},
    ],
)
def test_from_json_refuses_bad_shapes(obj: object) -> None:
    with pytest.raises(InvalidScope):
        Scope.from_json(obj)


def test_direct_construction_is_checked_too() -> None:
    with pytest.raises(InvalidScope):
        Scope("lobby", "x")  # type: ignore[arg-type]
    with pytest.raises(InvalidScope):
        Scope("topic", "")


def test_invalid_scope_is_a_value_error_and_a_delegation_error() -> None:
    with pytest.raises(ValueError, match="exactly one member"):
        Scope.from_json({})
    assert issubclass(InvalidScope, DelegationError)
