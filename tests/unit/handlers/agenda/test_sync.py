"""A sync: one row per occurrence × offset, moved, cancelled and re-armed as the calendars change."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

from config import FeedConfig
from storage.agenda import CANCELLATION, CANCELLED, EVENT, PENDING, SENT, SKIPPED
from tests.unit.handlers.agenda.harness import (
    FACILITATORS,
    PARIS,
    PEER,
    PERMANENCE_START,
    Harness,
    feed_harness,
    ics,
    vevent,
)


async def test_sync_creates_one_row_per_occurrence_and_offset_and_is_idempotent(harness):
    service = harness.service()
    first = await service.sync_from_config_and_feeds()
    rows = harness.rows()
    # 60 days from 2027-02-25: permanences of 2 March and 6 April, two reminders each.
    assert first.created == 4 and len(rows) == 4
    assert [r.due_at for r in rows[:2]] == [
        PERMANENCE_START - timedelta(days=1),
        PERMANENCE_START - timedelta(minutes=15),
    ]
    assert all(r.status == PENDING and r.kind == EVENT for r in rows)
    again = await service.sync_from_config_and_feeds()
    assert (again.created, again.moved, again.cancelled) == (0, 0, 0) and len(harness.rows()) == 4


async def test_reminders_after_the_spring_change_keep_local_time(harness):
    await harness.service().sync_from_config_and_feeds()
    april = [r for r in harness.rows() if r.start.astimezone(PARIS).month == 4]
    assert [r.due_at.astimezone(PARIS) for r in april] == [
        datetime(2027, 4, 5, 10, 0, tzinfo=PARIS),
        datetime(2027, 4, 6, 9, 45, tzinfo=PARIS),
    ]
    assert april[0].due_at.astimezone(UTC).hour == 8


async def test_feed_changes_between_polls_move_cancel_and_add(tmp_path, feed_server):
    feed_server.body = ics(
        vevent("atelier", "20270304T140000", "Atelier"),
        vevent("initiation", "20270305T100000", "Initiation", "CATEGORIES:Pairs"),
        vevent("agora", "20270310T180000", "Agora", "RRULE:FREQ=WEEKLY;COUNT=2"),
    )
    harness = feed_harness(tmp_path, feed_server.url)
    service = harness.service()
    report = await service.sync_from_config_and_feeds()
    assert report.created == 8 and not report.feed_errors
    initiation_day_before = harness.rows(occurrence_key="initiation", offset_minutes=1440)[0]
    assert initiation_day_before.target_list == ["pairs"]
    # The initiation's day-before reminder goes out...
    harness.clock.now = initiation_day_before.due_at
    await service.fire_due_now()
    assert len(harness.poster.to(PEER)) == 1

    # ...then the calendar changes: atelier moved, initiation cancelled, agora's 2nd date removed,
    # a new event appears.
    feed_server.body = ics(
        vevent("atelier", "20270308T090000", "Atelier"),
        vevent("initiation", "20270305T100000", "Initiation", "CATEGORIES:Pairs", "STATUS:CANCELLED"),
        vevent(
            "agora", "20270310T180000", "Agora", "RRULE:FREQ=WEEKLY;COUNT=2", "EXDATE;TZID=Europe/Paris:20270317T180000"
        ),
        vevent("nouveau", "20270312T100000", "Journée des pairs"),
    )
    report = await service.poll()
    # The atelier's day-before reminder had been skipped (the clock jumped past it); that record stays,
    # superseded, and the move re-arms both reminders.
    atelier = harness.rows(occurrence_key="atelier", superseded=False)
    assert len(harness.rows(occurrence_key="atelier", superseded=True, status=SKIPPED)) == 1
    assert {r.due_at for r in atelier} == {
        datetime(2027, 3, 7, 9, tzinfo=PARIS),
        datetime(2027, 3, 8, 8, 45, tzinfo=PARIS),
    }
    assert all(r.status == PENDING for r in atelier)
    initiation = harness.rows(occurrence_key="initiation", kind=EVENT)
    assert {r.status for r in initiation} == {SENT, CANCELLED}
    second_agora = [r for r in harness.rows(kind=EVENT) if r.occurrence_key.startswith("agora|20270317")]
    assert {r.status for r in second_agora} == {CANCELLED}
    assert len(harness.rows(occurrence_key="nouveau")) == 2
    # The cancellation notice went to the room that had the reminder, once.
    notices = harness.rows(kind=CANCELLATION)
    assert len(notices) == 1 and notices[0].status == SENT
    peer_messages = harness.poster.to(PEER)
    assert len(peer_messages) == 2 and "Annulé : Initiation" in peer_messages[1]
    await service.poll()
    await harness.service().poll()  # a restart changes nothing either
    assert len(harness.poster.to(PEER)) == 2 and len(harness.rows(kind=CANCELLATION)) == 1
    assert report.cancelled == 3  # initiation 15m, agora 17 March x2


async def test_feed_never_read_leaves_rows_alone_and_config_events_still_work(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    feed = FeedConfig(url=f"http://127.0.0.1:{port}/x.ics", name="Absent")
    harness = Harness(tmp_path, PERMANENCE_START - timedelta(days=5), feeds=(feed,))
    report = await harness.service().sync_from_config_and_feeds()
    assert report.created == 4 and report.feed_errors
    assert "aucune copie valide" in harness.poster.to(FACILITATORS)[0]
