import re
from pathlib import Path

import pytest

from config import ConfigError, load_config, parse_config, parse_offset_minutes

ROOT = Path(__file__).resolve().parents[3]
MINIMAL = {"matrix": {"homeserver": "https://m.example.org", "user_id": "@bot:example.org"}, "bot": {}}


def test_example_config_is_valid_and_complete():
    config = load_config(ROOT / "config.example.toml")
    assert config.matrix.user_id == "@manufacture:example.org"
    assert {r.kind for r in config.rooms} == {"tribe", "peer_group", "facilitators"}
    assert config.agenda.recurring[0].rrule == "FREQ=MONTHLY;BYDAY=1TU"


def test_every_config_key_is_documented_in_the_example():
    text = (ROOT / "config.example.toml").read_text()
    import dataclasses

    import config as module

    for cls in (
        module.MatrixConfig,
        module.BotConfig,
        module.AccessConfig,
        module.RoomConfig,
        module.KnowledgeConfig,
        module.DepositsConfig,
        module.RecurringEventConfig,
        module.FeedConfig,
        module.AgendaConfig,
    ):
        for field in dataclasses.fields(cls):
            if field.name in ("recurring", "feeds"):
                continue
            assert re.search(rf"^#?\s*\[?(\w+\.)*{field.name}\b", text, re.M), (
                f"{cls.__name__}.{field.name} undocumented"
            )


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"bot": {}}, "matrix.homeserver"),
        ({**MINIMAL, "matrix": {**MINIMAL["matrix"], "homeserver": "m.example.org"}}, "matrix.homeserver"),
        ({**MINIMAL, "bot": {"timezone": "Europe/Nowhere"}}, "bot.timezone"),
        ({**MINIMAL, "bot": {"max_message_length": "long"}}, "bot.max_message_length"),
        ({**MINIMAL, "bot": {"datadir": "x"}}, "bot.datadir"),
        ({**MINIMAL, "rooms": [{"id": "!a:b", "kind": "tribu"}]}, "rooms[0].kind"),
        ({**MINIMAL, "rooms": [{"id": "!a:b", "kind": "peer_group"}]}, "rooms[0].role"),
        ({**MINIMAL, "rooms": [{"kind": "tribe"}]}, "rooms[0].id"),
        ({**MINIMAL, "knowledge": {"backend": "sentence-transformers"}}, "knowledge.model"),
        (
            {**MINIMAL, "agenda": {"recurring": [{"title": "P", "rrule": "FREQ=SOMETIMES", "time": "10:00"}]}},
            "agenda.recurring[0].rrule",
        ),
        (
            {**MINIMAL, "agenda": {"recurring": [{"title": "P", "rrule": "FREQ=DAILY", "time": "25:00"}]}},
            "agenda.recurring[0].time",
        ),
        ({**MINIMAL, "agenda": {"feeds": [{"url": "x.ics", "reminders": ["demain"]}]}}, "agenda.feeds[0].reminders"),
        ({**MINIMAL, "agenda": {"feeds": [{"url": "x.ics", "rooms": ["partout"]}]}}, "agenda.feeds[0].rooms"),
    ],
)
def test_errors_name_the_key_and_the_file(raw, key, tmp_path):
    path = tmp_path / "conf.toml"
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, path)
    assert caught.value.key == key
    assert str(path) in str(caught.value) and key in str(caught.value)


def test_syntax_error_and_missing_file_are_reported(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("[matrix\n")
    with pytest.raises(ConfigError, match="TOML invalide"):
        load_config(broken)
    with pytest.raises(ConfigError, match="introuvable"):
        load_config(tmp_path / "absent.toml")


def test_relative_paths_resolve_against_the_config_folder_and_env_overrides_password(tmp_path, monkeypatch):
    monkeypatch.setenv("MANUFACTURE_PASSWORD", "from-env")
    config = parse_config({**MINIMAL, "bot": {"data_dir": "data"}}, tmp_path / "c.toml")
    assert config.data_dir == tmp_path.resolve() / "data"
    assert config.matrix.password == "from-env"


@pytest.mark.parametrize(("text", "minutes"), [("15m", 15), ("2h", 120), ("1d", 1440), ("3j", 4320)])
def test_offsets(text, minutes):
    assert parse_offset_minutes(text) == minutes


def test_local_synapse_paths_do_not_depend_on_the_working_directory(tmp_path, monkeypatch):
    from bot.devtools.local_synapse import LocalSynapse

    monkeypatch.chdir(tmp_path)
    server = LocalSynapse("demo-data/synapse", port=1)
    config_path = server.write_config()
    assert config_path.is_absolute() and config_path.exists()


def test_a_misspelt_key_gets_the_right_one_suggested(tmp_path):
    with pytest.raises(ConfigError) as caught:
        parse_config({**MINIMAL, "bot": {"command_prefx": "?"}}, tmp_path / "conf.toml")
    assert caught.value.key == "bot.command_prefx"
    assert "vouliez-vous dire « bot.command_prefix » ?" in str(caught.value)
    with pytest.raises(ConfigError) as far_from_any:
        parse_config({**MINIMAL, "bot": {"couleur": "bleu"}}, tmp_path / "conf.toml")
    assert "vouliez-vous dire" not in str(far_from_any.value)


def test_a_file_level_problem_names_no_key(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("[matrix\n")
    with pytest.raises(ConfigError) as caught:
        load_config(broken)
    assert str(caught.value).startswith(f"{broken}: TOML invalide")
    assert "clé" not in str(caught.value)


def test_check_config_fails_on_a_missing_local_feed_naming_its_key(tmp_path, capsys):
    from bot.cli import main

    config_path = tmp_path / "config.toml"
    config_path.write_text(
        f"""
[matrix]
homeserver = "http://127.0.0.1:8008"
user_id = "@bot:x"
[bot]
data_dir = "{tmp_path / "data"}"
[[agenda.feeds]]
url = "https://agenda.example.org/public.ics"
[[agenda.feeds]]
url = "absent.ics"
""",
        encoding="utf-8",
    )
    assert main(["check-config", "--config", str(config_path)]) == 2
    err = capsys.readouterr().err
    assert "agenda.feeds[1].url" in err and str(tmp_path / "absent.ics") in err
    (tmp_path / "absent.ics").write_text("BEGIN:VCALENDAR\nEND:VCALENDAR\n")
    assert main(["check-config", "--config", str(config_path)]) == 0
    assert "Configuration valide" in capsys.readouterr().out


def test_the_readme_path_to_a_real_homeserver_copy_the_example_then_give_the_password(tmp_path, monkeypatch, capsys):
    """README « Running against a real homeserver »: cp config.example.toml config.toml (it holds
    `password = ""`), then MANUFACTURE_PASSWORD=… check-config: the variable wins over the key."""
    import shutil

    from bot.cli import main

    config_path = tmp_path / "config.toml"
    shutil.copy(ROOT / "config.example.toml", config_path)
    monkeypatch.setenv("MANUFACTURE_PASSWORD", "from-env")
    assert main(["check-config", "--config", str(config_path)]) == 0
    out = capsys.readouterr().out
    assert "Configuration valide" in out and "connexion : mot de passe" in out
    assert load_config(config_path).matrix.password == "from-env"
    # Or a token, for homeservers without password logins; check-config says which the bot will use.
    monkeypatch.delenv("MANUFACTURE_PASSWORD")
    monkeypatch.setenv("MANUFACTURE_ACCESS_TOKEN", "syt_secret")
    assert main(["check-config", "--config", str(config_path)]) == 0
    out = capsys.readouterr().out
    assert "connexion : jeton d'accès" in out and "syt_secret" not in out


def test_the_password_key_serves_when_no_variable_is_set(tmp_path, monkeypatch):
    monkeypatch.delenv("MANUFACTURE_PASSWORD", raising=False)
    config = parse_config({**MINIMAL, "matrix": {**MINIMAL["matrix"], "password": "in-file"}}, tmp_path / "c.toml")
    assert config.matrix.password == "in-file"
    assert not config.matrix.uses_access_token


def test_an_access_token_and_its_device_from_the_environment_win_over_the_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("MANUFACTURE_ACCESS_TOKEN", "syt_env")
    monkeypatch.setenv("MANUFACTURE_DEVICE_ID", "ENVDEVICE")
    matrix = {**MINIMAL["matrix"], "access_token": "syt_file", "device_id": "FILEDEVICE"}
    config = parse_config({**MINIMAL, "matrix": matrix}, tmp_path / "c.toml")
    assert (config.matrix.access_token, config.matrix.device_id) == ("syt_env", "ENVDEVICE")
    assert config.matrix.uses_access_token
    # Secrets never show in a printed configuration.
    assert "syt_env" not in repr(config) and "ENVDEVICE" in repr(config)


def test_a_device_id_without_an_access_token_is_refused_naming_the_key(tmp_path, monkeypatch):
    monkeypatch.delenv("MANUFACTURE_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("MANUFACTURE_DEVICE_ID", raising=False)
    with pytest.raises(ConfigError) as caught:
        parse_config({**MINIMAL, "matrix": {**MINIMAL["matrix"], "device_id": "ABC"}}, tmp_path / "c.toml")
    assert caught.value.key == "matrix.device_id" and "MANUFACTURE_ACCESS_TOKEN" in str(caught.value)
