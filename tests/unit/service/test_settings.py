"""Settings from the environment: required admin token, database URL, sealing key sources."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from crypto.encoding import b64u_encode
from service.errors import ConfigurationError
from service.settings import DEFAULT_DATABASE_URL, Settings

TOKEN = "an-admin-token-of-some-length"
KEY = bytes(range(32))
POSTGRES = "postgresql://isegoria@db.example/isegoria"


def env(**values: str) -> dict[str, str]:
    return {"ISEGORIA_ADMIN_TOKEN": TOKEN, **{f"ISEGORIA_{k}": v for k, v in values.items()}}


def test_defaults() -> None:
    settings = Settings.from_env(env())
    assert settings.admin_token == TOKEN
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert (settings.credential_failures_per_minute, settings.max_open_initiatives_per_topic) == (
        10,
        3,
    )


@pytest.mark.parametrize("environ", [{}, {"ISEGORIA_ADMIN_TOKEN": ""}], ids=["unset", "empty"])
def test_the_admin_token_is_required(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match="ISEGORIA_ADMIN_TOKEN"):
        Settings.from_env(environ)


def test_a_short_admin_token_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="16"):
        Settings.from_env({"ISEGORIA_ADMIN_TOKEN": "x" * 15})
    with pytest.raises(ConfigurationError):
        Settings(admin_token="short")
    Settings.from_env({"ISEGORIA_ADMIN_TOKEN": "x" * 16})


def test_secrets_stay_out_of_repr() -> None:
    settings = Settings.from_env(env(SEALING_KEY=b64u_encode(KEY)))
    assert TOKEN not in repr(settings)
    assert b64u_encode(KEY) not in repr(settings) and str(KEY) not in repr(settings)


def test_postgres_urls_use_psycopg_and_need_a_sealing_key() -> None:
    with pytest.raises(ConfigurationError, match="SEALING_KEY"):
        Settings.from_env(env(DATABASE_URL=POSTGRES))
    settings = Settings.from_env(env(DATABASE_URL=POSTGRES, SEALING_KEY=b64u_encode(KEY)))
    assert settings.database_url == "postgresql+psycopg://isegoria@db.example/isegoria"
    file_settings = Settings.from_env(env(DATABASE_URL=POSTGRES, SEALING_KEY_FILE="/k"))
    assert file_settings.sealing_key_file == "/k"


@pytest.mark.parametrize("url", ["mysql://x/y", "not a url", "oracle://a"])
def test_other_databases_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError):
        Settings.from_env(env(DATABASE_URL=url))


@pytest.mark.parametrize(
    "value", ["", "AAAA", b64u_encode(KEY) + "=", b64u_encode(KEY[:31]), "!" * 43]
)
def test_a_malformed_sealing_key_is_refused_without_echoing_it(value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env(env(SEALING_KEY=value))
    if value:
        assert value not in str(caught.value)


def test_both_key_sources_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="not both"):
        Settings.from_env(env(SEALING_KEY=b64u_encode(KEY), SEALING_KEY_FILE="/k"))


@pytest.mark.parametrize(
    "name", ["CREDENTIAL_FAILURES_PER_MINUTE", "MAX_OPEN_INITIATIVES_PER_TOPIC"]
)
def test_limits_are_positive_integers(name: str) -> None:
    assert getattr(Settings.from_env(env(**{name: "7"})), name.lower()) == 7
    for bad in ["0", "-1", "x", "1.5", ""]:
        with pytest.raises(ConfigurationError, match=name):
            Settings.from_env(env(**{name: bad}))


def test_the_inline_key_is_used() -> None:
    settings = Settings.from_env(env(SEALING_KEY=b64u_encode(KEY)))
    assert settings.load_sealing_key().to_bytes() == KEY


@pytest.mark.parametrize(
    "content", [KEY, b64u_encode(KEY).encode(), (b64u_encode(KEY) + "\n").encode()]
)
def test_a_key_file_holds_raw_bytes_or_base64url(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "key"
    path.write_bytes(content)
    path.chmod(0o600)
    settings = Settings.from_env(env(DATABASE_URL=POSTGRES, SEALING_KEY_FILE=str(path)))
    assert settings.load_sealing_key().to_bytes() == KEY


def test_a_missing_or_malformed_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "key"
    settings = Settings.from_env(env(SEALING_KEY_FILE=str(path)))
    with pytest.raises(ConfigurationError, match="does not exist"):
        settings.load_sealing_key()
    path.write_bytes(b"\xff" * 40)
    with pytest.raises(ConfigurationError, match="32 raw bytes"):
        settings.load_sealing_key()


def test_sqlite_keeps_a_development_key_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "isegoria.db"
    settings = Settings.from_env(env(DATABASE_URL=f"sqlite:///{database}"))
    with caplog.at_level(logging.WARNING, logger="service.settings"):
        first = settings.load_sealing_key()
        second = settings.load_sealing_key()
    path = tmp_path / "isegoria.db.sealing-key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert first.to_bytes() == second.to_bytes()
    assert len(path.read_text().strip()) == 43
    warnings = [r for r in caplog.records if "sealing-key" in r.getMessage()]
    assert len(warnings) == 1
    assert b64u_encode(first.to_bytes()) not in caplog.text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["isegoria.db.sealing-key"]


def test_an_in_memory_sqlite_database_gets_a_throwaway_key() -> None:
    settings = Settings.from_env(env(DATABASE_URL="sqlite://"))
    assert settings.load_sealing_key().to_bytes() != settings.load_sealing_key().to_bytes()
