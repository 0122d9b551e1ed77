"""The reminder engine: claims the rows that are due, posts one message per room, and finishes
each row exactly once.

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
import hashlib
import logging
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import datetime, timedelta
from typing import TypedDict
from zoneinfo import ZoneInfo

from sqlmodel import Session

from handlers.agenda.jobs import ReminderJobs
from handlers.agenda.notices import notify_facilitators
from handlers.agenda.rows import due_time, saved_id
from handlers.agenda.targets import AliasResolver, resolve_aliases, resolve_targets
from handlers.context import Services
from handlers.french import format_date_fr, format_datetime_fr, format_delay_fr
from handlers.replies import Post, Reply
from storage.agenda import (
    BROADCAST,
    CANCELLATION,
    EVENT,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    ReminderRow,
    claim_due_reminders,
    finish_reminder,
    record_posted_rooms,
    sending_reminders,
    skip_reminder,
)
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# Every transaction key of a reminder starts so, as in earlier releases: a retry across an upgrade
# still sends the key the homeserver saw.
KEY_PREFIX = "reminder-"
# A reminder posted more than this after its due time says so; scheduling jitter is not "late".
LATE_AFTER = timedelta(minutes=1)
# A job firing this much before its row's due time belongs to an older due time.
EARLY_TOLERANCE = timedelta(seconds=2)
TEMPLATES = {
    EVENT: "agenda/reminder.md.j2",
    BROADCAST: "agenda/broadcast.md.j2",
    CANCELLATION: "agenda/cancellation.md.j2",
}
# Several reminders due together for the same room go out as one message.
DIGEST_TEMPLATE = "agenda/digest.md.j2"
# A delivery-problem notice about many reminders names this many of them.
MAX_LISTED_PROBLEMS = 20


class _Problem(TypedDict):
    """A reminder not delivered everywhere, as agenda/delivery_problem.md.j2 lists it."""

    number: int
    title: str
    failed: list[str]
    unresolved: list[str]
    none: bool


def _ids_digest(row_ids: Iterable[int]) -> str:
    return hashlib.sha256(",".join(str(i) for i in sorted(set(row_ids))).encode()).hexdigest()[:24]


def digest_txn_key(room_id: str, row_ids: Iterable[int]) -> str:
    """The idempotency key of a digest: the same room and set of rows always give the same key."""
    return f"{KEY_PREFIX}digest-{room_id}-{_ids_digest(row_ids)}"


class ReminderEngine:
    def __init__(
        self,
        services: Services,
        jobs: ReminderJobs,
        *,
        is_facilitator: Callable[[str], bool],
        resolve_alias: AliasResolver | None,
    ) -> None:
        self.services = services
        self.jobs = jobs
        # Rights are re-checked when a manual reminder fires.
        self.is_facilitator = is_facilitator
        self.resolve_alias = resolve_alias
        # Rows being fired by this process: a second firing of the same row while the first is
        # still posting returns at once (the DB claim covers other processes).
        self.in_flight: set[int] = set()
        # Held from a claim until its rows are in in_flight: another firing of this process reads
        # "sending" rows only once it knows which of them are being posted already.
        self._claiming = asyncio.Lock()

    @property
    def tz(self) -> ZoneInfo:
        return self.services.config.bot.tz

    async def fire_due_now(self) -> int:
        """Fires every row whose time has come (the catch-up after a restart). Returns how many."""
        return await self._fire_due(None, None)

    async def fire(self, row_id: int, work: UnitOfWork | None = None) -> None:
        """A row's job: fires that row together with every other row already due (one message per room).
        `work`: the event's unit when a command fires it (`!diffuser`); a job's firing has its own."""
        await self._fire_due(row_id, work)

    def _unit(self, work: UnitOfWork | None) -> AbstractAsyncContextManager[UnitOfWork]:
        return nullcontext(work) if work is not None else self.services.units.open()

    async def _fire_due(self, trigger: int | None, work: UnitOfWork | None) -> int:
        now = self.services.clock()
        async with self._unit(work) as work:
            if trigger is not None and not await self._trigger_is_due(work, trigger, now):
                return 0
            async with self._claiming:
                batches = await self._claim_due(work, trigger, now)
                claimed = [saved_id(row) for batch in batches for row in batch]
                self.in_flight.update(claimed)
            try:
                for batch in batches:
                    await self._fire_batch(work, batch, now)
            finally:
                self.in_flight.difference_update(claimed)
            return len(claimed)

    async def _trigger_is_due(self, work: UnitOfWork, row_id: int, now: datetime) -> bool:
        if row_id in self.in_flight:
            return False  # being posted by another firing of this process
        row = await work(_fresh_row, row_id)
        if row is None or row.status not in (PENDING, SENDING):
            return False  # sent, cancelled or skipped already (often by the firing that took it along)
        if row.status == PENDING and due_time(row) - now > EARLY_TOLERANCE:
            # A job left at an occurrence's old time after it moved later: wait for the new time.
            self.jobs.schedule(row)
            return False
        return True

    async def _claim_due(self, work: UnitOfWork, trigger: int | None, now: datetime) -> list[list[ReminderRow]]:
        """Claims every pending row already due (pending -> sending in one conditional UPDATE) and
        takes back the rows a crash left "sending". Returns the batches to post, each sorted by due time.

        A claimed row's sent_at records the claim time until it is really sent: rows left "sending"
        by a crash are regrouped by it into the firings they belonged to, so a retry forms the same
        per-room groups, hence the same digest transaction ids (see _post_group).
        """
        fresh, sending = await work(_claim, now, trigger)
        leftovers: dict[datetime | None, list[ReminderRow]] = {}
        for row in sending:
            if row.id not in fresh and row.id not in self.in_flight:
                leftovers.setdefault(row.sent_at, []).append(row)
        if leftovers:
            log.info(
                "resuming %d reminders left sending by an interrupted firing",
                sum(len(rows) for rows in leftovers.values()),
            )
        batches = list(leftovers.values())
        new = [row for row in sending if row.id in fresh]
        if new:
            batches.append(new)
        return batches

    async def _fire_batch(self, work: UnitOfWork, rows: list[ReminderRow], now: datetime) -> None:
        """Posts one message per room for the rows of one firing: a row's own message when it is
        alone in that room, a digest of them all otherwise; then finishes every row."""
        grace = timedelta(minutes=self.services.config.agenda.grace_minutes)
        live: list[ReminderRow] = []
        for row in rows:
            lateness = now - due_time(row)
            if lateness > grace:
                await work(skip_reminder, saved_id(row), f"en retard de {int(lateness.total_seconds() // 60)} min")
                self.services.metrics.reminder_missed("beyond_grace")
                log.info("reminder %d skipped: %s late, beyond the grace period", row.id, lateness)
            elif row.kind == BROADCAST and row.created_by and not self.is_facilitator(row.created_by):
                await work(skip_reminder, saved_id(row), "l'auteur n'est plus dans l'équipe d'animation")
                log.info("reminder %d skipped: its author lost facilitator rights", row.id)
                await notify_facilitators(
                    self.services,
                    "agenda/rights_revoked.md.j2",
                    {"number": row.id, "author": row.created_by},
                    f"{KEY_PREFIX}{row.id}-revoked",
                    work=work,
                )
            else:
                live.append(row)
        if not live:
            return

        all_targets = [target for row in live for target in row.target_list]
        aliases = await resolve_aliases(all_targets, self.services.config, self.resolve_alias)
        targets = await work(_resolve_all, live, aliases)
        late = {saved_id(row): now - due_time(row) > LATE_AFTER for row in live}
        posted = {saved_id(row): set(row.posted_room_list) for row in live}
        failed: dict[int, list[str]] = {saved_id(row): [] for row in live}
        groups: dict[str, list[ReminderRow]] = {}
        for row in live:  # in due order, so each room's digest lists them in that order
            for room_id in targets[saved_id(row)][0]:
                if room_id not in posted[saved_id(row)]:
                    groups.setdefault(room_id, []).append(row)
        # The rooms' tasks share the unit, whose steps must run one at a time.
        recording = asyncio.Lock()
        posts = [
            self._post_group(work, recording, room_id, group, late, posted, failed) for room_id, group in groups.items()
        ]
        if len(posts) == 1:
            await posts[0]
        else:
            # Rooms concurrently; the sender keeps each room's messages in order. Every room's task
            # ends (its record in the unit done) before anything is raised: the unit then closes.
            for outcome in await asyncio.gather(*posts, return_exceptions=True):
                if isinstance(outcome, BaseException):
                    raise outcome

        problems: list[_Problem] = []
        finished: list[tuple[int, str, str, datetime, bool]] = []
        for row in live:
            number = saved_id(row)
            room_ids, unresolved = targets[number]
            problem = failed[number] + unresolved
            reason = (
                ("salons non atteints : " + ", ".join(problem))
                if problem
                else ("" if room_ids else "aucun salon ne correspond")
            )
            sent_at = self.services.clock()
            finished.append((number, SENT if posted[number] else FAILED, reason, sent_at, late[number]))
            metrics = self.services.metrics
            if posted[number]:
                metrics.reminder_lateness.observe(max(0.0, (sent_at - due_time(row)).total_seconds()))
            else:
                metrics.reminder_missed("undelivered")
            if reason:
                problems.append(
                    {
                        "number": number,
                        "title": row.title or row.text[:60],
                        "failed": failed[number],
                        "unresolved": unresolved,
                        "none": not room_ids,
                    }
                )
        await work(_finish_all, finished)
        if len(problems) == 1:
            await notify_facilitators(
                self.services,
                "agenda/delivery_problem.md.j2",
                problems[0],
                f"{KEY_PREFIX}{problems[0]['number']}-problem",
                work=work,
            )
        elif problems:
            # One notice per firing, not one per reminder.
            failed_rooms = sorted({room for p in problems for room in p["failed"]})
            unresolved_targets = sorted({target for p in problems for target in p["unresolved"]})
            context: dict[str, object] = {
                "number": None,
                "title": "",
                "failed": failed_rooms,
                "unresolved": unresolved_targets,
                "none": False,
                "items": problems[:MAX_LISTED_PROBLEMS],
                "more": max(0, len(problems) - MAX_LISTED_PROBLEMS),
            }
            await notify_facilitators(
                self.services,
                "agenda/delivery_problem.md.j2",
                context,
                f"{KEY_PREFIX}problem-{_ids_digest(p['number'] for p in problems)}",
                work=work,
            )

    async def _post_group(
        self,
        work: UnitOfWork,
        recording: asyncio.Lock,
        room_id: str,
        group: list[ReminderRow],
        late: dict[int, bool],
        posted: dict[int, set[str]],
        failed: dict[int, list[str]],
    ) -> None:
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
            reply = Reply(
                template=TEMPLATES[row.kind],
                context=self._reply_context(row, late[saved_id(row)]),
                to=Post(room_id),
                txn_key=f"{KEY_PREFIX}{row.id}-{room_id}",
                tag=f"reminder:{row.id}",
                # Agenda content and facilitators' messages are meant for these rooms.
                author_consented=True,
            )
        else:
            items = [
                {"template": TEMPLATES[row.kind], **self._reply_context(row, late[saved_id(row)])} for row in group
            ]
            reply = Reply(
                template=DIGEST_TEMPLATE,
                context={"items": items},
                to=Post(room_id),
                txn_key=digest_txn_key(room_id, (saved_id(row) for row in group)),
                tag="reminders:" + ",".join(str(row.id) for row in group),
                author_consented=True,
            )
        try:
            event_id = await self.services.post(reply)
        except Exception:
            log.exception("reminders %s: posting to %s failed", [row.id for row in group], room_id)
            event_id = None
        if event_id is None:
            for row in group:
                failed[saved_id(row)].append(room_id)
            return
        # One room's record at a time, each with the rooms reached so far: the last one committed is
        # the fullest, whatever order the rooms' posts finished in.
        async with recording:
            reached = []
            for row in group:
                rooms = posted[saved_id(row)]
                rooms.add(room_id)
                reached.append((saved_id(row), set(rooms)))
            await work(_record_posted, reached)

    def _reply_context(self, row: ReminderRow, late: bool) -> dict[str, object]:
        extra = row.context_dict
        when = ""
        if row.start is not None:
            when = (
                format_date_fr(row.start, self.tz) if extra.get("all_day") else format_datetime_fr(row.start, self.tz)
            )
        return {
            "title": row.title,
            "text": row.text,
            "when": when,
            "late": late,
            "delay": "" if late else format_delay_fr(row.offset_minutes),
            "location": extra.get("location", ""),
            "link": extra.get("link", ""),
            "all_day": bool(extra.get("all_day")),
        }


def _fresh_row(session: Session, row_id: int) -> ReminderRow | None:
    # populate_existing: the unit's session may hold the row as an earlier step left it.
    return session.get(ReminderRow, row_id, populate_existing=True)


def _claim(session: Session, now: datetime, trigger: int | None) -> tuple[set[int], list[ReminderRow]]:
    """The claim (see ReminderEngine._claim_due) and every row now "sending", in one transaction."""
    # The job's own row may fire within EARLY_TOLERANCE of its time, as it always did.
    fresh = claim_due_reminders(session, now, trigger=trigger, trigger_due_by=now + EARLY_TOLERANCE)
    # The claim's UPDATE leaves the rows the unit's session holds as they were: read them all afresh.
    session.expunge_all()
    return fresh, sending_reminders(session)


def _resolve_all(
    session: Session, rows: list[ReminderRow], aliases: dict[str, str | None]
) -> dict[int, tuple[list[str], list[str]]]:
    return {saved_id(row): resolve_targets(row.target_list, session, aliases) for row in rows}


def _record_posted(session: Session, reached: list[tuple[int, set[str]]]) -> None:
    for row_id, rooms in reached:
        record_posted_rooms(session, row_id, rooms)


def _finish_all(session: Session, finished: list[tuple[int, str, str, datetime, bool]]) -> None:
    for row_id, status, reason, sent_at, late in finished:
        finish_reminder(session, row_id, status, reason=reason, sent_at=sent_at, late=late)
