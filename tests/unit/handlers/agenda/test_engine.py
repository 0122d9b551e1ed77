"""The engine: each row posted exactly once, across crashes and restarts; grace, rights, digests."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from storage.agenda import BROADCAST, EVENT, PENDING, SENDING, SENT, SKIPPED, ReminderRow
from tests.unit.handlers.agenda.harness import ANIM, FACILITATORS, PEER, TRIBES, digest_key, manual_rows


async def test_fire_posts_once_per_room_with_row_derived_txn_keys(harness):
    service = harness.service()
    await service.sync_from_config_and_feeds()
    row = harness.rows()[0]
    harness.clock.now = row.due_at + timedelta(seconds=2)
    await service.fire(row.id)
    await service.fire(row.id)  # the job and the catch-up may both try
    assert sorted(room for room, _, _ in harness.poster.attempts) == sorted([*TRIBES, PEER])
    assert set(harness.poster.txn_keys()) == {f"reminder-{row.id}-{room}" for room in (*TRIBES, PEER)}
    text = harness.poster.to(PEER)[0]
    assert "Permanence" in text and "demain" in text and "mardi 2 mars 2027 à 10h00" in text
    assert "https://visio.example.org/permanence" in text and "retard" not in text
    stored = harness.rows()[0]
    assert stored.status == SENT and not stored.late and stored.sent_at == harness.clock.now


async def test_late_within_grace_is_marked_and_beyond_grace_is_skipped(harness):
    service = harness.service()
    await service.sync_from_config_and_feeds()
    day_before, quarter = harness.rows()[:2]
    harness.clock.now = day_before.due_at + timedelta(minutes=20)
    assert await service.fire_due_now() == 1
    assert all("(rappel envoyé en retard)" in text for _, _, text in harness.poster.attempts)
    assert harness.rows(id=day_before.id)[0].late
    harness.poster.attempts.clear()
    harness.clock.now = quarter.due_at + timedelta(minutes=31)
    await service.fire_due_now()
    assert harness.poster.attempts == []
    assert harness.rows(id=quarter.id)[0].status == SKIPPED


async def test_restart_around_firing_time_posts_nothing_twice(harness):
    before = harness.service()
    await before.sync_from_config_and_feeds()
    row = harness.rows()[0]
    harness.clock.now = row.due_at
    await before.fire(row.id)
    # Restart a few seconds later: catch-up and rebuilt jobs must not repost the sent row.
    harness.clock.now = row.due_at + timedelta(seconds=5)
    after = harness.service()
    await after.sync_from_config_and_feeds()
    assert await after.fire_due_now() == 0
    await after.fire(row.id)
    keys = harness.poster.txn_keys()
    assert len(keys) == len(set(keys)) == 3


async def test_crash_mid_posting_resumes_the_remaining_rooms_only(harness):
    first = harness.service()
    await first.sync_from_config_and_feeds()
    row = harness.rows()[0]
    harness.clock.now = row.due_at
    harness.poster.crash_after = 1  # the process dies after the first room's post
    with pytest.raises(asyncio.CancelledError):
        await first.fire(row.id)
    crashed = harness.rows(id=row.id)[0]
    assert crashed.status == SENDING and len(crashed.posted_room_list) == 1
    harness.poster.crash_after = None
    await harness.service().fire_due_now()
    rooms = [room for room, _, _ in harness.poster.attempts]
    assert sorted(rooms) == sorted([*TRIBES, PEER])  # each room exactly once
    assert harness.rows(id=row.id)[0].status == SENT


async def test_rights_are_checked_when_a_manual_reminder_fires(harness):
    service = harness.service()
    due = harness.clock.now + timedelta(hours=1)
    row = await service.schedule_manual("Pensez à l'Agora", due, ("tribus",), ANIM)
    harness.facilitators.clear()
    harness.clock.now = due
    await service.fire(row.id)
    assert [room for room, _, _ in harness.poster.attempts] == [FACILITATORS]
    assert "ne fait plus partie" in harness.poster.to(FACILITATORS)[0]
    assert harness.rows(id=row.id)[0].status == SKIPPED


async def test_unreachable_room_is_reported_to_facilitators(harness):
    service = harness.service()
    harness.poster.unreachable.add(PEER)
    row = await service.broadcast_now("Agora demain", ("tous",), ANIM)
    assert row.status == SENT and sorted(row.posted_room_list) == sorted(TRIBES)
    notice = harness.poster.to(FACILITATORS)
    assert len(notice) == 1 and PEER in notice[0]


async def test_a_job_left_at_the_old_time_of_a_moved_occurrence_does_not_fire_early(harness):
    service = harness.service()
    await service.sync_from_config_and_feeds()
    row = harness.rows()[0]
    later = row.due_at + timedelta(hours=3)
    with harness.db.session() as session:  # what a sync does when the occurrence moves later
        stored = session.get(ReminderRow, row.id)
        stored.due_at = later
        session.add(stored)
    harness.clock.now = row.due_at
    await service.fire(row.id)
    assert harness.poster.attempts == [] and harness.rows(id=row.id)[0].status == PENDING
    harness.clock.now = later
    await service.fire(row.id)
    assert len(harness.poster.attempts) == 3


async def test_rows_due_together_for_one_room_go_out_as_one_digest(harness):
    service = harness.service()
    await service.sync_from_config_and_feeds()
    due = harness.clock.now + timedelta(hours=1)
    early = await service.schedule_manual("Rappel déjà en retard", due - timedelta(minutes=5), ("pairs",), ANIM)
    rows = [early, *await manual_rows(service, due, ("Agora à 14h", ("pairs",)), ("Apportez vos cartes", ("pairs",)))]
    harness.clock.now = due
    await service.fire(rows[1].id)  # one row's job takes every row already due along
    for row in rows:
        await service.fire(row.id)  # the other jobs find nothing left to do
    assert harness.poster.attempts and [room for room, _, _ in harness.poster.attempts] == [PEER]
    _, key, text = harness.poster.attempts[0]
    assert key == digest_key(PEER, [r.id for r in rows]) == digest_key(PEER, [r.id for r in reversed(rows)])
    assert harness.poster.tags == ["reminders:" + ",".join(str(r.id) for r in rows)]
    assert "3 rappels" in text
    positions = [text.index(f"📢 {r.text}") for r in rows]
    assert positions == sorted(positions)  # in due order
    assert text.count("(rappel envoyé en retard)") == 1  # only the late one says so
    stored = harness.rows(kind=BROADCAST)
    assert [(r.status, r.posted_room_list, r.late) for r in stored] == [
        (SENT, [PEER], True),
        (SENT, [PEER], False),
        (SENT, [PEER], False),
    ]
    # The event reminders, not due yet, were left alone.
    assert {r.status for r in harness.rows(kind=EVENT)} == {PENDING}


async def test_rows_for_different_rooms_give_one_post_per_room(harness):
    service = harness.service()
    due = harness.clock.now + timedelta(hours=1)
    a, b, c, d = await manual_rows(
        service,
        due,
        ("A pour les pairs", ("pairs",)),
        ("B pour les pairs", ("pairs",)),
        ("C pour t1", ("!t1:x",)),
        ("D pour les tribus", ("tribus",)),
    )
    harness.clock.now = due
    assert await service.fire_due_now() == 4
    attempts = {room: (key, text) for room, key, text in harness.poster.attempts}
    assert len(harness.poster.attempts) == len(attempts) == 3  # one message per room
    assert attempts[PEER][0] == digest_key(PEER, [a.id, b.id])
    assert "A pour les pairs" in attempts[PEER][1] and "B pour les pairs" in attempts[PEER][1]
    assert attempts["!t1:x"][0] == digest_key("!t1:x", [c.id, d.id])
    assert "C pour t1" in attempts["!t1:x"][1] and "D pour les tribus" in attempts["!t1:x"][1]
    # Alone in its room: the row's own message and key, exactly as before digests.
    assert attempts["!t2:x"] == (f"reminder-{d.id}-!t2:x", "📢 D pour les tribus")
    assert sorted(harness.rows(id=d.id)[0].posted_room_list) == ["!t1:x", "!t2:x"]
    assert {r.status for r in harness.rows(kind=BROADCAST)} == {SENT}


async def test_a_single_due_row_keeps_its_own_message_and_key(harness):
    service = harness.service()
    due = harness.clock.now + timedelta(hours=1)
    row = await service.schedule_manual("Pensez à l'Agora", due, ("pairs",), ANIM)
    await service.schedule_manual("Plus tard", due + timedelta(minutes=1), ("pairs",), ANIM)  # not due yet
    harness.clock.now = due
    await service.fire(row.id)
    assert harness.poster.attempts == [(PEER, f"reminder-{row.id}-{PEER}", "📢 Pensez à l'Agora")]
    assert harness.poster.tags == [f"reminder:{row.id}"]
    assert [r.status for r in harness.rows(kind=BROADCAST)] == [SENT, PENDING]


async def test_restart_after_a_partial_digest_posts_only_to_the_rooms_not_reached(harness):
    first = harness.service()
    due = harness.clock.now + timedelta(hours=1)
    rows = await manual_rows(first, due, ("Agora", ("tous",)), ("Compost", ("tous",)))
    ids = [r.id for r in rows]
    harness.clock.now = due
    harness.poster.crash_after = 1  # the process dies after the first room's digest
    with pytest.raises(asyncio.CancelledError):
        await first.fire(rows[0].id)
    crashed = harness.rows(kind=BROADCAST)
    assert {r.status for r in crashed} == {SENDING}
    reached = crashed[0].posted_room_list
    assert len(reached) == 1 and crashed[1].posted_room_list == reached  # recorded for every row of the group
    harness.poster.crash_after = None
    harness.clock.now = due + timedelta(seconds=30)
    await harness.service().fire_due_now()
    rooms = [room for room, _, _ in harness.poster.attempts]
    assert sorted(rooms) == sorted([*TRIBES, PEER])  # each room exactly once
    assert harness.poster.txn_keys() == [digest_key(room, ids) for room in rooms]
    assert all("Agora" in text and "Compost" in text for _, _, text in harness.poster.attempts)
    assert [(r.status, sorted(r.posted_room_list)) for r in harness.rows(kind=BROADCAST)] == [
        (SENT, sorted([*TRIBES, PEER]))
    ] * 2


async def test_a_crash_between_post_and_record_retries_with_the_same_digest_key(harness):
    first = harness.service()
    due = harness.clock.now + timedelta(hours=1)
    rows = await manual_rows(first, due, ("Agora", ("pairs",)), ("Compost", ("pairs",)))
    harness.clock.now = due
    harness.poster.crash_after_accepting = 0  # the homeserver took the digest; the bot died before recording it
    with pytest.raises(asyncio.CancelledError):
        await first.fire(rows[0].id)
    assert [r.posted_room_list for r in harness.rows(kind=BROADCAST)] == [[], []]
    harness.poster.crash_after_accepting = None
    # A row falling due meanwhile must not change the group the retry forms.
    later = await harness.service().schedule_manual("Arrivé entre-temps", due + timedelta(seconds=20), ("pairs",), ANIM)
    harness.clock.now = due + timedelta(seconds=30)
    await harness.service().fire_due_now()
    keys = harness.poster.txn_keys()
    # The retry reuses the first key (the homeserver drops that duplicate); the newcomer goes alone.
    assert keys == [digest_key(PEER, [r.id for r in rows])] * 2 + [f"reminder-{later.id}-{PEER}"]
    assert {r.status for r in harness.rows(kind=BROADCAST)} == {SENT}


async def test_an_unreachable_room_is_reported_once_per_firing(harness):
    service = harness.service()
    harness.poster.unreachable.add(PEER)
    due = harness.clock.now + timedelta(hours=1)
    rows = await manual_rows(service, due, ("Agora", ("tous",)), ("Compost", ("tous",)), ("Pairs seuls", ("pairs",)))
    harness.clock.now = due
    await service.fire_due_now()
    notices = harness.poster.to(FACILITATORS)
    assert len(notices) == 1 and PEER in notices[0]
    assert all(f"n°{r.id}" in notices[0] for r in rows)
    stored = {r.id: r for r in harness.rows(kind=BROADCAST)}
    assert stored[rows[0].id].status == stored[rows[1].id].status == SENT
    assert sorted(stored[rows[0].id].posted_room_list) == sorted(TRIBES)
    assert PEER in stored[rows[0].id].reason
    assert stored[rows[2].id].status == "failed" and stored[rows[2].id].posted_room_list == []


def sample(service, name: str, **labels) -> float:
    value = service.services.metrics.registry.get_sample_value(name, labels or None)
    assert value is not None, f"no sample {name} {labels}"
    return value


async def test_lateness_is_measured_when_posted_and_a_reminder_beyond_grace_counts_as_missed(harness):
    service = harness.service()
    await service.sync_from_config_and_feeds()
    day_before, quarter = harness.rows()[:2]
    harness.clock.now = day_before.due_at + timedelta(minutes=20)
    await service.fire_due_now()
    # Posted 20 min late: one observation, in the 30-min bucket and not the 15-min one.
    assert sample(service, "manufacture_reminder_lateness_seconds_count") == 1
    assert sample(service, "manufacture_reminder_lateness_seconds_sum") == 20 * 60
    assert sample(service, "manufacture_reminder_lateness_seconds_bucket", le="1800.0") == 1
    assert sample(service, "manufacture_reminder_lateness_seconds_bucket", le="900.0") == 0
    assert sample(service, "manufacture_reminders_missed_total", reason="beyond_grace") == 0
    harness.clock.now = quarter.due_at + timedelta(minutes=31)
    await service.fire_due_now()
    assert sample(service, "manufacture_reminders_missed_total", reason="beyond_grace") == 1
    assert sample(service, "manufacture_reminder_lateness_seconds_count") == 1


async def test_a_reminder_reaching_no_room_counts_as_undelivered(harness):
    service = harness.service()
    harness.poster.unreachable.update((*TRIBES, PEER))
    row = await service.broadcast_now("Agora demain", ("tous",), ANIM)
    assert row.status != SENT
    assert sample(service, "manufacture_reminders_missed_total", reason="undelivered") == 1
    assert sample(service, "manufacture_reminder_lateness_seconds_count") == 0
