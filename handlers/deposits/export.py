"""Deposits as rows for other tools: the JSON and CSV contract of `manufacture-bot deposits export`.

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

from handlers.deposits.records import disclosed
from storage.deposits import Deposit


def deposit_rows(deposits: list[Deposit], keys: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """One dict per deposit; ``keys`` (the form's field keys) are guaranteed in every answers dict."""
    rows = []
    for d in deposits:
        seen = disclosed(d)
        answer_keys = list(dict.fromkeys([*keys, *seen["answers"]]))
        rows.append({**seen, "created_at": seen["created_at"].isoformat(),
                     "answers": {k: seen["answers"].get(k) for k in answer_keys}})
    return rows


def to_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=2)


def to_csv(rows: list[dict[str, Any]], *, for_spreadsheet: bool = False) -> bytes:
    """One line per deposit, one column per answer; lists joined with « ; ».

    for_spreadsheet adds a UTF-8 byte-order mark: without it, spreadsheet software common in
    France garbles accents. Tools reading the CLI output get plain UTF-8.
    """
    fixed = ["reference", "title", "tribe", "carrier", "depositor", "status", "visibility",
             "origin_confidential", "content_shared", "created_at"]
    answer_keys = list(dict.fromkeys(k for row in rows for k in row["answers"]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(fixed + answer_keys + ["last_comment"])
    for row in rows:
        comments = [h.get("comment") for h in row["history"] if h.get("comment")]
        writer.writerow([_cell(row[k]) for k in fixed] + [_cell(row["answers"].get(k)) for k in answer_keys]
                        + [comments[-1] if comments else ""])
    data = buffer.getvalue().encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if for_spreadsheet else data


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)
