"""Deposits as rows for other tools: the JSON contract of `manufacture-bot deposits export`, and the
CSV for people (French headings, one column per thing).

JSON objects always carry reference, title, tribe, carrier, depositor, status, visibility,
created_at (ISO 8601) and answers (every field key -> value). What they hold follows the same rule
as the bot's views (handlers.deposits.records.disclosed): a deposit from a confidential room whose
author did not agree to share it is exported with its reference, status and dates only; who made
it and every content value are null.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from handlers.deposits.answers import display_value
from handlers.deposits.form import FieldDef, FormDef
from handlers.deposits.records import STATUS_LABELS, VISIBILITY_LABELS, disclosed
from handlers.text import spreadsheet_safe
from storage.deposits import Deposit


def deposit_rows(deposits: list[Deposit], keys: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """One dict per deposit; ``keys`` (the form's field keys) are guaranteed in every answers dict."""
    rows = []
    for d in deposits:
        seen = disclosed(d)
        answer_keys = list(dict.fromkeys([*keys, *seen["answers"]]))
        rows.append(
            {
                **seen,
                "created_at": seen["created_at"].isoformat(),
                "answers": {k: seen["answers"].get(k) for k in answer_keys},
            }
        )
    return rows


def to_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=2)


# Answers the record states with authority: the record's visibility applies to a confidential
# deposit whatever was answered, and a !partager shares what the form's « non » had kept.
STATED_BY_RECORD = ("visibility", "share_content")


def to_csv(rows: list[dict[str, Any]], form: FormDef, *, for_spreadsheet: bool = False) -> bytes:
    """One line per deposit and one column per thing, headed in French: the record's own facts,
    then every answer under its question's label (choices as their labels, lists joined with « ; »).
    The record's title, tribe and carrier are the answers themselves, so they are not repeated.

    for_spreadsheet (the chat's `!depots export` and the web board) adds a UTF-8 byte-order mark and
    separates columns with « ; »: without the mark, spreadsheet software common in France garbles
    accents, and with commas it puts every line in one column. Tools reading the CLI output get plain
    UTF-8 with commas. In both, a cell that a spreadsheet would read as a formula (« =HYPERLINK(…) »
    typed as an answer) starts with an apostrophe: handlers.text.spreadsheet_safe.
    """
    answer_keys = [k for k in dict.fromkeys(k for row in rows for k in row["answers"]) if k not in STATED_BY_RECORD]
    fields = {f.key: f for f in form.fields}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", delimiter=";" if for_spreadsheet else ",")

    def write(cells: list[str]) -> None:
        # Members typed most cells: none may run as a formula, whoever opens the file (CLI output too).
        writer.writerow([spreadsheet_safe(cell) for cell in cells])

    write(
        ["Référence", "Statut", "Déposé le", "Déposé par"]
        + [fields[k].label if k in fields else k for k in answer_keys]
        + [
            "Visibilité",
            "Depuis un espace confidentiel",
            "Contenu transmis à l'équipe d'animation",
            "Dernier commentaire",
        ]
    )
    for row in rows:
        comments = [h.get("comment") for h in row["history"] if h.get("comment")]
        write(
            [
                row["reference"],
                STATUS_LABELS.get(row["status"], row["status"]),
                row["created_at"],
                _cell(row["depositor"]),
            ]
            + [_answer_cell(fields.get(k), row["answers"].get(k)) for k in answer_keys]
            + [
                VISIBILITY_LABELS.get(row["visibility"], row["visibility"]),
                _cell(row["origin_confidential"]),
                _cell(row["content_shared"]),
                comments[-1] if comments else "",
            ]
        )
    data = buffer.getvalue().encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if for_spreadsheet else data


def _answer_cell(field: FieldDef | None, value: Any) -> str:
    # Dates stay ISO, which every spreadsheet sorts; a field gone from the form keeps its raw value.
    if field is None or value is None or field.type == "date":
        return _cell(value)
    if field.type == "choices" and isinstance(value, list):
        return "; ".join(display_value(field, [v]) for v in value)
    return display_value(field, value)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)
