"""What a reminder row the agenda handles always has.

storage.agenda.ReminderRow types its key and its due time as optional because a row being built
has neither yet. Every row that reaches the engine, the jobs or the commands was saved first, so
it has both: these say so once, instead of each caller checking again.
"""

from __future__ import annotations

from datetime import datetime

from storage.agenda import ReminderRow


def saved_id(row: ReminderRow) -> int:
    if row.id is None:
        raise ValueError("a reminder row reached the agenda before it was saved")
    return row.id


def due_time(row: ReminderRow) -> datetime:
    if row.due_at is None:
        raise ValueError(f"reminder {row.id} has no due time")
    return row.due_at
