"""[metrics]: off by default, "host:port" checked at start, every key in config.example.toml."""

import dataclasses
import re
from pathlib import Path

import pytest

from config import ConfigError, MetricsConfig, load_config, parse_config

ROOT = Path(__file__).resolve().parents[3]
MINIMAL = {"matrix": {"homeserver": "https://m.example.org", "user_id": "@bot:example.org"}, "bot": {}}


def test_metrics_are_off_unless_listen_is_set(tmp_path):
    assert not parse_config(MINIMAL, tmp_path / "c.toml").metrics.enabled
    assert not load_config(ROOT / "config.example.toml").metrics.enabled


@pytest.mark.parametrize(
    ("listen", "host", "port"),
    [("127.0.0.1:9464", "127.0.0.1", 9464), ("[::1]:9100", "::1", 9100), ("localhost:8080", "localhost", 8080)],
)
def test_listen_gives_host_and_port(tmp_path, listen, host, port):
    metrics = parse_config({**MINIMAL, "metrics": {"listen": listen}}, tmp_path / "c.toml").metrics
    assert metrics.enabled and (metrics.host, metrics.port) == (host, port)


@pytest.mark.parametrize(
    "table",
    [
        {"listen": "9464"},
        {"listen": "127.0.0.1:"},
        {"listen": "127.0.0.1:99999"},
        {"listen": "::1:9464"},
        {"sync_stale_seconds": 0},
        {"port": 9464},
    ],
)
def test_a_wrong_metrics_key_stops_start_up_naming_it(tmp_path, table):
    with pytest.raises(ConfigError) as caught:
        parse_config({**MINIMAL, "metrics": table}, tmp_path / "c.toml")
    assert caught.value.key == "metrics." + next(iter(table))


def test_every_metrics_key_is_documented_in_the_example():
    text = (ROOT / "config.example.toml").read_text()
    section = text[text.index("[metrics]") :]
    for field in dataclasses.fields(MetricsConfig):
        assert re.search(rf"^#?\s*{field.name}\s*=", section, re.M), f"metrics.{field.name} undocumented"
