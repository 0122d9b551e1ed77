"""The reminder and feed queries of storage/agenda.py, on a real SQLite database."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from storage.agenda import (
    BROADCAST,
    CANCELLATION,
    EVENT,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    SKIPPED,
    FeedCache,
    ReminderRow,
    claim_due_reminders,
    feed_cache,
    finish_reminder,
    next_event_reminders,
    pending_broadcasts,
    record_posted_rooms,
    reminders_a_sync_may_change,
    sending_reminders,
    skip_reminder,
    unfinished_due_times,
)

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
KEYS = itertools.count()


def add(db, **fields) -> ReminderRow:
    """A row of its own occurrence, due now unless told otherwise (``db`` is tests/unit/conftest.py's)."""
    fields.setdefault("due_at", NOW)
    row = ReminderRow(occurrence_key=f"occurrence-{next(KEYS)}", **fields)
    with db.session() as session:
        session.add(row)
        session.flush()
    return row


def statuses(db) -> dict[int, str]:
    with db.session() as session:
        return {row.id: row.status for row in session.exec(select(ReminderRow))}


def test_a_claim_takes_the_due_pending_rows_once_and_records_when(db):
    due = add(db, due_at=NOW - timedelta(minutes=1))
    exactly_now = add(db, due_at=NOW)
    ahead = add(db, due_at=NOW + timedelta(seconds=1))
    sent = add(db, due_at=NOW - timedelta(hours=1), status=SENT)
    with db.session() as session:
        assert claim_due_reminders(session, NOW) == {due.id, exactly_now.id}
    with db.session() as session:
        assert claim_due_reminders(session, NOW) == set()  # a second firing finds nothing to take
        assert [row.id for row in sending_reminders(session)] == [due.id, exactly_now.id]
        assert {row.sent_at for row in sending_reminders(session)} == {NOW}
    assert statuses(db) == {due.id: SENDING, exactly_now.id: SENDING, ahead.id: PENDING, sent.id: SENT}


def test_the_trigger_row_may_be_claimed_a_little_early_and_no_other(db):
    trigger = add(db, due_at=NOW + timedelta(seconds=1))
    other = add(db, due_at=NOW + timedelta(seconds=1))
    with db.session() as session:
        assert claim_due_reminders(session, NOW, trigger=trigger.id, trigger_due_by=NOW + timedelta(seconds=2)) == {
            trigger.id
        }
    assert statuses(db)[other.id] == PENDING


def test_unfinished_rows_are_the_pending_and_the_sending_ones(db):
    pending = add(db, due_at=NOW + timedelta(hours=1))
    sending = add(db, status=SENDING)
    for status in (SENT, SKIPPED, FAILED):
        add(db, status=status)
    with db.session() as session:
        assert sorted(unfinished_due_times(session)) == sorted(
            [(pending.id, pending.due_at), (sending.id, sending.due_at)]
        )


def test_posted_rooms_then_the_outcome_are_recorded(db):
    row = add(db, status=SENDING, sent_at=NOW)
    finished_at = NOW + timedelta(seconds=3)
    with db.session() as session:
        record_posted_rooms(session, row.id, {"!b:x", "!a:x"})
        finish_reminder(session, row.id, SENT, reason="salons non atteints : !c:x", sent_at=finished_at, late=True)
    with db.session() as session:
        stored = session.get(ReminderRow, row.id)
    assert json.loads(stored.posted_rooms) == ["!a:x", "!b:x"]
    assert (stored.status, stored.reason, stored.sent_at, stored.late) == (
        SENT,
        "salons non atteints : !c:x",
        finished_at,
        True,
    )


def test_a_skipped_row_keeps_everything_but_its_status_and_reason(db):
    row = add(db, status=SENDING, sent_at=NOW, posted_rooms='["!a:x"]')
    with db.session() as session:
        skip_reminder(session, row.id, "en retard de 45 min")
    with db.session() as session:
        stored = session.get(ReminderRow, row.id)
    assert (stored.status, stored.reason, stored.sent_at, stored.posted_rooms, stored.late) == (
        SKIPPED,
        "en retard de 45 min",
        NOW,
        '["!a:x"]',
        False,
    )


def test_what_is_scheduled_lists_the_pending_broadcasts_and_the_next_event_reminders(db):
    later_broadcast = add(db, kind=BROADCAST, due_at=NOW + timedelta(days=2))
    broadcast = add(db, kind=BROADCAST, due_at=NOW + timedelta(days=1))
    add(db, kind=BROADCAST, due_at=NOW + timedelta(hours=1), status=SENT)
    events = [add(db, kind=EVENT, due_at=NOW + timedelta(hours=hours)) for hours in (3, 1, 2)]
    add(db, kind=EVENT, due_at=NOW, status=SENT)
    with db.session() as session:
        assert [row.id for row in pending_broadcasts(session)] == [broadcast.id, later_broadcast.id]
        assert [row.id for row in next_event_reminders(session, 2)] == [events[1].id, events[2].id]


def test_a_sync_compares_current_rows_of_occurrences_ahead_and_the_pending_ones(db):
    ahead = add(db, kind=EVENT, start=NOW + timedelta(days=1), status=SENT)
    notice = add(db, kind=CANCELLATION, start=NOW + timedelta(days=1), status=SENT)
    past_but_pending = add(db, kind=EVENT, start=NOW - timedelta(days=1), status=PENDING)
    add(db, kind=EVENT, start=NOW - timedelta(days=1), status=SENT)  # over
    add(db, kind=EVENT, start=NOW + timedelta(days=1), status=SENT, superseded=True)  # replaced by a moved one
    add(db, kind=BROADCAST, start=None, status=PENDING)  # a facilitator's, no occurrence of the agenda
    with db.session() as session:
        assert {row.id for row in reminders_a_sync_may_change(session, NOW)} == {
            ahead.id,
            notice.id,
            past_but_pending.id,
        }


def test_a_feed_never_read_has_a_blank_state_that_is_not_stored(db):
    with db.session() as session:
        blank = feed_cache(session, "https://agenda.example.org/a.ics")
        assert (blank.url, blank.body, blank.failures, blank.next_attempt_at) == (
            "https://agenda.example.org/a.ics",
            "",
            0,
            None,
        )
        session.add(FeedCache(url="https://agenda.example.org/b.ics", body="BEGIN:VCALENDAR", failures=2))
    with db.session() as session:
        stored = feed_cache(session, "https://agenda.example.org/b.ics")
        assert (stored.body, stored.failures) == ("BEGIN:VCALENDAR", 2)
        assert session.get(FeedCache, "https://agenda.example.org/a.ics") is None


def test_one_live_row_per_occurrence_while_superseded_ones_stay_beside_it(db):
    import pytest
    from sqlalchemy.exc import IntegrityError

    key = {"kind": EVENT, "source": "config", "offset_minutes": 15}
    with db.session() as session:
        session.add(ReminderRow(occurrence_key="atelier", due_at=NOW, status=SENT, superseded=True, **key))
        session.add(ReminderRow(occurrence_key="atelier", due_at=NOW + timedelta(hours=1), **key))
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(ReminderRow(occurrence_key="atelier", due_at=NOW + timedelta(hours=2), **key))
