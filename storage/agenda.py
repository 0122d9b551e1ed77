"""Tables: scheduled reminders (one row per occurrence × offset, or per manual message) and the
last good copy of each calendar feed.

A row's status is the only record of whether it went out: the scheduler's jobs are rebuilt from
the pending rows at every start, so a restart neither loses nor repeats a reminder.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Column, DateTime, Index, String, TypeDecorator, text
from sqlmodel import Field, SQLModel

# Row kinds.
EVENT, BROADCAST, CANCELLATION = "event", "broadcast", "cancellation"
# Row statuses. "sending" is claimed just before posting, so two concurrent firings of the
# same row (the scheduler job and the start-up catch-up) cannot both post it; a row left
# "sending" by a crash is retried with the same transaction ids (see handlers/agenda/service.py).
PENDING, SENDING, SENT, SKIPPED, CANCELLED, FAILED = "pending", "sending", "sent", "skipped", "cancelled", "failed"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC (SQLite has no time zones) and always gives back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


def _utc_column(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class ReminderRow(SQLModel, table=True):
    __tablename__ = "agenda_reminder"
    __table_args__ = (
        # One live row per occurrence × offset × kind. A row superseded by a moved occurrence
        # (its reminder already went out) stays for the record but no longer counts.
        Index("ux_agenda_reminder_occurrence", "kind", "source", "occurrence_key", "offset_minutes",
              unique=True, sqlite_where=text("superseded = 0")),
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
        return json.loads(self.targets)

    @property
    def context_dict(self) -> dict[str, Any]:
        return json.loads(self.context)

    @property
    def posted_room_list(self) -> list[str]:
        return json.loads(self.posted_rooms)


class FeedCache(SQLModel, table=True):
    """The last good copy of a calendar feed, and the state of its current outage if any."""

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
