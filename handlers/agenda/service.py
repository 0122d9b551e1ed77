"""ReminderService: the agenda's reminders as the bot and the commands see them.

It starts and polls; the work is done by one module per idea: calendars.py (the agenda read
over a window), sync.py (reminder rows brought in line with it), jobs.py (scheduler jobs),
engine.py (claiming and posting each row exactly once), notices.py (the facilitators' room) and
manual.py (facilitators' reminders and broadcasts).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from handlers.agenda.calendars import expand, read_calendars
from handlers.agenda.engine import ReminderEngine
from handlers.agenda.feeds import FeedPoller
from handlers.agenda.jobs import ReminderJobs, add_poll_job
from handlers.agenda.manual import ManualReminders
from handlers.agenda.notices import notify_facilitators
from handlers.agenda.occurrences import Occurrence
from handlers.agenda.planning import SyncReport
from handlers.agenda.sync import sync_reminder_rows
from handlers.agenda.targets import AliasResolver
from handlers.context import Services
from storage.agenda import ReminderRow
from storage.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler


class ReminderService:
    def __init__(
        self,
        services: Services,
        *,
        is_facilitator: Callable[[str], bool] | None = None,
        resolve_alias: AliasResolver | None = None,
        fetch_attempts: int = 3,
        fetch_retry_wait: float = 1.0,
    ) -> None:
        self.services = services
        config = services.config
        # Rights are re-checked when a manual reminder fires; the bot side passes a check that also
        # knows power levels, the default knows the configured list only.
        is_facilitator = is_facilitator or (
            lambda user_id: any(fnmatch.fnmatchcase(user_id, pattern) for pattern in config.access.facilitators)
        )
        self.feeds = FeedPoller(
            services, partial(notify_facilitators, services), attempts=fetch_attempts, retry_wait=fetch_retry_wait
        )
        self.jobs = ReminderJobs(services, self.fire)
        # Aliases the configuration does not map are asked to resolve_alias (the bot's directory), if given.
        self.engine = ReminderEngine(services, self.jobs, is_facilitator=is_facilitator, resolve_alias=resolve_alias)
        self.manual = ManualReminders(services, self.jobs, self.fire, resolve_alias=resolve_alias)

    @property
    def tz(self) -> ZoneInfo:
        return self.services.config.bot.tz

    async def start(self, scheduler: AsyncIOScheduler | None = None) -> None:
        """At bot start: refresh, catch up what came due while down, schedule the rest, poll.

        ``scheduler`` (default: services.scheduler) is an APScheduler 3 AsyncIOScheduler on the
        bot's event loop, started before or after this call.
        """
        scheduler = self.jobs.given_scheduler = scheduler or self.services.scheduler
        await self.sync_from_config_and_feeds()
        await self.fire_due_now()
        await self.rebuild_jobs(scheduler)
        add_poll_job(scheduler, self.poll, self.services.config.agenda.poll_minutes)

    async def poll(self) -> SyncReport:
        """One polling round: feeds, rows, jobs."""
        report = await self.sync_from_config_and_feeds()
        await self.fire_due_now()
        if self.jobs.scheduler is not None:
            await self.rebuild_jobs(self.jobs.scheduler)
        return report

    async def occurrences(
        self, start: datetime, end: datetime, *, refresh: bool = False, work: UnitOfWork | None = None
    ) -> list[Occurrence]:
        """Occurrences in [start, end), cancelled ones included; feeds fetched or from the stored copy.
        `work`, here and below: the event's unit, when a command asks (else a unit of its own)."""
        calendars, _ = await read_calendars(self.services, self.feeds, refresh=refresh, work=work)
        return await expand(self.services, calendars, start, end)

    async def sync_from_config_and_feeds(self, *, refresh: bool = True) -> SyncReport:
        """The rows brought in line with the agenda (see sync.py). Idempotent."""
        return await sync_reminder_rows(self.services, self.feeds, refresh=refresh)

    async def rebuild_jobs(self, scheduler: AsyncIOScheduler) -> int:
        """One job per row still to post; returns the job count."""
        return await self.jobs.rebuild(scheduler, in_flight=self.engine.in_flight)

    async def fire_due_now(self) -> int:
        """Fires every row whose time has come (the catch-up after a restart). Returns how many."""
        return await self.engine.fire_due_now()

    async def fire(self, row_id: int, work: UnitOfWork | None = None) -> None:
        """A row's job: fires that row together with every other row already due (one message per room)."""
        await self.engine.fire(row_id, work)

    async def check_targets(self, targets: tuple[str, ...]) -> None:
        await self.manual.check_targets(targets)

    async def schedule_manual(
        self, text: str, due_at: datetime, targets: tuple[str, ...], created_by: str, work: UnitOfWork | None = None
    ) -> ReminderRow:
        return await self.manual.schedule(text, due_at, targets, created_by, work)

    async def broadcast_now(
        self, text: str, targets: tuple[str, ...], created_by: str, work: UnitOfWork | None = None
    ) -> ReminderRow:
        return await self.manual.broadcast_now(text, targets, created_by, work)

    async def scheduled(
        self, *, limit: int = 10, work: UnitOfWork | None = None
    ) -> tuple[list[ReminderRow], list[ReminderRow]]:
        return await self.manual.scheduled(limit=limit, work=work)

    async def cancel_manual(self, row_id: int, work: UnitOfWork | None = None) -> ReminderRow:
        return await self.manual.cancel(row_id, work)
