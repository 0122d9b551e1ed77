"""[board]: off by default, the address people open derived from `listen` unless `public_url` says it,
errors naming their key, every key in config.example.toml."""

import dataclasses
import re
from pathlib import Path

import pytest

from config import BoardConfig, ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[3]
MINIMAL = {"matrix": {"homeserver": "https://m.example.org", "user_id": "@bot:example.org"}, "bot": {}}


def board(tmp_path, **table) -> BoardConfig:
    return parse_config({**MINIMAL, "board": table}, tmp_path / "c.toml").board


def test_the_board_is_off_unless_listen_is_set(tmp_path):
    assert not parse_config(MINIMAL, tmp_path / "c.toml").board.enabled
    assert not load_config(ROOT / "config.example.toml").board.enabled


def test_public_url_defaults_to_the_listen_address_and_decides_secure_cookies(tmp_path):
    plain = board(tmp_path, listen="127.0.0.1:8470")
    assert plain.enabled and plain.base_url == "http://127.0.0.1:8470" and not plain.secure
    assert board(tmp_path, listen="[::1]:8470").base_url == "http://[::1]:8470"
    proxied = board(tmp_path, listen="127.0.0.1:8470", public_url="https://tableau.example.org/")
    assert proxied.base_url == "https://tableau.example.org" and proxied.secure
    assert (proxied.host, proxied.port) == ("127.0.0.1", 8470) and proxied.session_hours == 10


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"listen": "8470"}, "listen"),
        ({"listen": "127.0.0.1:8470", "public_url": "tableau.example.org"}, "public_url"),
        ({"public_url": "https://tableau.example.org"}, "public_url"),
        ({"listen": "127.0.0.1:8470", "session_hours": 0}, "session_hours"),
        ({"listen": "127.0.0.1:8470", "port": 1}, "port"),
    ],
)
def test_a_wrong_board_key_stops_start_up_naming_it_in_french(tmp_path, table, key):
    with pytest.raises(ConfigError) as caught:
        parse_config({**MINIMAL, "board": table}, tmp_path / "c.toml")
    assert caught.value.key == "board." + key and "c.toml" in str(caught.value)


def test_every_board_key_is_documented_in_the_example():
    text = (ROOT / "config.example.toml").read_text()
    section = text[text.index("[board]") :]
    for field in dataclasses.fields(BoardConfig):
        assert re.search(rf"^#?\s*{field.name}\s*=", section, re.M), f"board.{field.name} undocumented"
