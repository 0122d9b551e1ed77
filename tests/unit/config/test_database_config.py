"""[database]: SQLite in data_dir unless a URL is set; only sqlite and postgresql+psycopg; the password
never shown."""

import dataclasses
import re
from pathlib import Path

import pytest

from config import ConfigError, DatabaseConfig, load_config, parse_config

ROOT = Path(__file__).resolve().parents[3]
MINIMAL = {"matrix": {"homeserver": "https://m.example.org", "user_id": "@bot:example.org"}, "bot": {}}
PG = "postgresql+psycopg://manufacture:s3cret@127.0.0.1:5432/manufacture"


def database(tmp_path, table) -> DatabaseConfig:
    return parse_config({**MINIMAL, "database": table}, tmp_path / "c.toml").database


def test_no_setting_is_the_sqlite_file_in_data_dir(tmp_path):
    assert parse_config(MINIMAL, tmp_path / "c.toml").database == DatabaseConfig()
    assert database(tmp_path, {"url": ""}).url == ""
    assert load_config(ROOT / "config.example.toml").database.url == ""


def test_a_postgresql_url_is_kept_and_shown_without_its_password(tmp_path, monkeypatch):
    monkeypatch.delenv("MANUFACTURE_DATABASE_PASSWORD", raising=False)
    config = database(tmp_path, {"url": PG})
    assert config.is_postgresql and config.parsed.password == "s3cret"
    assert config.shown() == "postgresql+psycopg://manufacture:***@127.0.0.1:5432/manufacture"
    assert "s3cret" not in repr(parse_config({**MINIMAL, "database": {"url": PG}}, tmp_path / "c.toml"))


def test_the_password_may_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MANUFACTURE_DATABASE_PASSWORD", "from-env")
    config = database(tmp_path, {"url": "postgresql+psycopg://manufacture@db.internal/manufacture"})
    assert config.parsed.password == "from-env" and "from-env" not in config.shown()


def test_a_relative_sqlite_path_is_relative_to_the_configuration_file(tmp_path):
    config = database(tmp_path, {"url": "sqlite:///elsewhere/bot.db"})
    assert not config.is_postgresql and config.parsed.database == str(tmp_path / "elsewhere" / "bot.db")


@pytest.mark.parametrize(
    "table",
    [
        {"url": "mysql://u@h/db"},
        {"url": "postgresql://u@h/db"},
        {"url": "postgresql+psycopg2://u@h/db"},
        {"url": "not a url"},
        {"url": "postgresql+psycopg://u@h"},
        {"url": "sqlite://"},
        {"url": 5},
        {"adresse": PG},
    ],
)
def test_a_wrong_database_key_names_itself_and_the_file_in_french(tmp_path, table):
    path = tmp_path / "c.toml"
    with pytest.raises(ConfigError) as caught:
        parse_config({**MINIMAL, "database": table}, path)
    assert caught.value.key == "database." + next(iter(table))
    assert str(path) in str(caught.value)
    assert re.search(r"schéma|illisible|manque|fichier|type attendu|clé inconnue", caught.value.problem)


def test_every_database_key_is_documented_in_the_example():
    text = (ROOT / "config.example.toml").read_text()
    section = text[text.index("[database]") :]
    for field in dataclasses.fields(DatabaseConfig):
        assert re.search(rf"^#?\s*{field.name}\s*=", section, re.M), f"database.{field.name} undocumented"
