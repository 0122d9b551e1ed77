"""Which room is what: kinds come from config or from a facilitator in chat, and live in the database.

Encryption and membership come from the Matrix client's view of the room.
"""

from __future__ import annotations

import fnmatch
import logging

from nio import AsyncClient, RoomGetStateResponse, RoomResolveAliasResponse

from config import Config
from handlers.context import RoomInfo
from storage.database import Database
from storage.rooms import RoomRecord, facilitators_room_id
from storage.time import utcnow

log = logging.getLogger(__name__)


class RoomDirectory:
    def __init__(self, config: Config, db: Database, client: AsyncClient) -> None:
        self.config, self.db, self.client = config, db, client
        # Room creators, which nio does not keep; from room version 12 they hold every right.
        self._creators: dict[str, set[str]] = {}

    async def remember_creator(self, room_id: str) -> None:
        if room_id in self._creators:
            return
        answer = await self.client.room_get_state(room_id)
        if isinstance(answer, RoomGetStateResponse):
            for event in answer.events:
                if event.get("type") == "m.room.create":
                    content = event.get("content", {})
                    self._creators[room_id] = {event.get("sender"), *content.get("additional_creators", [])}

    async def apply_config(self) -> None:
        """Store the kinds the config gives; a kind set in chat for an unlisted room stays."""
        for room in self.config.rooms:
            room_id = room.id or await self.resolve_alias(room.alias or "")
            if not room_id:
                log.warning("Room alias %s could not be resolved; skipped", room.alias)
                continue
            with self.db.session() as session:
                record = session.get(RoomRecord, room_id) or RoomRecord(room_id=room_id)
                record.kind, record.name, record.role = room.kind, room.name, room.role
                record.updated_at = utcnow()
                session.add(record)

    async def resolve_alias(self, alias: str) -> str | None:
        answer = await self.client.room_resolve_alias(alias)
        return answer.room_id if isinstance(answer, RoomResolveAliasResponse) else None

    def record(self, room_id: str) -> RoomRecord | None:
        with self.db.session() as session:
            return session.get(RoomRecord, room_id)

    def info(self, room_id: str) -> RoomInfo:
        record = self.record(room_id)
        room = self.client.rooms.get(room_id)
        encrypted = bool(room and room.encrypted)
        kind = record.kind if record else None
        # Direct chats are known from the invite's is_direct flag, set by the person's client.
        is_direct = bool(record and record.is_direct and kind is None)
        name = (record.name if record and record.name else None) or (room.display_name if room else room_id)
        return RoomInfo(
            room_id=room_id,
            kind=kind,
            name=name,
            role=record.role if record else None,
            encrypted=encrypted,
            is_direct=is_direct,
        )

    def mark_direct(self, room_id: str) -> None:
        with self.db.session() as session:
            record = session.get(RoomRecord, room_id) or RoomRecord(room_id=room_id)
            record.is_direct = True
            session.add(record)

    def facilitators_room(self) -> str | None:
        with self.db.session() as session:
            return facilitators_room_id(session)

    def is_facilitator(self, user_id: str) -> bool:
        """Read from the facilitators' room as it is now: a joined member with the required power level
        (or a creator's rights), or someone listed in access.facilitators (and joined, if the config
        says so). A kick, a ban, leaving, a lowered level or a removed entry counts at once."""
        access = self.config.access
        room_id = self.facilitators_room()
        room = self.client.rooms.get(room_id) if room_id else None
        joined = room is not None and user_id in room.users and user_id not in room.invited_users
        if any(fnmatch.fnmatchcase(user_id, pattern) for pattern in access.facilitators):
            return joined or not access.listed_must_join
        if room is None or not joined:
            return False
        # From room version 12 on, a room's creator outranks everyone and is absent from power_levels.
        return (
            user_id in self._creators.get(room.room_id, ())
            or room.power_levels.get_user_level(user_id) >= access.facilitator_power_level
        )

    def mark_warned_unencrypted(self, room_id: str) -> bool:
        """True the first time only: the warning about an unencrypted confidential room is said once."""
        with self.db.session() as session:
            record = session.get(RoomRecord, room_id)
            if record is None or record.warned_unencrypted:
                return False
            record.warned_unencrypted = True
            session.add(record)
            return True


def inviter_allowed(config: Config, user_id: str) -> bool:
    return any(fnmatch.fnmatchcase(user_id, pattern) for pattern in config.access.allowed_inviters)
