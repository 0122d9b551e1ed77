"""Which room is what: kinds come from config or from a facilitator in chat, and live in the database.

Encryption and membership come from the Matrix client's view of the room. Which room is the
facilitators' is kept in memory too (refresh()), so that rights are checked without the database:
the reminders and the board ask from code that cannot wait on it.
"""

from __future__ import annotations

import fnmatch
import logging

from nio import AsyncClient, RoomGetStateResponse, RoomResolveAliasResponse
from sqlmodel import Session

from config import Config, RoomConfig
from handlers.context import RoomInfo
from storage.rooms import RoomRecord, facilitators_room_id
from storage.time import utcnow
from storage.unit_of_work import UnitOfWork, UnitsOfWork

log = logging.getLogger(__name__)


class RoomDirectory:
    def __init__(self, config: Config, units: UnitsOfWork, client: AsyncClient) -> None:
        self.config, self.units, self.client = config, units, client
        # Room creators, which nio does not keep; from room version 12 they hold every right.
        self._creators: dict[str, set[str]] = {}
        # The facilitators' room as the database said at the last refresh().
        self._facilitators_room: str | None = None

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
            await self.units.run(_store_configured, room_id, room)
        await self.refresh()

    async def refresh(self, work: UnitOfWork | None = None) -> None:
        """Reads again which room is the facilitators' (after an event: a facilitator's !salon may have
        changed it)."""
        async with self.units.joining(work) as work:
            self._facilitators_room = await work(facilitators_room_id)

    async def resolve_alias(self, alias: str) -> str | None:
        answer = await self.client.room_resolve_alias(alias)
        return answer.room_id if isinstance(answer, RoomResolveAliasResponse) else None

    async def record(self, room_id: str, work: UnitOfWork | None = None) -> RoomRecord | None:
        async with self.units.joining(work) as work:
            return await work(_record, room_id)

    async def info(self, room_id: str, work: UnitOfWork | None = None) -> RoomInfo:
        return self.info_from(room_id, await self.record(room_id, work))

    def info_from(self, room_id: str, record: RoomRecord | None) -> RoomInfo:
        """The room as handlers see it, from its record (read in a step) and the client's view of it."""
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

    @staticmethod
    def mark_direct(session: Session, room_id: str) -> None:
        """A step: the room is a direct chat."""
        record = session.get(RoomRecord, room_id) or RoomRecord(room_id=room_id)
        record.is_direct = True
        session.add(record)

    def facilitators_room(self) -> str | None:
        """As of the last refresh()."""
        return self._facilitators_room

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

    async def mark_warned_unencrypted(self, room_id: str, work: UnitOfWork | None = None) -> bool:
        """True the first time only: the warning about an unencrypted confidential room is said once."""
        async with self.units.joining(work) as work:
            return await work(_mark_warned_unencrypted, room_id)


def _record(session: Session, room_id: str) -> RoomRecord | None:
    return session.get(RoomRecord, room_id)


def _store_configured(session: Session, room_id: str, room: RoomConfig) -> None:
    record = session.get(RoomRecord, room_id) or RoomRecord(room_id=room_id)
    record.kind, record.name, record.role = room.kind, room.name, room.role
    record.updated_at = utcnow()
    session.add(record)


def _mark_warned_unencrypted(session: Session, room_id: str) -> bool:
    record = session.get(RoomRecord, room_id)
    if record is None or record.warned_unencrypted:
        return False
    record.warned_unencrypted = True
    session.add(record)
    return True


def inviter_allowed(config: Config, user_id: str) -> bool:
    return any(fnmatch.fnmatchcase(user_id, pattern) for pattern in config.access.allowed_inviters)
