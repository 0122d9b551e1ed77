"""ReminderService: turns the agenda into reminder rows and posts each row exactly once.

Exactly once, across restarts:
- The database row is the truth. The scheduler only holds one DateTrigger job per pending row
  ("reminder-<id>") and is rebuilt from the rows at every start; a job that fires re-reads its row
  and does nothing unless it is still pending (or left "sending" by a crash).
- A firing (a row's job, or the start-up catch-up) claims every pending row already due at once
  (pending -> sending in one conditional UPDATE), so two firings never take the same row.
- The claimed rows are grouped by room: one message per room, the row's own message when it is alone
  there, a digest listing them all otherwise (ten reminders at the same minute are one ping, and
  the homeserver has one event to persist instead of ten). Rooms are posted to concurrently.
- Each message carries a txn_key that depends only on (room, set of rows): "reminder-<id>-<room>"
  for a single row, "reminder-digest-<room>-<hash of the ids>" for a digest; the sender derives the
  Matrix transaction id from it. A room reached is recorded for every row of its group right after
  the post, and rows are marked sent only AFTER posting: if the bot dies in between, the rows are
  still "sending" at the next start and are regrouped into the same groups (by their claim time), so
  they are posted again with the same transaction ids, which the homeserver deduplicates for the same
  device's access token. Marking before posting would instead lose the reminders on such a crash.
- Lateness is ours to judge, not APScheduler's: within grace_minutes a reminder goes out marked
  late; beyond, it is skipped (logged by id, never by content).
"""
from __future__ import annotations

import asyncio
import fnmatch
import hashlib
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
from handlers.text import quote
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
# Several reminders due together for the same room go out as one message.
DIGEST_TEMPLATE = "agenda/digest.md.j2"
# A delivery-problem notice about many reminders names this many of them.
MAX_LISTED_PROBLEMS = 20


def _ids_digest(row_ids) -> str:
    return hashlib.sha256(",".join(str(i) for i in sorted(set(row_ids))).encode()).hexdigest()[:24]


def digest_txn_key(room_id: str, row_ids) -> str:
    """The idempotency key of a digest: the same room and set of rows always give the same key."""
    return f"{JOB_PREFIX}digest-{room_id}-{_ids_digest(row_ids)}"


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
        # Rows a firing of this process is posting right now need no job: it finishes them.
        wanted = {f"{JOB_PREFIX}{row_id}": due for row_id, due in pending if row_id not in self._in_flight}
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
        """Fires every row whose time has come (the catch-up after a restart). Returns how many."""
        return await self._fire_due(None)

    async def fire(self, row_id: int) -> None:
        """A row's job: fires that row together with every other row already due (one message per room)."""
        await self._fire_due(row_id)

    async def _fire_due(self, trigger: int | None) -> int:
        now = self.services.clock()
        if trigger is not None and not self._trigger_is_due(trigger, now):
            return 0
        # No await between the claim and _in_flight: another job of this process firing meanwhile
        # sees these rows as taken (the DB claim covers other processes).
        batches = self._claim_due(trigger, now)
        claimed = [row.id for batch in batches for row in batch]
        self._in_flight.update(claimed)
        try:
            for batch in batches:
                await self._fire_batch(batch, now)
        finally:
            self._in_flight.difference_update(claimed)
        return len(claimed)

    def _trigger_is_due(self, row_id: int, now: datetime) -> bool:
        if row_id in self._in_flight:
            return False  # being posted by another firing of this process
        with self.services.db.session() as session:
            row = session.get(ReminderRow, row_id)
        if row is None or row.status not in (PENDING, SENDING):
            return False  # sent, cancelled or skipped already (often by the firing that took it along)
        if row.status == PENDING and row.due_at - now > EARLY_TOLERANCE:
            # A job left at an occurrence's old time after it moved later: wait for the new time.
            self._schedule(row)
            return False
        return True

    def _claim_due(self, trigger: int | None, now: datetime) -> list[list[ReminderRow]]:
        """Claims every pending row already due (pending -> sending in one conditional UPDATE) and
        takes back the rows a crash left "sending". Returns the batches to post, each sorted by due time.

        A claimed row's sent_at records the claim time until it is really sent: rows left "sending"
        by a crash are regrouped by it into the firings they belonged to, so a retry forms the same
        per-room groups, hence the same digest transaction ids (see _post_group).
        """
        due = col(ReminderRow.due_at) <= now
        if trigger is not None:
            # The job's own row may fire within EARLY_TOLERANCE of its time, as it always did.
            due = due | ((ReminderRow.id == trigger) & (col(ReminderRow.due_at) <= now + EARLY_TOLERANCE))
        with self.services.db.session() as session:
            fresh = set(session.execute(
                update(ReminderRow).where(ReminderRow.status == PENDING, due)
                .values(status=SENDING, sent_at=now).returning(ReminderRow.id)
                .execution_options(synchronize_session=False)).scalars())
            sending = session.exec(select(ReminderRow).where(ReminderRow.status == SENDING)
                                   .order_by(ReminderRow.due_at, ReminderRow.id)).all()
        leftovers: dict[datetime | None, list[ReminderRow]] = {}
        for row in sending:
            if row.id not in fresh and row.id not in self._in_flight:
                leftovers.setdefault(row.sent_at, []).append(row)
        if leftovers:
            log.info("resuming %d reminders left sending by an interrupted firing",
                     sum(len(rows) for rows in leftovers.values()))
        batches = list(leftovers.values())
        new = [row for row in sending if row.id in fresh]
        if new:
            batches.append(new)
        return batches

    async def _fire_batch(self, rows: list[ReminderRow], now: datetime) -> None:
        """Posts one message per room for the rows of one firing: a row's own message when it is
        alone in that room, a digest of them all otherwise; then finishes every row."""
        grace = timedelta(minutes=self.services.config.agenda.grace_minutes)
        live: list[ReminderRow] = []
        for row in rows:
            lateness = now - row.due_at
            if lateness > grace:
                self._finish(row.id, SKIPPED, reason=f"en retard de {int(lateness.total_seconds() // 60)} min")
                log.info("reminder %d skipped: %s late, beyond the grace period", row.id, lateness)
            elif row.kind == BROADCAST and row.created_by and not self.is_facilitator(row.created_by):
                self._finish(row.id, SKIPPED, reason="l'auteur n'est plus dans l'équipe d'animation")
                log.info("reminder %d skipped: its author lost facilitator rights", row.id)
                await self._notify_facilitators("agenda/rights_revoked.md.j2",
                                                {"number": row.id, "author": row.created_by},
                                                f"{JOB_PREFIX}{row.id}-revoked")
            else:
                live.append(row)
        if not live:
            return

        all_targets = [target for row in live for target in row.target_list]
        aliases = await resolve_aliases(all_targets, self.services.config, self.resolve_alias)
        targets: dict[int, tuple[list[str], list[str]]] = {}
        with self.services.db.session() as session:
            for row in live:
                targets[row.id] = resolve_targets(row.target_list, session, aliases)
        late = {row.id: now - row.due_at > LATE_AFTER for row in live}
        posted = {row.id: set(row.posted_room_list) for row in live}
        failed: dict[int, list[str]] = {row.id: [] for row in live}
        groups: dict[str, list[ReminderRow]] = {}
        for row in live:  # in due order, so each room's digest lists them in that order
            for room_id in targets[row.id][0]:
                if room_id not in posted[row.id]:
                    groups.setdefault(room_id, []).append(row)
        posts = [self._post_group(room_id, group, late, posted, failed) for room_id, group in groups.items()]
        if len(posts) == 1:
            await posts[0]
        else:
            # Rooms concurrently; the sender keeps each room's messages in order.
            await asyncio.gather(*posts)

        problems: list[dict] = []
        with self.services.db.session() as session:
            for row in live:
                room_ids, unresolved = targets[row.id]
                problem = failed[row.id] + unresolved
                reason = ("salons non atteints : " + ", ".join(problem)) if problem else \
                    ("" if room_ids else "aucun salon ne correspond")
                session.execute(update(ReminderRow).where(ReminderRow.id == row.id).values(
                    status=SENT if posted[row.id] else FAILED, reason=reason, sent_at=self.services.clock(),
                    late=late[row.id]))
                if reason:
                    problems.append({"number": row.id, "title": row.title or row.text[:60],
                                     "failed": failed[row.id], "unresolved": unresolved, "none": not room_ids})
        if len(problems) == 1:
            await self._notify_facilitators("agenda/delivery_problem.md.j2", problems[0],
                                            f"{JOB_PREFIX}{problems[0]['number']}-problem")
        elif problems:
            # One notice per firing, not one per reminder.
            failed_rooms = sorted({room for p in problems for room in p["failed"]})
            unresolved_targets = sorted({target for p in problems for target in p["unresolved"]})
            context = {"number": None, "title": "", "failed": failed_rooms, "unresolved": unresolved_targets,
                       "none": False, "items": problems[:MAX_LISTED_PROBLEMS],
                       "more": max(0, len(problems) - MAX_LISTED_PROBLEMS)}
            await self._notify_facilitators("agenda/delivery_problem.md.j2", context,
                                            f"{JOB_PREFIX}problem-{_ids_digest(p['number'] for p in problems)}")

    async def _post_group(self, room_id: str, group: list[ReminderRow], late: dict[int, bool],
                          posted: dict[int, set[str]], failed: dict[int, list[str]]) -> None:
        """One message to ``room_id`` for the rows of ``group``, then the room recorded as reached for
        each of them before anything else.

        Exactly once: the txn key depends only on (room, set of row ids) — the row's own key when
        alone, a digest key otherwise. If the bot dies after the homeserver accepted the message but
        before the commit below, the rows are still "sending" with this room not reached; the retry
        regroups them by their claim (sent_at), so the room gets the same group, the same key, and the
        homeserver drops the duplicate. The group can only differ if a row of it is skipped at the
        retry (now beyond grace, or its author lost rights) or its targets changed meanwhile: then
        this one room may see those reminders twice, the price of never losing one.
        """
        if len(group) == 1:
            row = group[0]
            reply = Reply(template=TEMPLATES[row.kind], context=self._reply_context(row, late[row.id]),
                          room_id=room_id, in_reply=False, txn_key=f"{JOB_PREFIX}{row.id}-{room_id}",
                          tag=f"reminder:{row.id}",
                          # Agenda content and facilitators' messages are meant for these rooms.
                          author_consented=True)
        else:
            items = [{"template": TEMPLATES[row.kind], **self._reply_context(row, late[row.id])} for row in group]
            reply = Reply(template=DIGEST_TEMPLATE, context={"items": items}, room_id=room_id, in_reply=False,
                          txn_key=digest_txn_key(room_id, (row.id for row in group)),
                          tag="reminders:" + ",".join(str(row.id) for row in group), author_consented=True)
        try:
            event_id = await self.services.post(reply)
        except Exception:
            log.exception("reminders %s: posting to %s failed", [row.id for row in group], room_id)
            event_id = None
        if event_id is None:
            for row in group:
                failed[row.id].append(room_id)
            return
        # No await from here to the commit: concurrent rooms' tasks never interleave their updates.
        with self.services.db.session() as session:
            for row in group:
                posted[row.id].add(room_id)
                session.execute(update(ReminderRow).where(ReminderRow.id == row.id)
                                .values(posted_rooms=json.dumps(sorted(posted[row.id]))))

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
            raise UserError(f"Salon introuvable : {quote(', '.join(unknown))}. Vérifiez l'alias (#nom:serveur).")

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
