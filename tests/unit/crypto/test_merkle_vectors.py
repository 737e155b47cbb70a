"""transparency-dev/merkle RFC 9162 proof vectors (tests/vectors/README.md gives the source)."""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from crypto.errors import InvalidProof
from crypto.merkle import HASH_SIZE, verify_consistency, verify_inclusion

VECTORS = Path(__file__).parents[2] / "vectors" / "rfc6962-merkle"
INCLUSION = sorted((VECTORS / "inclusion").rglob("*.json"))
CONSISTENCY = sorted((VECTORS / "consistency").rglob("*.json"))
INCLUSION_FIELDS = {"leafIdx", "treeSize", "root", "leafHash", "proof", "desc", "wantErr"}
CONSISTENCY_FIELDS = {"size1", "size2", "root1", "root2", "proof", "desc", "wantErr"}

# Upstream expects success here: its placeholder roots are 12 bytes ("don't care 2"), and it
# returns early on size1 == size2 without checking lengths. We check every hash is 32 bytes
# first, so we reject it (a root of another length is never a SHA-256 tree head).
STRICTER_THAN_UPSTREAM = {"consistency/additional/sizes-are-equal-one-and-proof-is-empty.json"}


def _name(path: Path) -> str:
    return path.relative_to(VECTORS).as_posix()


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _proof(data: dict[str, Any]) -> list[bytes]:
    proof: list[str] | None = data["proof"]
    return [] if proof is None else [_b64(element) for element in proof]


def test_file_layout() -> None:
    def per_dir(files: list[Path]) -> dict[str, int]:
        return dict(Counter(path.parent.relative_to(VECTORS).as_posix() for path in files))

    assert per_dir(INCLUSION) == {
        "inclusion/0": 13,
        "inclusion/1": 18,
        "inclusion/2": 18,
        "inclusion/3": 15,
        "inclusion/4": 18,
        "inclusion/additional/0": 3,
        "inclusion/additional/1": 3,
        "inclusion/additional/2": 3,
        "inclusion/additional/3": 3,
        "inclusion/single-entry": 4,
    }
    assert per_dir(CONSISTENCY) == {
        "consistency/0": 1,
        "consistency/1": 21,
        "consistency/2": 21,
        "consistency/3": 20,
        "consistency/4": 21,
        "consistency/additional": 14,
    }
    assert (VECTORS / "LICENSE-Apache-2.0.txt").is_file()
    assert {path.name for path in VECTORS.iterdir()} == {
        "LICENSE-Apache-2.0.txt",
        "consistency",
        "inclusion",
    }


def test_fields_and_encoding() -> None:
    happy = 0
    for path, fields in [(p, INCLUSION_FIELDS) for p in INCLUSION] + [
        (p, CONSISTENCY_FIELDS) for p in CONSISTENCY
    ]:
        data = _load(path)
        assert set(data) == fields, path
        assert isinstance(data["wantErr"], bool)
        assert data["proof"] is None or isinstance(data["proof"], list)
        for key in fields - {"desc", "wantErr", "proof"}:
            value = data[key]
            if isinstance(value, str):
                _b64(value)  # every hash field is standard base64 with padding
            else:
                assert isinstance(value, int) and not isinstance(value, bool)
        if data["desc"] == "happy path":
            happy += 1
            assert not data["wantErr"]
            assert all(len(element) == HASH_SIZE for element in _proof(data))
    assert happy == 10  # one per numbered directory: inclusion/0..4, consistency/0..4
    with pytest.raises(binascii.Error):
        _b64("bjQLnP-zepicpUTmu3gKLHiQHT-zNzh2hRGjBhevoB0=")  # base64url is not accepted


@pytest.mark.parametrize("path", INCLUSION, ids=_name)
def test_inclusion(path: Path) -> None:
    data = _load(path)
    args = (
        _b64(data["leafHash"]),
        data["leafIdx"],
        data["treeSize"],
        _proof(data),
        _b64(data["root"]),
    )
    if data["wantErr"]:
        with pytest.raises(InvalidProof):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("path", CONSISTENCY, ids=_name)
def test_consistency(path: Path) -> None:
    data = _load(path)
    args = (
        data["size1"],
        data["size2"],
        _proof(data),
        _b64(data["root1"]),
        _b64(data["root2"]),
    )
    if data["wantErr"] or _name(path) in STRICTER_THAN_UPSTREAM:
        with pytest.raises(InvalidProof):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_the_one_deviation_is_about_hash_length() -> None:
    (name,) = STRICTER_THAN_UPSTREAM
    data = _load(VECTORS / name)
    assert not data["wantErr"]
    assert data["size1"] == data["size2"] == 1
    assert data["root1"] == data["root2"]
    assert len(_b64(data["root1"])) == 12
    assert _proof(data) == []
    with pytest.raises(InvalidProof, match="32 bytes"):
        verify_consistency(1, 1, [], _b64(data["root1"]), _b64(data["root2"]))
    # The same case with real 32-byte roots passes, as upstream's does.
    real = bytes(range(32))
    verify_consistency(1, 1, [], real, real)
