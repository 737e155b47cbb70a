"""The pinned public API of the client package, and the admin helpers (client/admin.py)."""

from __future__ import annotations

import inspect
import stat
from pathlib import Path

import pytest

import client
from client import ClientError, UsageError, errors
from client.admin import codes_csv, parse_option, read_roll, write_codes


def test_all_is_sorted_and_complete() -> None:
    public = {name for name in vars(client) if not name.startswith("_")}
    modules = {name for name, value in vars(client).items() if inspect.ismodule(value)}
    assert client.__all__ == sorted(client.__all__, key=lambda n: (not n.isupper(), n))
    assert set(client.__all__) == public - modules - {"annotations"}


def test_every_error_descends_from_client_error() -> None:
    for name in errors.__all__:
        value = getattr(errors, name)
        if isinstance(value, type):
            assert issubclass(value, ClientError), name
    assert issubclass(errors.UsageError, ValueError)
    assert issubclass(errors.MalformedResponse, ValueError)
    assert issubclass(errors.EnrollmentCodeUsed, errors.Conflict)


@pytest.mark.parametrize(
    ("spec", "option"),
    [
        ("a=Park", {"id": "a", "title": "Park"}),
        ("a=Park:120", {"id": "a", "title": "Park", "cost": 120}),
        ("a=Park: phase 2", {"id": "a", "title": "Park: phase 2"}),
        ("a=Park: phase 2:40", {"id": "a", "title": "Park: phase 2", "cost": 40}),
        ("a=:40", {"id": "a", "title": ":40"}),
    ],
)
def test_parse_option(spec: str, option: dict[str, object]) -> None:
    assert parse_option(spec) == option


@pytest.mark.parametrize("spec", ["a", "=Park", "a="])
def test_parse_option_refuses(spec: str) -> None:
    with pytest.raises(UsageError):
        parse_option(spec)


def test_read_roll(tmp_path: Path) -> None:
    path = tmp_path / "voters.txt"
    path.write_text(" v1 \n\nv2\nv1\n")
    assert read_roll(path) == ["v1", "v2"]
    path.write_text("\n \n")
    with pytest.raises(UsageError, match="no reference"):
        read_roll(path)
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(UsageError):
        read_roll(path)


def test_codes_file(tmp_path: Path) -> None:
    text = codes_csv({"b": "2", "a,x": "1"})
    assert text == 'ref,code\r\n"a,x",1\r\nb,2\r\n'
    path = tmp_path / "codes.csv"
    write_codes(path, text)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(UsageError, match="already exists"):
        write_codes(path, "other")
    assert path.read_bytes() == text.encode()
