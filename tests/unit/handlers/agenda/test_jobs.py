"""Scheduler jobs rebuilt from the rows, and fired by a real APScheduler."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.unit.handlers.agenda.harness import ANIM, PEER


async def test_rebuild_jobs_with_a_real_scheduler_fires_through_apscheduler(harness):
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.start()
    try:
        service = harness.service(scheduler)
        await service.sync_from_config_and_feeds()
        assert await service.rebuild_jobs(scheduler) == 4
        assert {job.id for job in scheduler.get_jobs()} == {f"reminder-{r.id}" for r in harness.rows()}
        # A manual reminder half a second ahead in real time; the logic clock agrees.
        real_due = datetime.now(UTC) + timedelta(seconds=0.5)
        harness.clock.now = real_due
        row = await service.schedule_manual("Dans un instant", real_due, ("pairs",), ANIM)
        for _ in range(40):
            await asyncio.sleep(0.05)
            if harness.poster.attempts:
                break
        assert [room for room, _, _ in harness.poster.attempts] == [PEER]
        assert scheduler.get_job(f"reminder-{row.id}") is None
        # Rebuilding again drops nothing pending and adds nothing for the sent row.
        assert await service.rebuild_jobs(scheduler) == 4
    finally:
        scheduler.shutdown(wait=False)
