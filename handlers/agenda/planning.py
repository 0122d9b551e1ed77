"""From occurrences to reminder rows: what a sync changes in the database.

Pure database logic, no I/O besides the session: given every live occurrence in the window, it
creates, moves, re-arms and cancels rows, and queues one cancellation notice per occurrence whose
reminder already went out. Running it twice with the same occurrences changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypedDict

from sqlmodel import Session

from config import parse_offset_minutes
from handlers.agenda.occurrences import Occurrence
from storage.agenda import (
    CANCELLATION,
    CANCELLED,
    EVENT,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    SKIPPED,
    ReminderRow,
    reminders_a_sync_may_change,
)


@dataclass
class SyncReport:
    created: int = 0
    moved: int = 0
    cancelled: int = 0
    notices: int = 0
    feed_errors: dict[str, str] = field(default_factory=dict)


def _context(occurrence: Occurrence) -> str:
    return json.dumps(
        {
            "location": occurrence.location,
            "link": occurrence.link,
            "all_day": occurrence.all_day,
            "end": occurrence.end.isoformat(),
        },
        ensure_ascii=False,
    )


def apply_occurrences(
    session: Session,
    occurrences: list[Occurrence],
    live_sources: set[str],
    configured: set[str],
    now: datetime,
    horizon_end: datetime,
    report: SyncReport,
) -> None:
    """Brings the rows in line with ``occurrences`` (every occurrence from ``now`` on, of every source
    in ``live_sources``). ``configured`` lists the sources still in the configuration: rows of other
    sources are cancelled, whereas a configured source missing from ``live_sources`` (a feed never
    read successfully) keeps its rows untouched.
    """
    rows = reminders_a_sync_may_change(session, now)
    existing = {(r.kind, r.source, r.occurrence_key, r.offset_minutes): r for r in rows}
    present: set[tuple[str, str]] = set()
    for occurrence in occurrences:
        if occurrence.cancelled:
            continue
        present.add((occurrence.source, occurrence.key))
        for offset_text in occurrence.reminders:
            offset = parse_offset_minutes(offset_text)
            due = (occurrence.anchor - timedelta(minutes=offset)).astimezone(UTC)
            row = existing.get((EVENT, occurrence.source, occurrence.key, offset))
            _upsert(session, row, occurrence, offset, due, now, horizon_end, report)

    notices: dict[tuple[str, str], list[ReminderRow]] = {}
    for row in rows:
        if row.kind != EVENT or (row.source, row.occurrence_key) in present:
            continue
        if row.source not in configured:
            gone = True  # the event's source left the configuration
        elif row.source in live_sources and row.start is not None and row.start >= now:
            gone = True  # its source was read and no longer lists it (or lists it cancelled)
        else:
            gone = False
        if not gone:
            continue
        if row.status == PENDING:
            row.status, row.reason = CANCELLED, "événement annulé ou retiré"
            session.add(row)
            report.cancelled += 1
        elif row.status in (SENT, SENDING) and row.source in configured:
            notices.setdefault((row.source, row.occurrence_key), []).append(row)
    for (source, key), sent_rows in notices.items():
        if (CANCELLATION, source, key, 0) in existing:
            continue  # told once already
        targets: list[str] = []
        for sent in sent_rows:
            targets.extend(t for t in sent.target_list if t not in targets)
        first = sent_rows[0]
        session.add(
            ReminderRow(
                kind=CANCELLATION,
                source=source,
                occurrence_key=key,
                title=first.title,
                start=first.start,
                offset_minutes=0,
                due_at=now,
                targets=json.dumps(targets),
                context=first.context,
            )
        )
        report.notices += 1


class _OccurrenceFields(TypedDict):
    """What a reminder row copies from its occurrence, and follows when the occurrence changes."""

    title: str
    start: datetime
    targets: str
    context: str


def _upsert(
    session: Session,
    row: ReminderRow | None,
    occurrence: Occurrence,
    offset: int,
    due: datetime,
    now: datetime,
    horizon_end: datetime,
    report: SyncReport,
) -> None:
    start_utc = occurrence.start.astimezone(UTC)
    fields: _OccurrenceFields = {
        "title": occurrence.title,
        "start": start_utc,
        "targets": json.dumps(list(occurrence.rooms)),
        "context": _context(occurrence),
    }
    if row is None:
        # Reminders whose time has passed are not invented for a newly seen occurrence.
        if now <= due and occurrence.start < horizon_end:
            session.add(
                ReminderRow(
                    kind=EVENT,
                    source=occurrence.source,
                    occurrence_key=occurrence.key,
                    offset_minutes=offset,
                    due_at=due,
                    **fields,
                )
            )
            report.created += 1
        return
    moved = row.start != start_utc
    if row.status == PENDING:
        if moved or any(getattr(row, k) != v for k, v in fields.items()):
            for name, value in fields.items():
                setattr(row, name, value)
            row.due_at = due
            session.add(row)
            report.moved += moved
    elif row.status == CANCELLED and due >= now:
        # The occurrence came back (un-cancelled in the calendar).
        for name, value in fields.items():
            setattr(row, name, value)
        row.due_at, row.status, row.reason = due, PENDING, ""
        session.add(row)
        report.created += 1
    elif row.status in (SENT, SKIPPED, FAILED) and moved and due >= now:
        # Already handled for the old time: keep that record, and remind again for the new time
        # under a new row (hence new transaction ids).
        row.superseded = True
        session.add(row)
        session.flush()
        session.add(
            ReminderRow(
                kind=EVENT,
                source=occurrence.source,
                occurrence_key=occurrence.key,
                offset_minutes=offset,
                due_at=due,
                **fields,
            )
        )
        report.moved += 1
