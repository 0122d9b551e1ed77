"""Each member's direct chat with the bot: found again (m.direct, the bot's own records) or opened.

A chat the bot opens is encrypted and invites the member; the sender keeps its messages waiting
until the member has joined (a message sent before the member's devices are known is unreadable).
"""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

from nio import AsyncClient, DirectRoomsResponse, RoomCreateResponse
from nio.api import MATRIX_API_PATH_V3, RoomPreset
from sqlmodel import Session, select

from bot.room_directory import RoomDirectory
from bot.throttle import Throttle
from handlers.replies import UserError
from storage.direct_chats import DirectChat, chat_in, move_pending, open_chat_of
from storage.unit_of_work import UnitsOfWork

log = logging.getLogger(__name__)

ENCRYPTION = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}


def account_data_path(user_id: str, event_type: str) -> str:
    """Where a user's account data of that type is written. nio 0.26 reads account data but has no
    call to write it, and builds its own paths with a private helper: the spec's path, each part
    escaped as nio escapes them (a « / » included), for the client's public `send`."""
    return f"{MATRIX_API_PATH_V3}/user/{quote(user_id, safe='')}/account_data/{quote(event_type, safe='')}"


class DirectChats:
    """Only this class writes the direct chats: it keeps who each one is with in memory too (load()),
    so that whether a message can go now is known without the database. A member's erasure
    (storage/personal_data.py) deletes their rows; the memory keeps the room until the next start, and a
    private exchange afterwards finds the chat again in m.direct."""

    def __init__(
        self, client: AsyncClient, units: UnitsOfWork, directory: RoomDirectory, invitations: Throttle | None = None
    ) -> None:
        self.client, self.units, self.directory = client, units, directory
        # Opening a chat invites its member: the homeserver's pace for invitations applies.
        self.invitations = invitations or Throttle(0)
        # Room id → the member, for every chat the database keeps (open or closed).
        self._members: dict[str, str] = {}

    async def load(self) -> None:
        """At start, once the database is there."""
        self._members = dict(await self.units.run(_members))

    async def room_for(self, user_id: str) -> str:
        """The member's direct chat with the bot, opened (and the member invited) if there is none."""
        chat = await self.units.run(open_chat_of, user_id)
        if chat is not None and self._still_private(chat.room_id, user_id):
            return chat.room_id
        if chat is not None:
            await self.close(chat.room_id)
        room_id = await self._existing_direct_room(user_id) or await self._open(user_id)
        await self.adopt(room_id, user_id)
        return room_id

    async def adopt(self, room_id: str, user_id: str) -> None:
        """Record a direct chat (one the bot opened, or one the member invited it to)."""
        await self.units.run(_adopt, room_id, user_id)
        self._members[room_id] = user_id

    async def close(self, room_id: str) -> None:
        await self.units.run(_close, room_id)

    def member_of(self, room_id: str) -> str | None:
        """The member a direct chat is with, if the bot keeps it as one."""
        return self._members.get(room_id)

    def member_joined(self, room_id: str) -> bool:
        """Whether messages to this room can go now: not a direct chat, or its member has joined."""
        user_id = self.member_of(room_id)
        if user_id is None:
            return True
        room = self.client.rooms.get(room_id)
        return bool(room and user_id in room.users and user_id not in room.invited_users)

    def _still_private(self, room_id: str, user_id: str) -> bool:
        room = self.client.rooms.get(room_id)
        if room is None:
            # Opened a moment ago: the bot's next sync brings it.
            return True
        others = set(room.users) - {self.client.user_id}
        return others == {user_id}

    async def _existing_direct_room(self, user_id: str) -> str | None:
        """A room in the bot's m.direct for this member, joined, encrypted, with the two of them only."""
        answer = await self.client.list_direct_rooms()
        if not isinstance(answer, DirectRoomsResponse):
            return None
        for room_id in answer.rooms.get(user_id, []):
            room = self.client.rooms.get(room_id)
            if (
                room is not None
                and room.encrypted
                and set(room.users) == {self.client.user_id, user_id}
                and user_id not in room.invited_users
            ):
                return room_id
        return None

    async def _open(self, user_id: str) -> str:
        await self.invitations.wait()
        # is_direct and no name nor topic: Tchap's `direct` access rule refuses a named direct chat,
        # and clients name it after the member anyway.
        answer = await self.client.room_create(
            is_direct=True, invite=[user_id], preset=RoomPreset.trusted_private_chat, initial_state=[ENCRYPTION]
        )
        if not isinstance(answer, RoomCreateResponse):
            log.warning("Could not open a direct chat: %s", getattr(answer, "message", answer))
            raise UserError(
                "Je n'arrive pas à ouvrir une conversation privée avec vous pour le moment. "
                "Réessayez dans un instant, ou écrivez-moi vous-même en message privé."
            )
        log.info("Opened direct chat %s with %s", answer.room_id, user_id)
        # Known before anything else is awaited: the sync goes on meanwhile, and may already bring the
        # member's answer to the invitation (a refusal is told only in a chat the bot knows).
        await self.adopt(answer.room_id, user_id)
        await self._add_to_m_direct(user_id, answer.room_id)
        return answer.room_id

    async def _add_to_m_direct(self, user_id: str, room_id: str) -> None:
        """Clients list a room as a direct chat from m.direct; the spec has both sides keep it."""
        answer = await self.client.list_direct_rooms()
        rooms = dict(answer.rooms) if isinstance(answer, DirectRoomsResponse) else {}
        rooms[user_id] = [*[r for r in rooms.get(user_id, []) if r != room_id], room_id]
        path = account_data_path(self.client.user_id, "m.direct")
        response = await self.client.send(
            "PUT",
            path,
            json.dumps(rooms),
            headers={"Authorization": f"Bearer {self.client.access_token}", "Content-Type": "application/json"},
        )
        if response.status != 200:
            log.warning("Could not update m.direct (HTTP %s)", response.status)
        response.release()


def _members(session: Session) -> list[tuple[str, str]]:
    return [(chat.room_id, chat.user_id) for chat in session.exec(select(DirectChat))]


def _adopt(session: Session, room_id: str, user_id: str) -> None:
    chat = chat_in(session, room_id) or DirectChat(room_id=room_id, user_id=user_id)
    chat.user_id, chat.state = user_id, "open"
    session.add(chat)
    move_pending(session, user_id, room_id)
    RoomDirectory.mark_direct(session, room_id)


def _close(session: Session, room_id: str) -> None:
    chat = chat_in(session, room_id)
    if chat is not None and chat.state != "closed":
        chat.state = "closed"
        session.add(chat)
