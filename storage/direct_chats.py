"""Direct chats with members, and what waits for a member to join one.

A private exchange (a form, a member's own listing, a note to one person) is written in the
member's direct chat with the bot. A chat the bot opened is only written to once the member has
joined: until then the messages wait here, in the database, so a restart loses none of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, Session, SQLModel, col, select

from storage.time import utc_field, utcnow


class DirectChat(SQLModel, table=True):
    """A member's direct chat with the bot.

    Personal data: the member's id and the chat's room. Why: private exchanges (forms, a member's own data) go
    there. How long: as long as the member uses the bot; erased at their request (!oublier)."""

    room_id: str = Field(primary_key=True)
    user_id: str = Field(index=True)
    # open: usable · closed: the member declined the invitation or left; a new chat is opened next time.
    state: str = "open"
    created_at: datetime = utc_field(utcnow)


class PendingMessage(SQLModel, table=True):
    """A message for a direct chat whose member has not joined yet, ready to send as it is.

    Personal data: the member's id and a message for them (their form, their data). Why: nothing is lost while
    they have not joined. How long: until sent; erased at their request."""

    id: int | None = Field(default=None, primary_key=True)
    room_id: str = Field(index=True)
    user_id: str = Field(index=True)
    content: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    txn_id: str
    tag: str | None = None
    # The room where the member asked, told if they do not join in time (None: nowhere to tell).
    notice_room_id: str | None = None
    created_at: datetime = utc_field(utcnow)
    noticed: bool = False


def open_chat_of(session: Session, user_id: str) -> DirectChat | None:
    return session.exec(
        select(DirectChat)
        .where(DirectChat.user_id == user_id, DirectChat.state == "open")
        .order_by(col(DirectChat.created_at).desc(), col(DirectChat.room_id))
    ).first()


def chat_in(session: Session, room_id: str) -> DirectChat | None:
    return session.get(DirectChat, room_id)


def pending_in(session: Session, room_id: str) -> list[PendingMessage]:
    return list(
        session.exec(select(PendingMessage).where(PendingMessage.room_id == room_id).order_by(col(PendingMessage.id)))
    )


def rooms_with_pending(session: Session) -> list[str]:
    return sorted(set(session.exec(select(PendingMessage.room_id))))


def move_pending(session: Session, user_id: str, room_id: str) -> None:
    """A member's messages waiting for a closed chat go to their new one."""
    for row in session.exec(
        select(PendingMessage).where(PendingMessage.user_id == user_id, PendingMessage.room_id != room_id)
    ):
        row.room_id, row.noticed = room_id, False
        session.add(row)


def unnoticed_before(session: Session, moment: datetime) -> list[PendingMessage]:
    return list(
        session.exec(
            select(PendingMessage)
            .where(
                col(PendingMessage.noticed).is_(False),
                PendingMessage.created_at <= moment,
            )
            .order_by(col(PendingMessage.id))
        )
    )


def mark_noticed(session: Session, room_id: str) -> list[PendingMessage]:
    """Marks the chat's waiting messages as told about; returns those not told about before."""
    rows = [row for row in pending_in(session, room_id) if not row.noticed]
    for row in rows:
        row.noticed = True
        session.add(row)
    return rows
