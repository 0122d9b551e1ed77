"""ReminderService's start: catch up, schedule the rest, poll."""

from __future__ import annotations

from datetime import UTC, timedelta

from storage.agenda import PENDING


async def test_start_catches_up_within_grace_and_schedules_the_rest(harness):
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    await harness.service().sync_from_config_and_feeds()
    day_before = harness.rows()[0]
    # The bot was down when the day-before reminder came due; it restarts 10 minutes later.
    harness.clock.now = day_before.due_at + timedelta(minutes=10)
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.start(paused=True)  # jobs are inspected, not run
    try:
        await harness.service().start(scheduler)
        assert len(harness.poster.attempts) == 3
        assert all("(rappel envoyé en retard)" in text for _, _, text in harness.poster.attempts)
        pending = {f"reminder-{r.id}" for r in harness.rows(status=PENDING)}
        assert len(pending) == 3
        assert {job.id for job in scheduler.get_jobs()} == pending | {"agenda-poll"}
    finally:
        scheduler.shutdown(wait=False)
