"""Messages the bot sent (with a tag when reactions or replies to them mean something), and events handled."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, Session, SQLModel, select

from storage.time import utc_field, utcnow


class SentMessage(SQLModel, table=True):
    event_id: str = Field(primary_key=True)
    room_id: str = Field(index=True)
    tag: str = Field(index=True)
    thread_root: str | None = Field(default=None, index=True)
    # Who the message answered (the user whose reactions count for it).
    addressee: str | None = None
    sent_at: datetime = utc_field(utcnow)


class HandledEvent(SQLModel, table=True):
    """Events already acted on: with nio's stored sync token this makes handling exactly-once."""

    event_id: str = Field(primary_key=True)
    handled_at: datetime = utc_field(utcnow)


def is_bot_message(session: Session, event_id: str) -> bool:
    return session.get(SentMessage, event_id) is not None


def bot_in_thread(session: Session, room_id: str, root: str) -> bool:
    """The bot started this thread or wrote in it."""
    return session.get(SentMessage, root) is not None or session.exec(select(SentMessage.event_id).where(
        SentMessage.room_id == room_id, SentMessage.thread_root == root)).first() is not None


def sent_in_room_with_tag(session: Session, room_id: str, tag: str) -> bool:
    """Whether the bot ever posted a message with this tag in this room (its introduction, say)."""
    return session.exec(select(SentMessage.event_id).where(
        SentMessage.room_id == room_id, SentMessage.tag == tag)).first() is not None


def sent_with_tag(session: Session, event_id: str) -> SentMessage | None:
    sent = session.get(SentMessage, event_id)
    return sent if sent is not None and sent.tag else None
