"""Rooms the bot is in, with their kind (tribe, peer group, facilitators)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, Session, SQLModel, col, select

from storage.direct_chats import chat_in
from storage.time import utc_field, utcnow


class RoomRecord(SQLModel, table=True):
    """A room the bot is in and its kind.

    Personal data: none (room ids and names, a direct chat's flag). Why: what may be said where. How long: while
    the bot is in the room."""

    room_id: str = Field(primary_key=True)
    # tribe | peer_group | facilitators | None (not classified yet)
    kind: str | None = None
    name: str = ""
    role: str | None = None
    encrypted: bool = False
    is_direct: bool = False
    # Set once we told the room (and the facilitators) that a confidential room is unencrypted.
    warned_unencrypted: bool = False
    updated_at: datetime = utc_field(utcnow)
    # The order rooms were first recorded in (PostgreSQL has no rowid to tell it): the moment in
    # nanoseconds, set once; rows older than this column got their SQLite rowid, below any moment.
    recorded_order: int = Field(default_factory=time.time_ns, sa_column=Column(BigInteger, nullable=False))

    @property
    def confidential(self) -> bool:
        # Peer-group rooms are confidential by nature; direct chats are private to their two members.
        return self.kind == "peer_group" or self.is_direct


def facilitators_room_id(session: Session) -> str | None:
    """The facilitators' room, where notices, forwarded questions and deposits go."""
    record = session.exec(
        select(RoomRecord).where(RoomRecord.kind == "facilitators").order_by(RoomRecord.room_id)
    ).first()
    return record.room_id if record else None


def room_privacy(session: Session, room_id: str) -> str:
    """« direct » (a member's direct chat with the bot), « confidential » (a peer group), or « shared »
    (a tribe, the facilitators' room, a room not classified): where a reply may be posted for all to read."""
    record = session.get(RoomRecord, room_id)
    # As the room directory reads it: a classified room is no direct chat, whatever its invite said.
    if chat_in(session, room_id) is not None or (record is not None and record.is_direct and record.kind is None):
        return "direct"
    return "confidential" if record is not None and record.kind == "peer_group" else "shared"


def room_ids_of_kinds(session: Session, kinds: Iterable[str]) -> list[str]:
    """The shared rooms (never a direct chat) of these kinds, in a stable order."""
    return list(
        session.exec(
            select(RoomRecord.room_id)
            .where(col(RoomRecord.kind).in_(tuple(kinds)), col(RoomRecord.is_direct).is_(False))
            .order_by(RoomRecord.room_id)
        )
    )


def rooms_of_kind(session: Session, kind: str) -> list[RoomRecord]:
    """In the order they were first recorded, which the configuration's order decides for its rooms:
    the deposit form lists the tribes that way."""
    return list(
        session.exec(
            select(RoomRecord)
            .where(RoomRecord.kind == kind)
            .order_by(col(RoomRecord.recorded_order), col(RoomRecord.room_id))
        )
    )


def classify_room(session: Session, room_id: str, kind: str, name: str, role: str | None) -> RoomRecord:
    """Record what kind of room this is (from the config or a facilitator's !salon)."""
    record = session.get(RoomRecord, room_id) or RoomRecord(room_id=room_id)
    record.kind, record.name, record.role, record.updated_at = kind, name, role, utcnow()
    session.add(record)
    return record
