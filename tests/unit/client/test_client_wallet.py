"""Sealed wallets and lobby key files (client/wallet.py): round trip, passphrase, atomicity."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from client import (
    LobbyKeyFile,
    Receipt,
    StoredReceipt,
    Wallet,
    WalletError,
    WrongPassphrase,
    read_sealed_json,
    write_sealed_json,
)
from tests.unit.client.client_fakes import PASSPHRASE, TINY, FakeServer


def test_round_trip(wallet: Wallet, wallet_path: Path, server: FakeServer) -> None:
    wallet.seq = 7
    wallet.authority_key = server.authority.public_key_b64u
    wallet.pending = {"record": {"type": "ballot"}, "signer": "s", "sig": "t"}
    wallet.enrollment = {"msg_prefix": "abc"}
    wallet.receipts.append(
        StoredReceipt({"record": {"type": "pseudonym"}}, Receipt.from_json(server.receipt(1)))
    )
    wallet.save()
    opened = Wallet.open(wallet_path, PASSPHRASE)
    assert opened.pseudonym == wallet.pseudonym
    assert opened.signing_key.seed() == wallet.signing_key.seed()
    assert opened.assembly_id == "city"
    assert (opened.seq, opened.authority_key) == (7, server.authority.public_key_b64u)
    assert opened.pending == wallet.pending
    assert opened.enrollment == {"msg_prefix": "abc"}
    assert opened.receipts == wallet.receipts
    assert opened.enrolled
    assert opened.to_json() == wallet.to_json()


def test_new_wallet_is_empty_and_private(wallet: Wallet, wallet_path: Path) -> None:
    assert (wallet.seq, wallet.pending, wallet.receipts, wallet.enrolled) == (0, None, [], False)
    assert stat.S_IMODE(wallet_path.stat().st_mode) == 0o600
    assert b"city" not in wallet_path.read_bytes()  # sealed, not in clear


def test_wrong_passphrase(wallet: Wallet, wallet_path: Path) -> None:
    with pytest.raises(WrongPassphrase):
        Wallet.open(wallet_path, b"wrong")


def test_altered_file_does_not_open(wallet: Wallet, wallet_path: Path) -> None:
    data = bytearray(wallet_path.read_bytes())
    data[-1] ^= 1
    wallet_path.write_bytes(bytes(data))
    with pytest.raises(WrongPassphrase):
        Wallet.open(wallet_path, PASSPHRASE)


def test_missing_and_garbage_files(tmp_path: Path) -> None:
    with pytest.raises(WalletError, match="cannot read"):
        Wallet.open(tmp_path / "none", PASSPHRASE)
    (tmp_path / "junk").write_bytes(b"junk")
    with pytest.raises(WalletError):
        Wallet.open(tmp_path / "junk", PASSPHRASE)


def test_create_never_overwrites(wallet: Wallet, wallet_path: Path) -> None:
    before = wallet_path.read_bytes()
    with pytest.raises(WalletError, match="already exists"):
        Wallet.create(wallet_path, PASSPHRASE, "city", limits=TINY)
    assert wallet_path.read_bytes() == before
    assert os.listdir(wallet_path.parent) == [wallet_path.name]


def test_failed_save_leaves_the_old_file_whole(
    wallet: Wallet, wallet_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wallet.seq = 1
    wallet.save()

    def crash(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    wallet.seq = 2
    with pytest.raises(WalletError, match="No space left"):
        wallet.save()
    monkeypatch.undo()
    assert Wallet.open(wallet_path, PASSPHRASE).seq == 1
    assert os.listdir(wallet_path.parent) == [wallet_path.name]  # no temp file left


def test_save_replaces_atomically_and_keeps_mode(wallet: Wallet, wallet_path: Path) -> None:
    inode = wallet_path.stat().st_ino
    wallet.seq = 3
    wallet.save()
    assert wallet_path.stat().st_ino != inode  # a new file renamed over the old one
    assert stat.S_IMODE(wallet_path.stat().st_mode) == 0o600
    assert Wallet.open(wallet_path, PASSPHRASE).seq == 3


def test_kinds_do_not_open_as_each_other(tmp_path: Path) -> None:
    LobbyKeyFile.create(tmp_path / "lobby.key", PASSPHRASE, "acme", limits=TINY)
    with pytest.raises(WrongPassphrase):
        Wallet.open(tmp_path / "lobby.key", PASSPHRASE)
    opened = LobbyKeyFile.open(tmp_path / "lobby.key", PASSPHRASE)
    assert opened.lobby_id == "acme"


def test_sealed_json_helpers(tmp_path: Path) -> None:
    path = tmp_path / "x.sealed"
    write_sealed_json(path, b"pw", {"a": [1, "b"]}, purpose="test", limits=TINY, create=True)
    assert read_sealed_json(path, b"pw", purpose="test") == {"a": [1, "b"]}
    with pytest.raises(WrongPassphrase):
        read_sealed_json(path, b"pw", purpose="other")
    with pytest.raises(WalletError, match="empty"):
        write_sealed_json(path, b"", {}, purpose="test", limits=TINY)


def test_kdf_limits_are_kept_across_saves(wallet: Wallet, wallet_path: Path) -> None:
    opened = Wallet.open(wallet_path, PASSPHRASE)
    assert opened.to_json()["kdf"] == {"opslimit": 1, "memlimit": 8192}


def test_an_opened_wallet_derives_its_key_once(
    wallet: Wallet, wallet_path: Path, argon2_derivations: list[int]
) -> None:
    derivations = argon2_derivations
    derivations.clear()
    opened = Wallet.open(wallet_path, PASSPHRASE)
    for seq in range(1, 4):  # an action saves its pending envelope, then its receipt, ...
        opened.seq = seq
        opened.save()
    assert len(derivations) == 1
    # ... and every save is an ordinary sealed file, opened with the passphrase alone.
    assert Wallet.open(wallet_path, PASSPHRASE).seq == 3
    with pytest.raises(WrongPassphrase):
        Wallet.open(wallet_path, PASSPHRASE + b"!")
