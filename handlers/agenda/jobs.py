"""The scheduler's side of reminders: one APScheduler DateTrigger job per unfinished row, and the
agenda's polling job.

A job is only a wake-up call: the jobs are rebuilt from the rows at every start and poll, and a job
that fires re-reads its row before doing anything (see engine.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

from handlers.agenda.rows import due_time, saved_id
from handlers.context import Services
from storage.agenda import ReminderRow, unfinished_due_times

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

JOB_PREFIX = "reminder-"
POLL_JOB_ID = "agenda-poll"


class ReminderJobs:
    def __init__(self, services: Services, fire: Callable[[int], Awaitable[None]]) -> None:
        self.services = services
        # What a row's job runs, given the row id.
        self.fire = fire
        # The scheduler given to the service's start(), else the one in services (None in most unit tests).
        self.given_scheduler: AsyncIOScheduler | None = None

    @property
    def scheduler(self) -> AsyncIOScheduler | None:
        return self.given_scheduler or self.services.scheduler

    async def rebuild(self, scheduler: AsyncIOScheduler, *, in_flight: set[int]) -> int:
        """One DateTrigger job per row still to post; stale reminder jobs removed. Returns the job count.

        ``in_flight``: rows a firing of this process is posting right now; they need no job, that
        firing finishes them.
        """
        # A job added while the rows are read (a `!rappel` meanwhile) is for a row the read may not
        # see: only the jobs there before it are judged stale.
        before = {job.id for job in scheduler.get_jobs()}
        unfinished = await self.services.units.run(unfinished_due_times)
        wanted = {f"{JOB_PREFIX}{row_id}": due for row_id, due in unfinished if row_id not in in_flight}
        for job in scheduler.get_jobs():
            if job.id.startswith(JOB_PREFIX) and job.id in before and job.id not in wanted:
                job.remove()
        for job_id, due in wanted.items():
            self._add(scheduler, int(job_id[len(JOB_PREFIX) :]), due)
        return len(wanted)

    def schedule(self, row: ReminderRow) -> None:
        if self.scheduler is not None:
            self._add(self.scheduler, saved_id(row), due_time(row))

    def unschedule(self, row_id: int) -> None:
        scheduler = self.scheduler
        if scheduler is not None and scheduler.get_job(f"{JOB_PREFIX}{row_id}") is not None:
            scheduler.remove_job(f"{JOB_PREFIX}{row_id}")

    def _add(self, scheduler: AsyncIOScheduler, row_id: int, due: datetime) -> None:
        # misfire_grace_time=None: APScheduler always runs a late job; the engine decides about lateness.
        scheduler.add_job(
            self.fire,
            "date",
            run_date=due,
            args=[row_id],
            id=f"{JOB_PREFIX}{row_id}",
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
        )


def add_poll_job(scheduler: AsyncIOScheduler, poll: Callable[[], Awaitable[object]], minutes: float) -> None:
    scheduler.add_job(
        poll,
        "interval",
        minutes=minutes,
        id=POLL_JOB_ID,
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=None,
    )
