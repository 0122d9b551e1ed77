"""`manufacture-bot deposits list|export`: the JSON contract, and a bad config told the one way."""

import json

from bot.cli import main
from tests.unit.handlers.deposits.deposit_app import form_keys, run_cli

CONTRACT_KEYS = {"reference", "title", "tribe", "carrier", "depositor", "status", "visibility", "created_at", "answers"}


async def test_cli_json_contract(h, tmp_path, capsys):
    # The CLI opens the database of the config's data_dir: the running bot's.
    config = str(h.app.config.path)
    assert run_cli(["deposits", "list", "--json", "--config", config]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["reference"] for r in rows] == ["DEP-2027-0001", "DEP-2027-0002"]
    for row in rows:
        assert set(row) >= CONTRACT_KEYS
        assert set(form_keys()) <= set(row["answers"])
    assert rows[0]["created_at"] == "2027-03-01T09:00:00+00:00"
    assert rows[0]["answers"]["needs"] == ["partners", "funding"] and rows[0]["tribe"] == "Alimentation"
    assert rows[1]["title"] is None and all(v is None for v in rows[1]["answers"].values())

    out = tmp_path / "export.csv"
    assert run_cli(["deposits", "export", "--format", "csv", "--config", config, "--output", str(out)]) == 0
    assert out.read_bytes().decode("utf-8").startswith("Référence,Statut,Déposé le,Déposé par,Titre,")
    assert run_cli(["deposits", "export", "--format", "json", "--config", config]) == 0
    assert json.loads(capsys.readouterr().out) == rows
    assert run_cli(["deposits", "list", "--config", config]) == 0
    assert "DEP-2027-0001" in capsys.readouterr().out


def test_cli_reports_a_bad_config(tmp_path, capsys):
    # The ConfigError reaches bot/cli.py's main(), which prints every config error one way.
    assert main(["deposits", "list", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "Erreur de configuration" in (err := capsys.readouterr().err) and "introuvable" in err
