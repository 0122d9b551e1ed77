"""Rows read again, fresh from the database.

A handler often reads or saves a row, awaits something, then changes the row in a later step. The
event's unit of work keeps one session for all its steps, which would hand back the row as it was
first read: it is read again, so a change made meanwhile (a job, the board) is not overwritten.
The rows read this way are never deleted (drafts, deposits, questions, reminders), so one that is
gone is a bug to report at once, not a case for each caller to handle.
"""

from __future__ import annotations

from typing import TypeVar

from sqlmodel import Session, SQLModel

_Row = TypeVar("_Row", bound=SQLModel)


def reread(session: Session, model: type[_Row], key: int | None) -> _Row:
    row = session.get(model, key, populate_existing=True)
    if row is None:
        raise LookupError(f"{model.__name__} {key} is no longer in the database")
    return row
