"""Rooms the bot is in, with their kind (tribe, peer group, facilitators)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlmodel import Field, Session, SQLModel, select


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class RoomRecord(SQLModel, table=True):
    room_id: str = Field(primary_key=True)
    # tribe | peer_group | facilitators | None (not classified yet)
    kind: str | None = None
    name: str = ""
    role: str | None = None
    encrypted: bool = False
    is_direct: bool = False
    # Set once we told the room (and the facilitators) that a confidential room is unencrypted.
    warned_unencrypted: bool = False
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def confidential(self) -> bool:
        # Peer-group rooms are confidential by nature; direct chats are private to their two members.
        return self.kind == "peer_group" or self.is_direct




def facilitators_room_id(session: Session) -> str | None:
    """The facilitators' room, where notices, forwarded questions and deposits go."""
    record = session.exec(select(RoomRecord).where(RoomRecord.kind == "facilitators")
                          .order_by(RoomRecord.room_id)).first()
    return record.room_id if record else None
