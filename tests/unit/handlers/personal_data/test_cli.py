"""`manufacture-bot personal-data USER export|erase`: the chat commands' code, for a request received
outside Matrix, logged without content."""

import json
import logging

import pytest

from bot.cli import main
from tests.unit.handlers.deposits.deposit_app import (
    ALICE,
    BOB,
    SELF_DEPOSIT,
    DepositApp,
    deposit_app_maker,
    deposit_through_chat,
    deposits,
)


@pytest.fixture
async def h(make_test_app):
    async with deposit_app_maker(make_test_app)() as running:
        yield running


async def test_export_then_erase_from_the_command_line(h: DepositApp, tmp_path, capsys, caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger="handlers.personal_data")
    await deposit_through_chat(h, ALICE)
    await deposit_through_chat(h, BOB, answers=["Jardin partagé", *SELF_DEPOSIT[1:]], root="$bob")
    config = str(h.app.config.path)

    out = tmp_path / "alice.json"
    assert main(["personal-data", ALICE, "export", "--config", config, "-o", str(out)]) == 0
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert exported["membre"] == ALICE and [d["titre"] for d in exported["depots"]] == ["Cantine bio intercommunale"]
    assert "Dépôts de projets faits par vous : 1" in capsys.readouterr().err

    # Without --yes nor a « oui », nothing happens.
    monkeypatch.setattr("builtins.input", lambda _question: "non")
    assert main(["personal-data", ALICE, "erase", "--config", config]) == 1
    assert len(deposits(h)) == 2
    assert main(["personal-data", ALICE, "erase", "--yes", "--config", config]) == 0
    told = capsys.readouterr().out
    assert "anonymisé" in told and "Conversations privées avec moi : 1" in told
    alice_deposit, bob_deposit = deposits(h)
    assert alice_deposit.depositor == "" and alice_deposit.title == "Cantine bio intercommunale"
    assert bob_deposit.depositor == BOB
    assert main(["personal-data", ALICE, "export", "--config", config]) == 0
    after = json.loads(capsys.readouterr().out)
    assert all(after[key] == [] for key in after if key not in ("membre", "export_du"))
    # What was done is logged, never what it was about nor whom.
    logged = " ".join(record.getMessage() for record in caplog.records if record.name.startswith("handlers.personal"))
    assert "erased" in logged and ALICE not in logged and "Cantine" not in logged


def test_a_user_id_is_checked(tmp_path, make_config):
    config = make_config()
    with pytest.raises(SystemExit, match="identifiant Matrix"):
        main(["personal-data", "alice", "export", "--config", str(config.path)])
