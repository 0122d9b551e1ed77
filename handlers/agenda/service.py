"""ReminderService: turns the agenda into reminder rows and posts each row exactly once.

Exactly once, across restarts:
- The database row is the truth. The scheduler only holds one DateTrigger job per pending row
  ("reminder-<id>") and is rebuilt from the rows at every start; a job that fires re-reads its row
  and does nothing unless it is still pending.
- Firing claims the row (pending -> sending) in one conditional UPDATE, so the start-up catch-up and
  a scheduler job cannot both post it.
- Each room's post carries txn_key "reminder-<id>-<room>", from which the sender derives the Matrix
  transaction id. The row is marked sent only AFTER posting: if the bot dies between the post and
  the commit, the row is still "sending" at the next start and is posted again with the same
  transaction ids, which the homeserver deduplicates for the same device's access token. Marking
  before posting would instead lose the reminder on such a crash. Rooms already posted to are
  recorded after each post, which narrows that window to a single room.
- Lateness is ours to judge, not APScheduler's: within grace_minutes a reminder goes out marked
  late; beyond, it is skipped (logged by id, never by content).
"""
from __future__ import annotations

import asyncio
import fnmatch
import json
import logging
import uuid
from datetime import datetime, timedelta, timezone
from typing import Callable

from sqlalchemy import update
from sqlmodel import col, select

from handlers.agenda.feeds import FeedPoller, cached_calendars
from handlers.agenda.occurrences import CONFIG_SOURCE, Occurrence, expand_all, feed_source
from handlers.agenda.planning import SyncReport, apply_occurrences
from handlers.agenda.targets import AliasResolver, facilitators_room_id, resolve_aliases, resolve_targets
from handlers.context import Services
from handlers.french import format_date_fr, format_datetime_fr, format_delay_fr
from handlers.replies import Reply, UserError
from storage.agenda import (BROADCAST, CANCELLATION, CANCELLED, EVENT, FAILED, PENDING, SENDING, SENT,
                            SKIPPED, ReminderRow)

log = logging.getLogger(__name__)

MANUAL_SOURCE = "manual"
JOB_PREFIX = "reminder-"
POLL_JOB_ID = "agenda-poll"
# A reminder posted more than this after its due time says so; scheduling jitter is not "late".
LATE_AFTER = timedelta(minutes=1)
# A job firing this much before its row's due time belongs to an older due time.
EARLY_TOLERANCE = timedelta(seconds=2)
# Occurrences are matched a little beyond the horizon, so an occurrence moved just past it is seen
# as moved rather than removed (which would send a cancellation notice).
MATCH_MARGIN = timedelta(days=31)
TEMPLATES = {EVENT: "agenda/reminder.md.j2", BROADCAST: "agenda/broadcast.md.j2",
             CANCELLATION: "agenda/cancellation.md.j2"}


class ReminderService:
    def __init__(self, services: Services, *, is_facilitator: Callable[[str], bool] | None = None,
                 resolve_alias: AliasResolver | None = None, fetch_attempts: int = 3,
                 fetch_retry_wait: float = 1.0) -> None:
        self.services = services
        config = services.config
        # Rights are re-checked when a manual reminder fires; the bot side passes a check that also
        # knows power levels, the default knows the configured list only.
        self.is_facilitator = is_facilitator or (
            lambda user_id: any(fnmatch.fnmatchcase(user_id, pattern) for pattern in config.access.facilitators))
        # Aliases the configuration does not map are asked to this (the bot's directory), if given.
        self.resolve_alias = resolve_alias
        self.feeds = FeedPoller(services, self._notify_facilitators, attempts=fetch_attempts,
                                retry_wait=fetch_retry_wait)
        # Rows being fired by this process: a second firing of the same row while the first is
        # still posting returns at once (the DB claim covers other processes).
        self._in_flight: set[int] = set()
        # The scheduler given to start(), else the one in services (None in most unit tests).
        self._given_scheduler = None

    @property
    def tz(self):
        return self.services.config.bot.tz

    @property
    def scheduler(self):
        return self._given_scheduler or self.services.scheduler

    # ---------------------------------------------------------------- lifecycle

    async def start(self, scheduler=None) -> None:
        """At bot start: refresh, catch up what came due while down, schedule the rest, poll.

        ``scheduler`` (default: services.scheduler) is an APScheduler 3 AsyncIOScheduler on the
        bot's event loop, started before or after this call.
        """
        scheduler = self._given_scheduler = scheduler or self.services.scheduler
        await self.sync_from_config_and_feeds()
        await self.fire_due_now()
        self.rebuild_jobs(scheduler)
        scheduler.add_job(self.poll, "interval", minutes=self.services.config.agenda.poll_minutes,
                          id=POLL_JOB_ID, replace_existing=True, coalesce=True, max_instances=1,
                          misfire_grace_time=None)

    async def poll(self) -> SyncReport:
        """One polling round: feeds, rows, jobs."""
        report = await self.sync_from_config_and_feeds()
        await self.fire_due_now()
        if self.scheduler is not None:
            self.rebuild_jobs(self.scheduler)
        return report

    # ---------------------------------------------------------------- occurrences

    async def occurrences(self, start: datetime, end: datetime, *, refresh: bool = False) -> list[Occurrence]:
        """Occurrences in [start, end), cancelled ones included; feeds fetched or from the stored copy."""
        calendars, _ = await self._calendars(refresh)
        agenda = self.services.config.agenda
        return await asyncio.to_thread(expand_all, agenda.recurring, calendars, self.tz, start, end)

    async def _calendars(self, refresh: bool) -> tuple[dict[str, tuple], dict[str, str]]:
        if not refresh:
            return await asyncio.to_thread(cached_calendars, self.services), {}
        calendars: dict[str, tuple] = {}
        errors: dict[str, str] = {}
        states = await asyncio.gather(*(self.feeds.refresh(feed) for feed in self.services.config.agenda.feeds))
        for state in states:
            if state.error:
                errors[feed_source(state.feed)] = state.error
            if state.calendar is not None:
                calendars[feed_source(state.feed)] = (state.feed, state.calendar)
        return calendars, errors

    # ---------------------------------------------------------------- sync

    async def sync_from_config_and_feeds(self, *, refresh: bool = True) -> SyncReport:
        """Upserts one row per occurrence × reminder offset for the next horizon_days. Idempotent.

        New occurrences get pending rows (only for reminders still ahead); a moved occurrence moves
        its pending rows, and re-arms a reminder that already went out if its new time is ahead;
        a removed or cancelled occurrence cancels its pending rows and, if a reminder already went
        out, gets one cancellation notice. A feed with no copy at all is left alone.
        """
        now = self.services.clock()
        agenda = self.services.config.agenda
        calendars, errors = await self._calendars(refresh)
        horizon_end = now + timedelta(days=agenda.horizon_days)
        occurrences = await asyncio.to_thread(expand_all, agenda.recurring, calendars, self.tz,
                                              now, horizon_end + MATCH_MARGIN)
        live_sources = {CONFIG_SOURCE, *calendars}
        configured = {CONFIG_SOURCE, *(feed_source(f) for f in agenda.feeds)}
        report = SyncReport(feed_errors=errors)
        with self.services.db.session() as session:
            apply_occurrences(session, occurrences, live_sources, configured, now, horizon_end, report)
        if report.created or report.moved or report.cancelled or report.notices:
            log.info("agenda sync: %d created, %d moved, %d cancelled, %d cancellation notices",
                     report.created, report.moved, report.cancelled, report.notices)
        return report

    # ---------------------------------------------------------------- scheduling

    def rebuild_jobs(self, scheduler) -> int:
        """One DateTrigger job per pending row; stale reminder jobs removed. Returns the job count."""
        with self.services.db.session() as session:
            pending = session.exec(select(ReminderRow.id, ReminderRow.due_at).where(
                col(ReminderRow.status).in_((PENDING, SENDING)))).all()
        wanted = {f"{JOB_PREFIX}{row_id}": due for row_id, due in pending}
        for job in scheduler.get_jobs():
            if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
                job.remove()
        for job_id, due in wanted.items():
            self._add_job(scheduler, int(job_id[len(JOB_PREFIX):]), due)
        return len(wanted)

    def _add_job(self, scheduler, row_id: int, due: datetime) -> None:
        # misfire_grace_time=None: APScheduler always runs a late job; fire() decides about lateness.
        scheduler.add_job(self.fire, "date", run_date=due, args=[row_id], id=f"{JOB_PREFIX}{row_id}",
                          replace_existing=True, misfire_grace_time=None, coalesce=True)

    def _schedule(self, row: ReminderRow) -> None:
        if self.scheduler is not None:
            self._add_job(self.scheduler, row.id, row.due_at)

    def _unschedule(self, row_id: int) -> None:
        scheduler = self.scheduler
        if scheduler is not None and scheduler.get_job(f"{JOB_PREFIX}{row_id}") is not None:
            scheduler.remove_job(f"{JOB_PREFIX}{row_id}")

    # ---------------------------------------------------------------- firing

    async def fire_due_now(self) -> int:
        """Fires every pending row whose time has come (the catch-up after a restart). Returns how many."""
        now = self.services.clock()
        with self.services.db.session() as session:
            due = session.exec(select(ReminderRow.id).where(
                col(ReminderRow.status).in_((PENDING, SENDING)), ReminderRow.due_at <= now)
                .order_by(ReminderRow.due_at, ReminderRow.id)).all()
        for row_id in due:
            await self.fire(row_id)
        return len(due)

    async def fire(self, row_id: int) -> None:
        if row_id in self._in_flight:
            return
        self._in_flight.add(row_id)
        try:
            await self._fire(row_id)
        finally:
            self._in_flight.discard(row_id)

    async def _fire(self, row_id: int) -> None:
        now = self.services.clock()
        row = self._claim(row_id, now)
        if row is None:
            return
        lateness = now - row.due_at
        if lateness > timedelta(minutes=self.services.config.agenda.grace_minutes):
            self._finish(row_id, SKIPPED, reason=f"en retard de {int(lateness.total_seconds() // 60)} min")
            log.info("reminder %d skipped: %s late, beyond the grace period", row_id, lateness)
            return
        if row.kind == BROADCAST and row.created_by and not self.is_facilitator(row.created_by):
            self._finish(row_id, SKIPPED, reason="l'auteur n'est plus dans l'équipe d'animation")
            log.info("reminder %d skipped: its author lost facilitator rights", row_id)
            await self._notify_facilitators("agenda/rights_revoked.md.j2",
                                            {"number": row_id, "author": row.created_by},
                                            f"{JOB_PREFIX}{row_id}-revoked")
            return

        aliases = await resolve_aliases(row.target_list, self.services.config, self.resolve_alias)
        with self.services.db.session() as session:
            room_ids, unresolved = resolve_targets(row.target_list, session, aliases)
        late = lateness > LATE_AFTER
        posted, failed = await self._post_to_rooms(row, room_ids, late)
        problem = failed + unresolved
        reason = ("salons non atteints : " + ", ".join(problem)) if problem else \
            ("" if room_ids else "aucun salon ne correspond")
        self._finish(row_id, SENT if posted else FAILED, reason=reason, late=late)
        if reason:
            await self._notify_facilitators("agenda/delivery_problem.md.j2",
                                            {"number": row_id, "title": row.title or row.text[:60],
                                             "failed": failed, "unresolved": unresolved, "none": not room_ids},
                                            f"{JOB_PREFIX}{row_id}-problem")

    def _claim(self, row_id: int, now: datetime) -> ReminderRow | None:
        """The row, now "sending" and ours to post; None when there is nothing to do."""
        with self.services.db.session() as session:
            row = session.get(ReminderRow, row_id)
            if row is None:
                return None
            if row.status == PENDING and row.due_at - now > EARLY_TOLERANCE:
                # A job left at an occurrence's old time after it moved later: wait for the new time.
                self._schedule(row)
                return None
            claimed = session.execute(update(ReminderRow).where(
                ReminderRow.id == row_id, ReminderRow.status == PENDING).values(status=SENDING)).rowcount
            session.refresh(row)
            # Not claimed and not left "sending" by a crash: sent, cancelled or skipped already.
            return row if claimed or row.status == SENDING else None

    async def _post_to_rooms(self, row: ReminderRow, room_ids: list[str], late: bool) -> tuple[set[str], list[str]]:
        """Posts to each room not yet done, recording each success at once. Returns (posted, failed)."""
        posted = set(row.posted_room_list)
        failed: list[str] = []
        context = self._reply_context(row, late)
        for room_id in room_ids:
            if room_id in posted:
                continue
            reply = Reply(template=TEMPLATES[row.kind], context=context, room_id=room_id, in_reply=False,
                          txn_key=f"{JOB_PREFIX}{row.id}-{room_id}", tag=f"reminder:{row.id}",
                          # Agenda content and facilitators' messages are meant for these rooms.
                          author_consented=True)
            try:
                event_id = await self.services.post(reply)
            except Exception:
                log.exception("reminder %d: posting to %s failed", row.id, room_id)
                event_id = None
            if event_id is None:
                failed.append(room_id)
                continue
            posted.add(room_id)
            with self.services.db.session() as session:
                session.execute(update(ReminderRow).where(ReminderRow.id == row.id)
                                .values(posted_rooms=json.dumps(sorted(posted))))
        return posted, failed

    def _finish(self, row_id: int, status: str, *, reason: str = "", late: bool = False) -> None:
        values = {"status": status, "reason": reason}
        if status in (SENT, FAILED):
            values.update(sent_at=self.services.clock(), late=late)
        with self.services.db.session() as session:
            session.execute(update(ReminderRow).where(ReminderRow.id == row_id).values(**values))

    def _reply_context(self, row: ReminderRow, late: bool) -> dict:
        extra = row.context_dict
        when = ""
        if row.start is not None:
            when = format_date_fr(row.start, self.tz) if extra.get("all_day") else format_datetime_fr(row.start, self.tz)
        return {"title": row.title, "text": row.text, "when": when, "late": late,
                "delay": "" if late else format_delay_fr(row.offset_minutes),
                "location": extra.get("location", ""), "link": extra.get("link", ""),
                "all_day": bool(extra.get("all_day"))}

    async def _notify_facilitators(self, template: str, context: dict, txn_key: str) -> None:
        with self.services.db.session() as session:
            room_id = facilitators_room_id(session, self.services.config)
        if room_id is None:
            log.warning("no facilitators' room known for notice %s", txn_key)
            return
        try:
            posted = await self.services.post(Reply(template=template, context=context, room_id=room_id,
                                                    in_reply=False, txn_key=txn_key, tag="agenda-notice"))
        except Exception:
            log.exception("notice %s could not be posted", txn_key)
            posted = None
        if posted is None:
            log.warning("notice %s could not be posted to the facilitators' room", txn_key)

    # ---------------------------------------------------------------- manual reminders

    async def check_targets(self, targets: tuple[str, ...]) -> None:
        """UserError now, rather than a failed reminder later, for an alias that names no room."""
        aliases = await resolve_aliases(targets, self.services.config, self.resolve_alias)
        unknown = [alias for alias, room_id in aliases.items() if room_id is None]
        if unknown:
            raise UserError(f"Salon introuvable : {', '.join(unknown)}. Vérifiez l'alias (#nom:serveur).")

    def schedule_manual(self, text: str, due_at: datetime, targets: tuple[str, ...], created_by: str) -> ReminderRow:
        """A facilitator's reminder (!rappel): a row, and its job if a scheduler is running."""
        row = ReminderRow(kind=BROADCAST, source=MANUAL_SOURCE, occurrence_key=f"manual-{uuid.uuid4().hex}", text=text,
                          due_at=due_at.astimezone(timezone.utc), targets=json.dumps(list(targets)),
                          created_by=created_by)
        with self.services.db.session() as session:
            session.add(row)
            session.flush()
        self._schedule(row)
        return row

    async def broadcast_now(self, text: str, targets: tuple[str, ...], created_by: str) -> ReminderRow:
        """!diffuser: recorded like any reminder, so a retry after a crash does not post it twice."""
        row = self.schedule_manual(text, self.services.clock(), targets, created_by)
        self._unschedule(row.id)
        await self.fire(row.id)
        with self.services.db.session() as session:
            return session.get(ReminderRow, row.id)

    def scheduled(self, *, limit: int = 10) -> tuple[list[ReminderRow], list[ReminderRow]]:
        """Pending manual reminders (all) and the next pending event reminders (up to ``limit``)."""
        with self.services.db.session() as session:
            manual = session.exec(select(ReminderRow).where(
                ReminderRow.kind == BROADCAST, ReminderRow.status == PENDING).order_by(ReminderRow.due_at)).all()
            events = session.exec(select(ReminderRow).where(
                ReminderRow.kind == EVENT, ReminderRow.status == PENDING)
                .order_by(ReminderRow.due_at).limit(limit)).all()
        return list(manual), list(events)

    def cancel_manual(self, row_id: int) -> ReminderRow:
        with self.services.db.session() as session:
            row = session.get(ReminderRow, row_id)
            if row is None or row.kind != BROADCAST:
                raise UserError(f"Aucun rappel n°{row_id}. La liste : `!rappels`.")
            if row.status != PENDING:
                raise UserError(f"Le rappel n°{row_id} ne peut plus être annulé (déjà traité).")
            row.status, row.reason = CANCELLED, "annulé par l'équipe d'animation"
            session.add(row)
        self._unschedule(row_id)
        return row
