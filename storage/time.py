"""Time as the database keeps it: one clock reading, in UTC, and one column type for moments.

SQLite has no time zones: SQLAlchemy's DateTime writes a datetime's digits without its zone and
reads naive datetimes back. Every moment the bot stores is UTC, so UTCDateTime writes naive UTC
(the very text older releases wrote, so their databases read on unchanged) and gives back aware
UTC, and no reader has to guess the zone again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Dialect, TypeDecorator
from sqlmodel import Field


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """The same moment in UTC; a naive one is as SQLite gives back what was stored, hence UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC and always gives back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            # Which zone a naive moment is in cannot be told: storing it as UTC could shift it by hours.
            raise ValueError("naive datetime given to a UTC column")
        return as_utc(value).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def utc_field(default_factory: Callable[[], datetime] | None = None, *, index: bool = False) -> Any:
    """A SQLModel field stored as UTCDateTime. With a default factory (`utc_field(utcnow)`: when the row
    was made) it is NOT NULL, as SQLModel made a plain `datetime` field; without one, None until set."""
    column: Column[datetime] = Column(UTCDateTime(), nullable=default_factory is None, index=index)
    if default_factory is None:
        return Field(default=None, sa_column=column)
    return Field(default_factory=default_factory, sa_column=column)
