"""Tables: scheduled reminders (one row per occurrence × offset, or per manual message) and the
last good copy of each calendar feed.

A row's status is the only record of whether it went out: the scheduler's jobs are rebuilt from
the pending rows at every start, so a restart neither loses nor repeats a reminder.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, String, text, update
from sqlmodel import Field, Session, SQLModel, col, select

from storage.time import UTCDateTime, utcnow

# Row kinds.
EVENT, BROADCAST, CANCELLATION = "event", "broadcast", "cancellation"
# Row statuses. "sending" is claimed just before posting, so two concurrent firings of the
# same row (the scheduler job and the start-up catch-up) cannot both post it; a row left
# "sending" by a crash is retried with the same transaction ids (see handlers/agenda/engine.py).
PENDING, SENDING, SENT, SKIPPED, CANCELLED, FAILED = "pending", "sending", "sent", "skipped", "cancelled", "failed"


def _utc_column(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class ReminderRow(SQLModel, table=True):
    """A reminder to post: an occurrence × offset, or a facilitator's manual message.

    Personal data: who scheduled a manual reminder and its text. Why: posted on time, never twice. How long:
    until posted; then [retention] reminders_days (12 months) after it was due."""

    __tablename__ = "agenda_reminder"
    __table_args__ = (
        # One live row per occurrence × offset × kind. A row superseded by a moved occurrence
        # (its reminder already went out) stays for the record but no longer counts.
        Index(
            "ux_agenda_reminder_occurrence",
            "kind",
            "source",
            "occurrence_key",
            "offset_minutes",
            unique=True,
            sqlite_where=text("superseded = 0"),
            postgresql_where=text("NOT superseded"),
        ),
        Index("ix_agenda_reminder_status_due", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = EVENT
    # "config" for recurring events from the configuration, "feed:<url>" for a calendar feed,
    # "manual" for !rappel / !diffuser.
    source: str = Field(default="", index=True)
    # Stable identity of the occurrence within its source: uid, plus the recurrence id for a series.
    occurrence_key: str = ""
    title: str = ""
    start: datetime | None = _utc_column(index=True)
    offset_minutes: int = 0
    due_at: datetime | None = _utc_column(nullable=False)
    # JSON list of room targets as written ("tribus", "!id", "#alias"), resolved at firing time
    # so rooms joined later are included.
    targets: str = Field(default="[]", sa_column=Column(String, nullable=False))
    created_by: str | None = None
    status: str = PENDING
    # When it went out. While "sending": when the firing that claimed it started, which regroups
    # the rows a crash left "sending" into the same firings (hence the same digest transaction ids).
    sent_at: datetime | None = _utc_column()
    late: bool = False
    superseded: bool = False
    # Why a row was skipped, cancelled or failed (operator-facing, never message content).
    reason: str = ""
    # JSON list of room ids already posted to: a retry after a crash skips them.
    posted_rooms: str = Field(default="[]", sa_column=Column(String, nullable=False))
    # The message of a manual reminder.
    text: str = ""
    # JSON template context (location, link, end, all_day, ...).
    context: str = Field(default="{}", sa_column=Column(String, nullable=False))
    created_at: datetime | None = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))

    @property
    def target_list(self) -> list[str]:
        targets: list[str] = json.loads(self.targets)
        return targets

    @property
    def context_dict(self) -> dict[str, Any]:
        context: dict[str, Any] = json.loads(self.context)
        return context

    @property
    def posted_room_list(self) -> list[str]:
        rooms: list[str] = json.loads(self.posted_rooms)
        return rooms


class FeedCache(SQLModel, table=True):
    """The last good copy of a calendar feed, and the state of its current outage if any.

    Personal data: what the calendar holds (event titles, perhaps organisers' names). Why: reminders go out when
    the feed is down. How long: while the feed is configured; purged once it is not."""

    __tablename__ = "agenda_feed_cache"

    url: str = Field(primary_key=True)
    body: str = ""
    fetched_at: datetime | None = _utc_column()
    # Consecutive failed fetches; 0 when the feed is healthy.
    failures: int = 0
    last_error: str = ""
    # Backoff: no new attempt before this time.
    next_attempt_at: datetime | None = _utc_column()
    # Start of the current outage; None when healthy.
    failing_since: datetime | None = _utc_column()
    # The facilitators were told about the current outage (reset when the feed comes back).
    outage_notified: bool = False


# ---------------------------------------------------------------- reminder queries


def reminders_a_sync_may_change(session: Session, now: datetime) -> list[ReminderRow]:
    """The current (not superseded) event and cancellation rows of occurrences still ahead, and any
    still pending: what a sync compares with the occurrences it reads."""
    return list(
        session.exec(
            select(ReminderRow)
            .where(
                col(ReminderRow.kind).in_((EVENT, CANCELLATION)),
                col(ReminderRow.superseded).is_(False),
                (col(ReminderRow.start) >= now) | (col(ReminderRow.status) == PENDING),
            )
            .order_by(col(ReminderRow.id))
        ).all()
    )


def unfinished_due_times(session: Session) -> list[tuple[int, datetime]]:
    """(id, due time) of every row still to post: pending, or left "sending" by an interrupted firing."""
    rows = session.exec(
        select(col(ReminderRow.id), col(ReminderRow.due_at)).where(col(ReminderRow.status).in_((PENDING, SENDING)))
    ).all()
    # A stored row has both (its primary key, a NOT NULL column): the model's None is for rows not saved yet.
    return [(row_id, due_at) for row_id, due_at in rows if row_id is not None and due_at is not None]


def claim_due_reminders(
    session: Session, now: datetime, *, trigger: int | None = None, trigger_due_by: datetime | None = None
) -> set[int]:
    """Marks "sending", in one conditional UPDATE, every pending row due by ``now`` (and the
    ``trigger`` row if it is due by ``trigger_due_by``), so two firings never take the same row.
    Their sent_at records the claim time until they are really sent. Returns the ids claimed."""
    due = col(ReminderRow.due_at) <= now
    if trigger is not None:
        due = due | ((col(ReminderRow.id) == trigger) & (col(ReminderRow.due_at) <= trigger_due_by))
    return set(
        session.execute(
            update(ReminderRow)
            .where(col(ReminderRow.status) == PENDING, due)
            .values(status=SENDING, sent_at=now)
            .returning(col(ReminderRow.id))
            .execution_options(synchronize_session=False)
        ).scalars()
    )


def sending_reminders(session: Session) -> list[ReminderRow]:
    """Every row claimed and not finished yet, in due order."""
    return list(
        session.exec(
            select(ReminderRow)
            .where(ReminderRow.status == SENDING)
            .order_by(col(ReminderRow.due_at), col(ReminderRow.id))
        ).all()
    )


def record_posted_rooms(session: Session, row_id: int, room_ids: set[str]) -> None:
    """The rooms a row has reached so far: a retry after a crash skips them."""
    session.execute(
        update(ReminderRow).where(col(ReminderRow.id) == row_id).values(posted_rooms=json.dumps(sorted(room_ids)))
    )


def finish_reminder(session: Session, row_id: int, status: str, *, reason: str, sent_at: datetime, late: bool) -> None:
    """A posting is over: SENT if some room was reached, else FAILED; ``reason`` names the problems."""
    session.execute(
        update(ReminderRow)
        .where(col(ReminderRow.id) == row_id)
        .values(status=status, reason=reason, sent_at=sent_at, late=late)
    )


def skip_reminder(session: Session, row_id: int, reason: str) -> None:
    """A row that will not be posted (too late, or its author lost the right to send it)."""
    session.execute(update(ReminderRow).where(col(ReminderRow.id) == row_id).values(status=SKIPPED, reason=reason))


def pending_broadcasts(session: Session) -> list[ReminderRow]:
    """Every facilitators' message still to post, in due order."""
    return list(
        session.exec(
            select(ReminderRow)
            .where(ReminderRow.kind == BROADCAST, ReminderRow.status == PENDING)
            .order_by(col(ReminderRow.due_at), col(ReminderRow.id))
        ).all()
    )


def next_event_reminders(session: Session, limit: int) -> list[ReminderRow]:
    """The next ``limit`` event reminders still to post, in due order."""
    return list(
        session.exec(
            select(ReminderRow)
            .where(ReminderRow.kind == EVENT, ReminderRow.status == PENDING)
            .order_by(col(ReminderRow.due_at), col(ReminderRow.id))
            .limit(limit)
        ).all()
    )


def feed_cache(session: Session, url: str) -> FeedCache:
    """The stored state of a feed, or a blank one (not added to the session) for a feed never read."""
    return session.get(FeedCache, url) or FeedCache(url=url)
