"""Facilitators' follow-up (!depots, !depot), the CSV export and the CLI contract."""
import argparse
import csv
import io
import json
from pathlib import Path

import pytest

from bot.rendering import build_template_environment
from handlers.deposits.cli import register_cli
from tests.unit.deposit_helpers import DEPOSIT_TEMPLATE_SAMPLES, FACILITATOR, FACILITATORS, PEERS, SELF_DEPOSIT, TRIBE_ENERGY, Harness

ALICE = "@alice:test"
CONTRACT_KEYS = {"reference", "title", "tribe", "carrier", "depositor", "status", "visibility", "created_at", "answers"}


async def deposit(h, user=ALICE, room=TRIBE_ENERGY, answers=SELF_DEPOSIT, root="$root"):
    await h.say(user, "!deposer", room=room, event_id=root)
    for text in [*answers, "oui"]:
        await h.say(user, text, room=room, thread_root=root)


@pytest.fixture
async def h(tmp_path):
    harness = Harness.build(tmp_path)
    await deposit(harness)
    await deposit(harness, room=PEERS, answers=SELF_DEPOSIT[:-1] + ["non"], root="$secret")
    return harness


async def test_list_and_filter(h):
    [listing] = await h.say(FACILITATOR, "!depots", room=FACILITATORS)
    assert "DEP-2027-0001" in listing.text and "DEP-2027-0002" in listing.text
    assert listing.text.count("Cantine bio intercommunale") == 1  # the confidential one stays unnamed
    [listing] = await h.say(FACILITATOR, "!depots en étude", room=FACILITATORS)
    assert "Aucun dépôt" in listing.text
    [listing] = await h.say(FACILITATOR, "!depots nouveau alimentation", room=FACILITATORS)
    assert "DEP-2027-0001" in listing.text and "DEP-2027-0002" not in listing.text


async def test_show_and_change_status_tells_the_depositor(h):
    [shown] = await h.say(FACILITATOR, "!depot dep-2027-0001", room=FACILITATORS)
    assert "Pays de Lunel" in shown.text and "1er mars 2027" in shown.text
    sent = await h.say(FACILITATOR, "!depot DEP-2027-0001 statut en étude Rendez-vous pris le 12 mars", room=FACILITATORS)
    assert "en étude" in sent[0].text
    told = sent[1]
    assert (told.room_id, told.thread_root, told.mentions) == (TRIBE_ENERGY.room_id, "$root", (ALICE,))
    assert "Rendez-vous pris le 12 mars" in told.text
    [shown] = await h.say(FACILITATOR, "!depot DEP-2027-0001", room=FACILITATORS)
    assert "en étude" in shown.text and "Rendez-vous pris" in shown.text
    mine = await h.say(ALICE, "!mes-depots")
    assert "en étude" in mine[0].text


async def test_mistakes_are_explained_in_french(h):
    for command, words in [("!depot DEP-2027-0099", "Aucun dépôt"), ("!depot DEP-2027-0001 statut fini", "statut connu"),
                           ("!depots violet", "ni le statut ni la tribu"), ("!depot", "référence")]:
        [answer] = await h.say(FACILITATOR, command, room=FACILITATORS)
        assert words in answer.text


async def test_csv_export_in_the_facilitators_room(h):
    [sent] = await h.say(FACILITATOR, "!depots export", room=FACILITATORS)
    attachment = sent.attachment
    assert attachment.mimetype == "text/csv" and attachment.filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(attachment.content.decode("utf-8-sig"))))
    assert [r["reference"] for r in rows] == ["DEP-2027-0001", "DEP-2027-0002"]
    assert rows[0]["title"] == "Cantine bio intercommunale" and rows[0]["needs"] == "partners; funding"
    # No content of the confidential deposit whose author said no.
    assert rows[1]["title"] == "" and rows[1]["territory"] == "" and rows[1]["content_shared"] == "non"


def run_cli(argv):
    parser = argparse.ArgumentParser(prog="manufacture-bot")
    register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


async def test_cli_json_contract(h, tmp_path, capsys):
    config = str(tmp_path / "manufacture.toml")
    # The CLI opens the database of the config's data_dir: copy the harness's deposits there.
    _copy_db(h, Path(h.config.data_dir))
    assert run_cli(["deposits", "list", "--json", "--config", config]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["reference"] for r in rows] == ["DEP-2027-0001", "DEP-2027-0002"]
    for row in rows:
        assert CONTRACT_KEYS <= set(row)
        assert set(h_form_keys()) <= set(row["answers"])
    assert rows[0]["created_at"] == "2027-03-01T09:00:00+00:00"
    assert rows[0]["answers"]["needs"] == ["partners", "funding"] and rows[0]["tribe"] == "Alimentation"
    assert rows[1]["title"] is None and all(v is None for v in rows[1]["answers"].values())

    out = tmp_path / "export.csv"
    assert run_cli(["deposits", "export", "--format", "csv", "--config", config, "--output", str(out)]) == 0
    assert out.read_bytes().startswith(b"reference,title,")
    assert run_cli(["deposits", "export", "--format", "json", "--config", config]) == 0
    assert json.loads(capsys.readouterr().out) == rows
    assert run_cli(["deposits", "list", "--config", config]) == 0
    assert "DEP-2027-0001" in capsys.readouterr().out


def test_cli_reports_a_bad_config(tmp_path, capsys):
    assert run_cli(["deposits", "list", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "introuvable" in capsys.readouterr().err


def h_form_keys():
    from handlers.deposits.form import load_form
    return load_form().keys()


def _copy_db(h, data_dir: Path):
    import sqlite3
    data_dir.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(h.db.url.removeprefix("sqlite:///"))
    target = sqlite3.connect(data_dir / "manufacture.db")
    source.backup(target)
    source.close(), target.close()


def test_every_deposit_template_has_a_sample_and_escapes_html():
    env = build_template_environment()
    shipped = sorted(f"deposits/{p.name}" for p in
                     (Path(__file__).resolve().parents[2] / "handlers/templates/deposits").glob("*.md.j2"))
    assert shipped == sorted(DEPOSIT_TEMPLATE_SAMPLES)
    for name, context in DEPOSIT_TEMPLATE_SAMPLES.items():
        text = env.get_template(name).render(**context)
        assert text.strip() and "<b>" not in text
