"""`manufacture-bot agenda`: occurrences as JSON or text, the stored copy when a feed fails."""

from __future__ import annotations

import json

from config import DatabaseConfig
from storage.agenda import FeedCache
from storage.database import open_database
from tests.unit.handlers.agenda.harness import ics, vevent


def test_cli_lists_occurrences_as_json_and_falls_back_to_the_stored_copy(tmp_path, capsys):
    from bot.cli import build_parser

    feed_path = tmp_path / "cal.ics"
    feed_path.write_text(
        ics(
            vevent("agora", "20270303T180000", "Agora", "LOCATION:Halle"),
            vevent("annule", "20270304T180000", "Annulé", "STATUS:CANCELLED"),
        ),
        encoding="utf-8",
    )
    config_path = tmp_path / "config.toml"
    config_path.write_text(
        f"""
[matrix]
homeserver = "http://127.0.0.1:8008"
user_id = "@bot:x"
[bot]
data_dir = "{tmp_path / "data"}"
[[agenda.recurring]]
title = "Permanence"
rrule = "FREQ=MONTHLY;BYDAY=1TU"
time = "10:00"
duration_minutes = 90
[[agenda.feeds]]
url = "{feed_path}"
name = "Local"
""",
        encoding="utf-8",
    )
    parser = build_parser()

    def run(*argv: str) -> int:
        args = parser.parse_args(["agenda", "--config", str(config_path), *argv])
        return args.func(args)

    assert run("--json", "--from", "2027-03-01", "--to", "2027-03-31") == 0
    items = json.loads(capsys.readouterr().out)
    assert [(i["title"], i["start"]) for i in items] == [
        ("Permanence", "2027-03-02T10:00:00+01:00"),
        ("Agora", "2027-03-03T18:00:00+01:00"),
    ]
    assert items[1]["location"] == "Halle" and items[1]["source"] == f"feed:{feed_path}"
    assert items[0]["end"] == "2027-03-02T11:30:00+01:00" and items[0]["all_day"] is False

    # The file disappears: the bot's stored copy is used, and stderr says so.
    db = open_database(tmp_path / "data", DatabaseConfig())
    with db.session() as session:
        session.add(FeedCache(url=str(feed_path), body=feed_path.read_text(encoding="utf-8")))
    db.close()
    feed_path.unlink()
    assert run("--from", "2027-03-01", "--to", "2027-03-05") == 0
    out, err = capsys.readouterr()
    assert "copie enregistrée" in err and "Agora" in out and "mercredi 3 mars 2027" in out


def test_a_config_error_is_printed_by_the_main_command_like_any_other(tmp_path, capsys):
    from bot.cli import main

    config_path = tmp_path / "config.toml"
    config_path.write_text(
        '[matrix]\nhomeserver = "http://127.0.0.1:8008"\nuser_id = "@bot:x"\n[agenda]\nhorizon_jours = 30\n',
        encoding="utf-8",
    )
    assert main(["agenda", "--config", str(config_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Erreur de configuration — ") and "horizon_jours" in err


def test_a_failing_feed_without_the_bots_database_is_skipped_and_no_database_is_made(tmp_path, capsys):
    from bot.cli import main

    data_dir = tmp_path / "data"
    config_path = tmp_path / "config.toml"
    config_path.write_text(
        f"""
[matrix]
homeserver = "http://127.0.0.1:8008"
user_id = "@bot:x"
[bot]
data_dir = "{data_dir}"
[[agenda.feeds]]
url = "{tmp_path / "absent.ics"}"
name = "Absent"
""",
        encoding="utf-8",
    )
    assert main(["agenda", "--config", str(config_path), "--from", "2027-03-01", "--to", "2027-03-05"]) == 0
    out, err = capsys.readouterr()
    assert "« Absent » illisible" in err and "aucune copie enregistrée" in err
    assert "Aucun rendez-vous" in out
    assert not data_dir.exists()
