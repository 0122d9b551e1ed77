"""[retention]: defaults written once, each period a whole number of days above its floor, every key
named in its error and commented in config.example.toml."""

import dataclasses
import re
from pathlib import Path

import pytest

from config import ConfigError, RetentionConfig, load_config, parse_config

ROOT = Path(__file__).resolve().parents[3]
MINIMAL = {"matrix": {"homeserver": "https://m.example.org", "user_id": "@bot:example.org"}, "bot": {}}


def test_the_defaults_are_the_purposes_periods(tmp_path):
    retention = parse_config(MINIMAL, tmp_path / "c.toml").retention
    assert (retention.handled_events_days, retention.sent_messages_days) == (30, 90)
    assert (retention.questions_days, retention.drafts_days, retention.reminders_days) == (365, 183, 365)
    # The example writes the same values as the code's defaults.
    assert load_config(ROOT / "config.example.toml").retention == retention


def test_a_period_can_be_changed(tmp_path):
    config = parse_config({**MINIMAL, "retention": {"questions_days": 730}}, tmp_path / "c.toml")
    assert config.retention.questions_days == 730 and config.retention.handled_events_days == 30


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({"handled_events_days": 1}, "au moins 7 jours"),
        ({"sent_messages_days": 0}, "au moins 7 jours"),
        ({"questions_days": "un an"}, "type attendu entier, trouvé texte"),
        ({"drafts_days": 30.5}, "type attendu entier, trouvé nombre"),
        ({"reminders_days": True}, "type attendu entier"),
        ({"question_days": 365}, "vouliez-vous dire « retention.questions_days »"),
        ({"questions_days": 60}, "au moins sent_messages_days (90 jours)"),
    ],
)
def test_a_wrong_retention_key_is_named_with_its_file(tmp_path, table, problem):
    path = tmp_path / "c.toml"
    with pytest.raises(ConfigError) as caught:
        parse_config({**MINIMAL, "retention": table}, path)
    assert caught.value.key == "retention." + next(iter(table))
    assert problem in str(caught.value) and str(path) in str(caught.value)


def test_every_retention_key_is_commented_in_the_example():
    text = (ROOT / "config.example.toml").read_text()
    section = text[text.index("[retention]") :]
    for field in dataclasses.fields(RetentionConfig):
        line = re.search(rf"^{field.name}\s*=", section, re.M)
        assert line, f"retention.{field.name} undocumented"
        assert section[: line.start()].rstrip().splitlines()[-1].startswith("#"), f"retention.{field.name} uncommented"
