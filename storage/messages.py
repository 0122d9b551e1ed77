"""Messages the bot sent with a tag, so reactions and thread replies can be traced back."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from storage.rooms import utcnow


class SentMessage(SQLModel, table=True):
    event_id: str = Field(primary_key=True)
    room_id: str = Field(index=True)
    tag: str = Field(index=True)
    thread_root: str | None = Field(default=None, index=True)
    # Who the message answered (the user whose reactions count for it).
    addressee: str | None = None
    sent_at: datetime = Field(default_factory=utcnow)


class HandledEvent(SQLModel, table=True):
    """Events already acted on: with nio's stored sync token this makes handling exactly-once."""

    event_id: str = Field(primary_key=True)
    handled_at: datetime = Field(default_factory=utcnow)
