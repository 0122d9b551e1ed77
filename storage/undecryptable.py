"""Encrypted events the bot could not read on arrival, kept until their room key comes.

Only what finds the event again is kept (its id, room, sender and Megolm session), never its
content: once the key is there the event is fetched from the homeserver and handled then.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, Session, SQLModel, col, select

from storage.time import utc_field, utcnow


class UndecryptableEvent(SQLModel, table=True):
    """An encrypted event waiting for its room key.

    Personal data: the sender's id, the room and the event's id, never its content. Why: handled once the key
    comes, the sender told once. How long: until the key comes, at most 7 days (bot/late_keys.py)."""

    event_id: str = Field(primary_key=True)
    room_id: str = Field(index=True)
    sender: str
    session_id: str = Field(index=True)
    received_at: datetime = utc_field(utcnow)
    # The sender was told the bot could not read it (at most once per event).
    noticed: bool = False
    # Tries to fetch and decrypt it again, and when the next one is due.
    attempts: int = 0
    next_try_at: datetime = utc_field(utcnow, index=True)


def remember(session: Session, event_id: str, room_id: str, sender: str, session_id: str, now: datetime) -> bool:
    """Keeps the event; False if it was kept already (the same event seen again after a restart)."""
    if session.get(UndecryptableEvent, event_id) is not None:
        return False
    session.add(
        UndecryptableEvent(
            event_id=event_id, room_id=room_id, sender=sender, session_id=session_id, received_at=now, next_try_at=now
        )
    )
    return True


def waiting_for_session(session: Session, session_id: str) -> list[UndecryptableEvent]:
    return list(
        session.exec(
            select(UndecryptableEvent)
            .where(UndecryptableEvent.session_id == session_id)
            .order_by(col(UndecryptableEvent.received_at), col(UndecryptableEvent.event_id))
        )
    )


def due_for_retry(session: Session, now: datetime) -> list[UndecryptableEvent]:
    return list(
        session.exec(
            select(UndecryptableEvent)
            .where(UndecryptableEvent.next_try_at <= now)
            .order_by(col(UndecryptableEvent.received_at), col(UndecryptableEvent.event_id))
        )
    )


def due_for_notice(session: Session, received_before: datetime) -> list[UndecryptableEvent]:
    return list(
        session.exec(
            select(UndecryptableEvent)
            .where(
                col(UndecryptableEvent.noticed).is_(False),
                UndecryptableEvent.received_at <= received_before,
            )
            .order_by(col(UndecryptableEvent.received_at), col(UndecryptableEvent.event_id))
        )
    )


def noticed_since(session: Session, room_id: str, sender: str, since: datetime) -> bool:
    """Whether this sender was already told, in this room, about an event received since then."""
    return (
        session.exec(
            select(UndecryptableEvent.event_id).where(
                UndecryptableEvent.room_id == room_id,
                UndecryptableEvent.sender == sender,
                col(UndecryptableEvent.noticed).is_(True),
                UndecryptableEvent.received_at >= since,
            )
        ).first()
        is not None
    )


def received_before(session: Session, moment: datetime) -> list[UndecryptableEvent]:
    return list(
        session.exec(
            select(UndecryptableEvent)
            .where(UndecryptableEvent.received_at < moment)
            .order_by(col(UndecryptableEvent.received_at), col(UndecryptableEvent.event_id))
        )
    )


def forget(session: Session, event_id: str) -> None:
    row = session.get(UndecryptableEvent, event_id)
    if row is not None:
        session.delete(row)
