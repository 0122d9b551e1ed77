"""A scripted person for the tests and the benchmarks: a real Matrix user with its own nio client,
device and encryption store, driven by code instead of a client's screen.

It stands for a person with a Matrix client: it creates rooms, invites the bot, sends
messages and reads (and decrypts) what the bot answers. It lives here, next to
local_synapse.py, so the benchmarks need nothing from tests/.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path

from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    LocalProtocolError,
    MatrixRoom,
    MegolmEvent,
    RoomCreateResponse,
    RoomMessage,
    RoomRedactResponse,
    RoomSendResponse,
    UnknownEvent,
)
from nio.store import SqliteStore

from bot.devtools.local_synapse import RegisteredUser
from bot.relations import relates_to
from bot.sender import INTRODUCTION_FIELD
from bot.sync_loop import sync_until_cancelled


class ScriptedPerson:
    """A Matrix user driven by a test or a benchmark, standing for a member, a facilitator or a stranger."""

    def __init__(
        self, homeserver: str, account: RegisteredUser, store_dir: Path, *, accept_invites: bool | None = True
    ) -> None:
        self.account = account
        # What the person's client does with invitations: True joins, False refuses, None leaves them be.
        self.accept_invites = accept_invites
        self.invites: list[str] = []
        store_dir.mkdir(parents=True, exist_ok=True)
        self.client = AsyncClient(
            homeserver,
            account.user_id,
            device_id=account.device_id,
            store_path=str(store_dir),
            config=AsyncClientConfig(
                store=SqliteStore, encryption_enabled=True, store_sync_tokens=True, max_limit_exceeded=20
            ),
        )
        self.received: list[RoomMessage | MegolmEvent] = []
        # The bot's introductions, apart: what is counted and waited for in `received` is the
        # conversation, the same whether the bot introduced itself in the room or not.
        self.introductions: list[RoomMessage | MegolmEvent] = []
        # Where each received event came from, by event id: nio's room events do not say.
        self.room_of: dict[str, str] = {}
        # Other events the bot sent (polls and their ends: nio knows no poll classes), decrypted.
        self.other_events: list[UnknownEvent] = []
        self._arrived = asyncio.Condition()
        self._sync_task: asyncio.Task | None = None

    @property
    def user_id(self) -> str:
        return self.account.user_id

    async def start(self) -> ScriptedPerson:
        self.client.restore_login(self.account.user_id, self.account.device_id, self.account.access_token)
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        await self.client.sync(timeout=0, full_state=True)
        # nio's annotations of add_event_callback are wrong: a tuple of kinds is typed
        # `tuple[type[Event], None]`, invite events are no Event subclasses, and a callback is typed as
        # taking any Event though nio calls it only with the kinds it was registered for.
        self.client.add_event_callback(self._collect, (RoomMessage, MegolmEvent))  # type: ignore[arg-type]
        self.client.add_event_callback(self._on_invite, InviteMemberEvent)  # type: ignore[arg-type]
        self.client.add_event_callback(self._collect_other, UnknownEvent)  # type: ignore[arg-type]
        self._sync_task = asyncio.create_task(sync_until_cancelled(self.client, timeout=3000, full_state=True))
        return self

    async def stop(self) -> None:
        if self._sync_task:
            self._sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._sync_task
        await self.client.close()

    async def _collect(self, room: MatrixRoom, event: RoomMessage | MegolmEvent) -> None:
        self.room_of[event.event_id] = room.room_id
        async with self._arrived:
            if event.source.get("content", {}).get(INTRODUCTION_FIELD):
                self.introductions.append(event)
            else:
                self.received.append(event)
            self._arrived.notify_all()

    async def _collect_other(self, room: MatrixRoom, event: UnknownEvent) -> None:
        self.room_of[event.event_id] = room.room_id
        async with self._arrived:
            self.other_events.append(event)
            self._arrived.notify_all()

    def events_of_type(self, room_id: str, event_type: str) -> list[UnknownEvent]:
        return [e for e in self.other_events if e.type == event_type and self.room_of[e.event_id] == room_id]

    async def vote(self, room_id: str, poll_event_id: str, answer_id: str) -> str:
        """A response to a poll, as Element sends it."""
        content = {
            "m.relates_to": {"rel_type": "m.reference", "event_id": poll_event_id},
            "org.matrix.msc3381.poll.response": {"answers": [answer_id]},
        }
        answer = await self.client.room_send(
            room_id, "org.matrix.msc3381.poll.response", content, ignore_unverified_devices=True
        )
        assert isinstance(answer, RoomSendResponse), answer
        return answer.event_id

    async def _on_invite(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key != self.user_id or event.membership != "invite" or room.room_id in self.invites:
            return
        self.invites.append(room.room_id)
        if self.accept_invites:
            await self.client.join(room.room_id)
        elif self.accept_invites is False:
            await self.client.room_leave(room.room_id)

    def direct_room_with(self, user_id: str) -> str | None:
        """A room `user_id` invited this person to, the two of them alone (the bot's direct chat)."""
        for room_id in reversed(self.invites):
            room = self.client.rooms.get(room_id)
            if room is not None and set(room.users) == {self.user_id, user_id} and not room.invited_users:
                return room_id
        return None

    async def wait_direct_room(self, user_id: str, timeout: float = 20.0) -> str:
        await self.wait_until(
            lambda: self.direct_room_with(user_id) is not None, timeout, f"a direct chat with {user_id}"
        )
        room_id = self.direct_room_with(user_id)
        assert room_id is not None  # what wait_until has just seen, with no await since
        return room_id

    async def create_room(
        self, name: str, *, encrypted: bool = False, invite: tuple[str, ...] = (), is_direct: bool = False
    ) -> str:
        initial_state = (
            [{"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}]
            if encrypted
            else []
        )
        answer = await self.client.room_create(
            name=name, invite=list(invite), initial_state=initial_state, is_direct=is_direct
        )
        assert isinstance(answer, RoomCreateResponse), answer
        return answer.room_id

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.05)

    async def wait_joined(self, room_id: str, user_id: str, timeout: float = 20.0) -> None:
        def joined() -> bool:
            room = self.client.rooms.get(room_id)
            return bool(room and user_id in room.users)

        await self.wait_until(joined, timeout, f"{user_id} to join {room_id}")
        if self.client.rooms[room_id].encrypted:
            await self.wait_for_devices(user_id, timeout)

    async def wait_for_devices(self, user_id: str, timeout: float = 20.0) -> None:
        """Sending before the other side's device keys are known leaves it unable to decrypt.

        A device list fetched while the other side was only invited may be empty and cached as
        current, so the user is marked outdated again until a device shows up.
        """
        deadline = time.monotonic() + timeout
        while not list(self.client.device_store.active_user_devices(user_id)):
            if time.monotonic() > deadline:
                raise AssertionError(f"no device keys for {user_id}")
            assert self.client.olm is not None, "encryption is on: restore_login() gave the client its Olm machine"
            self.client.olm.users_for_key_query.add(user_id)
            with contextlib.suppress(LocalProtocolError):  # the sync loop's own query got there first
                await self.client.keys_query()
            await asyncio.sleep(0.1)

    async def send(
        self,
        room_id: str,
        body: str,
        *,
        thread_root: str | None = None,
        mentions: tuple[str, ...] | None = (),
        reply_to: str | None = None,
        formatted_body: str | None = None,
    ) -> str:
        """`mentions=None` leaves m.mentions out, as older clients do."""
        content: dict = {"msgtype": "m.text", "body": body}
        if mentions is not None:
            content["m.mentions"] = {"user_ids": list(mentions)}
        if formatted_body is not None:
            content["format"], content["formatted_body"] = "org.matrix.custom.html", formatted_body
        relation = relates_to(thread_root=thread_root, reply_to=reply_to)
        if relation:
            content["m.relates_to"] = relation
        answer = await self.client.room_send(room_id, "m.room.message", content, ignore_unverified_devices=True)
        assert isinstance(answer, RoomSendResponse), answer
        return answer.event_id

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        answer = await self.client.room_send(room_id, "m.reaction", content, ignore_unverified_devices=True)
        assert isinstance(answer, RoomSendResponse), answer
        return answer.event_id

    async def redact(self, room_id: str, event_id: str) -> None:
        answer = await self.client.room_redact(room_id, event_id)
        assert isinstance(answer, RoomRedactResponse), answer

    def introductions_in(self, room_id: str, sender: str | None = None) -> list:
        return [
            e
            for e in self.introductions
            if self.room_of[e.event_id] == room_id and (sender is None or e.sender == sender)
        ]

    async def wait_for_introduction(self, room_id: str, sender: str, timeout: float = 20.0):
        await self.wait_until(
            lambda: bool(self.introductions_in(room_id, sender)), timeout, f"the introduction of {sender} in {room_id}"
        )
        return self.introductions_in(room_id, sender)[0]

    def messages(self, room_id: str | None = None, sender: str | None = None) -> list:
        return [
            e
            for e in self.received
            if (room_id is None or self.room_of[e.event_id] == room_id) and (sender is None or e.sender == sender)
        ]

    async def wait_for_message(
        self, room_id: str, sender: str, *, contains: str = "", after: int = 0, timeout: float = 20.0
    ):
        """The first message from `sender` in `room_id`, past the first `after` ones, containing `contains`."""
        deadline = time.monotonic() + timeout
        async with self._arrived:
            while True:
                found = [
                    e
                    for e in self.messages(room_id, sender)[after:]
                    if isinstance(e, MegolmEvent) or contains in getattr(e, "body", "")
                ]
                if found:
                    event = found[0]
                    assert not isinstance(event, MegolmEvent), f"could not decrypt {event.event_id}"
                    return event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [getattr(e, "body", "?")[:80] for e in self.messages(room_id, sender)]
                    raise AssertionError(f"no message from {sender} containing {contains!r}; seen: {seen}")
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), remaining)
