"""The public API of every package is its ``__all__``: sorted, complete, and importable."""

from __future__ import annotations

import importlib
import inspect

import pytest

PACKAGES = ["crypto", "ballot", "delegation", "lobby", "audit", "client"]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_unique_and_importable(name: str) -> None:
    # ruff's RUF022 keeps each __all__ sorted (isort style); here: no duplicates, all real.
    module = importlib.import_module(name)
    exported = module.__all__
    assert len(set(exported)) == len(exported)
    for item in exported:
        assert hasattr(module, item), f"{name}.{item} is in __all__ but missing"


@pytest.mark.parametrize("name", PACKAGES)
def test_every_public_name_is_exported(name: str) -> None:
    module = importlib.import_module(name)
    public = {
        item
        for item, value in vars(module).items()
        if not item.startswith("_")
        and not inspect.ismodule(value)
        and item != "annotations"
    }
    assert public == set(module.__all__)


@pytest.mark.parametrize("name", ["crypto", "ballot", "delegation", "lobby", "audit"])
def test_pure_packages_do_not_import_io_layers(name: str) -> None:
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parent.parent / name
    forbidden = re.compile(
        r"^\s*(from|import)\s+(fastapi|sqlalchemy|httpx|starlette|uvicorn|service|client)\b",
        re.MULTILINE,
    )
    for path in root.rglob("*.py"):
        assert forbidden.search(path.read_text()) is None, f"{path} imports an I/O layer"
