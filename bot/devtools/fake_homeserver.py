"""A homeserver in-process, for the unit tests' app and the benchmarks: nio's client runs whole, only
its HTTP exchange (AsyncClient._send, and AsyncClient.send for the one raw request the bot makes) is
answered here. nio parses each answer and updates its state as it would a homeserver's, so the bot's
real callbacks, inbox, dispatcher and sender run on what a sync brings.

What it keeps: rooms with their members (joined, invited, left) and power levels, what members said
(messages with their reply and thread relations, reactions, redactions), what the bot sent with its
content, the files it uploaded, the direct chats the bot opens (a member it invites joins in the next
sync unless told otherwise), the bot's m.direct. What it leaves out: end-to-end encryption (no room is
encrypted here: nio would need the members' devices and keys), federation, downloads. A request it
does not know fails loudly, so that a change in what the bot asks is seen rather than answered wrong.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from unittest.mock import patch
from urllib.parse import unquote, urlparse

from nio import (
    DirectRoomsResponse,
    JoinResponse,
    KeysQueryResponse,
    KeysUploadResponse,
    LoginResponse,
    Response,
    RoomCreateResponse,
    RoomGetEventResponse,
    RoomGetStateResponse,
    RoomLeaveResponse,
    RoomSendResponse,
    SyncResponse,
    UploadResponse,
    WhoamiResponse,
)

from bot.matrix_bot import SYNC_FILTER
from bot.relations import Relations, relations

if TYPE_CHECKING:
    from bot.app import BotApp
    from bot.matrix_client import BotClient

JSON = dict[str, Any]
# How long settle() waits for the bot to be done with what a sync brought.
SETTLE_SECONDS = 60.0
# Event ids are unique across the homeservers of a process, as a real one's are unique for good: the
# bot restarted over the same database on a new homeserver would take a reused id for an event it
# handled already.
_EVENT_NUMBERS = itertools.count(1)


@dataclass
class Sent:
    """An event the bot sent, as the homeserver received it."""

    room_id: str
    event_id: str
    type: str
    content: JSON
    txn_id: str

    @property
    def body(self) -> str:
        return str(self.content.get("body", ""))

    @property
    def relations(self) -> Relations:
        return relations(self.content)

    @property
    def mentions(self) -> list[str]:
        return list(self.content.get("m.mentions", {}).get("user_ids", []))


@dataclass
class Refusal:
    """Requests of one kind ("send", "create", "get_event", "join", …) answered with an error, `times`
    more times (None: until lifted)."""

    errcode: str = "M_FORBIDDEN"
    error: str = "refused by the test's homeserver"
    times: int | None = None


@dataclass
class FakeRoom:
    room_id: str
    creator: str
    # user id → membership ("join", "invite", "leave", "ban").
    members: dict[str, str] = field(default_factory=dict)
    power: dict[str, int] = field(default_factory=dict)
    name: str | None = None
    # Whether a sync brought it to the bot already (then its state comes as timeline events).
    synced: bool = False
    # Events for the bot's next sync.
    timeline: list[JSON] = field(default_factory=list)


class FakeHomeserver:
    def __init__(self, bot_user_id: str, *, device_id: str = "FAKE") -> None:
        self.bot = bot_user_id
        self.server = bot_user_id.split(":", 1)[1]
        self.device_id = device_id
        self.rooms: dict[str, FakeRoom] = {}
        self.sent: list[Sent] = []
        # Every event by id, as room_get_event gives it.
        self.events: dict[str, JSON] = {}
        self.refusals: dict[str, Refusal] = {}
        # Members who leave an invitation of the bot unanswered (they join at once otherwise).
        self.not_joining: set[str] = set()
        # The bot's m.direct account data: member → their direct rooms.
        self.direct: dict[str, list[str]] = {}
        # What the bot uploaded, by its mxc:// address.
        self.media: dict[str, bytes] = {}
        # The rooms the bot created, as it asked for them (is_direct, name, initial state…).
        self.created: list[JSON] = []
        # Whose session an access token is, as whoami tells it (an operator-made token: its device).
        self.token_owner, self.token_device = bot_user_id, device_id
        # Device keys the homeserver already holds, by device id (a token taken from another client).
        self.device_keys: dict[str, JSON] = {}
        # The nio requests answered, by their response class's name, in order.
        self.asked: list[str] = []
        self._ids = _EVENT_NUMBERS
        self._batch = 0
        self._txns: dict[str, str] = {}

    # --- the world the test sets up --------------------------------------------------------

    def room(
        self,
        room_id: str,
        members: tuple[str, ...] | list[str] = (),
        *,
        creator: str | None = None,
        power: dict[str, int] | None = None,
        name: str | None = None,
    ) -> FakeRoom:
        """A room the bot is in with these members (joined), by default created by the first of them
        and with them at power 100; the bot's next sync brings it."""
        creator = creator or (members[0] if members else self.bot)
        room = FakeRoom(room_id, creator, name=name)
        room.members = {self.bot: "join", **dict.fromkeys(members, "join")}
        room.power = power if power is not None else {creator: 100}
        self.rooms[room_id] = room
        return room

    def direct_room(self, room_id: str, member: str) -> FakeRoom:
        """A direct chat the member opened with the bot, kept in the bot's m.direct."""
        room = self.room(room_id, [member])
        self.direct.setdefault(member, []).append(room_id)
        return room

    def refuse(self, kind: str, refusal: Refusal | None = None) -> None:
        """Requests of that kind fail until lift() (or for `refusal.times`)."""
        self.refusals[kind] = refusal or Refusal()

    def lift(self, kind: str) -> None:
        self.refusals.pop(kind, None)

    def new_event_id(self, prefix: str = "e") -> str:
        return f"${prefix}{next(self._ids)}:{self.server}"

    def message(
        self,
        user: str,
        room_id: str,
        body: str,
        *,
        event_id: str | None = None,
        reply_to: str | None = None,
        thread_root: str | None = None,
        content: JSON | None = None,
    ) -> str:
        """A member's text message (a reply, in a thread, as asked), brought by the next sync."""
        content = {"msgtype": "m.text", "body": body, **(content or {})}
        relation: JSON = {}
        if thread_root is not None:
            relation = {"rel_type": "m.thread", "event_id": thread_root, "is_falling_back": reply_to is None}
            relation["m.in_reply_to"] = {"event_id": reply_to or thread_root}
        elif reply_to is not None:
            relation = {"m.in_reply_to": {"event_id": reply_to}}
        if relation:
            content["m.relates_to"] = relation
        return self._add(room_id, {"type": "m.room.message", "sender": user, "content": content}, event_id)

    def reaction(self, user: str, room_id: str, event_id: str, key: str) -> str:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        return self._add(room_id, {"type": "m.reaction", "sender": user, "content": content})

    def poll_response(
        self, user: str, room_id: str, poll_event_id: str, answers: list[str], *, stable: bool = False
    ) -> str:
        """A member's response to a poll, as Element sends it (or in the stable names, MSC3381 as merged)."""
        relation = {"rel_type": "m.reference", "event_id": poll_event_id}
        if stable:
            event = {"type": "m.poll.response", "content": {"m.relates_to": relation, "m.selections": answers}}
        else:
            content = {"m.relates_to": relation, "org.matrix.msc3381.poll.response": {"answers": answers}}
            event = {"type": "org.matrix.msc3381.poll.response", "content": content}
        return self._add(room_id, {**event, "sender": user})

    def redaction(self, user: str, room_id: str, event_id: str) -> str:
        return self._add(room_id, {"type": "m.room.redaction", "sender": user, "redacts": event_id, "content": {}})

    def join(self, user: str, room_id: str) -> str:
        return self._membership(user, room_id, "join")

    def leave(self, user: str, room_id: str) -> str:
        return self._membership(user, room_id, "leave")

    @property
    def has_news(self) -> bool:
        """Whether the bot's next sync would bring something."""
        return any(not room.synced or room.timeline for room in self.rooms.values())

    # --- nio's HTTP exchange ---------------------------------------------------------------

    @contextmanager
    def serving(self, client: BotClient) -> Iterator[FakeHomeserver]:
        """While open, `client` talks to this homeserver."""

        async def send(method: str, path: str, data: object = None, *_: object, **__: object) -> FakeTransport:
            return self._raw(method, path, data)

        async def answer(
            response_class: type,
            method: str,
            path: str,
            data: object = None,
            response_data: Any = None,
            data_provider: Callable[[bool, bool], Awaitable[AsyncIterator[bytes]]] | None = None,
            **_: object,
        ) -> Response:
            if data_provider is not None:
                # An upload: nio streams the file from its provider (told it is no retry).
                data = b"".join([chunk async for chunk in await data_provider(False, False)])
            response = self._answer(response_class, method, path, data, tuple(response_data or ()))
            await client.receive_response(response)
            return response

        with patch.object(client, "_send", answer), patch.object(client, "send", send):
            yield self

    def _answer(self, response_class: type, method: str, path: str, data: object, extra: tuple[Any, ...]) -> Response:
        parts = [unquote(part) for part in urlparse(path).path.split("/")]
        body: JSON = json.loads(data) if isinstance(data, str) and data else {}
        self.asked.append(response_class.__name__)
        kind = KINDS.get(response_class)
        refusal = self.refusals.get(kind or "")
        if refusal is not None:
            if refusal.times is not None:
                refusal.times -= 1
                if refusal.times <= 0:
                    self.lift(kind or "")
            error: JSON = {"errcode": refusal.errcode, "error": refusal.error}
            # Every nio response class has from_dict, which `type` does not say.
            from_dict: Callable[..., Response] = response_class.from_dict  # type: ignore[attr-defined]
            return from_dict(error, *extra)
        if response_class is LoginResponse:
            return LoginResponse.from_dict({"user_id": self.bot, "device_id": self.device_id, "access_token": "token"})
        if response_class is WhoamiResponse:
            return WhoamiResponse.from_dict({"user_id": self.token_owner, "device_id": self.token_device})
        if response_class is KeysUploadResponse:
            return KeysUploadResponse.from_dict({"one_time_key_counts": {"signed_curve25519": 50}})
        if response_class is KeysQueryResponse:
            return KeysQueryResponse.from_dict({"device_keys": {}, "failures": {}})
        if response_class is SyncResponse:
            return SyncResponse.from_dict(self._sync())
        if response_class is RoomGetStateResponse:
            return RoomGetStateResponse.from_dict(self._state(self.rooms[extra[0]]), *extra)
        if response_class is RoomSendResponse:
            return RoomSendResponse.from_dict({"event_id": self._sent(parts, body)}, *extra)
        if response_class is RoomGetEventResponse:
            found = self.events.get(parts[-1])
            return RoomGetEventResponse.from_dict(found or {"errcode": "M_NOT_FOUND", "error": "no such event"})
        if response_class is UploadResponse:
            uri = f"mxc://{self.server}/m{next(self._ids)}"
            self.media[uri] = data if isinstance(data, bytes) else b""
            return UploadResponse.from_dict({"content_uri": uri})
        if response_class is RoomCreateResponse:
            return RoomCreateResponse.from_dict({"room_id": self._create(body)})
        if response_class is DirectRoomsResponse:
            if not self.direct:
                return DirectRoomsResponse.from_dict({"errcode": "M_NOT_FOUND", "error": "no m.direct"})
            return DirectRoomsResponse.from_dict({k: list(v) for k, v in self.direct.items()})
        if response_class is JoinResponse:
            self._membership(self.bot, room_in(parts), "join")
            return JoinResponse.from_dict({"room_id": room_in(parts)})
        if response_class is RoomLeaveResponse:
            self._membership(self.bot, room_in(parts), "leave")
            return RoomLeaveResponse.from_dict({})
        raise AssertionError(f"the fake homeserver does not answer {method} {urlparse(path).path}")

    def _raw(self, method: str, path: str, data: object) -> FakeTransport:
        """AsyncClient.send, which the bot calls itself only to write its m.direct."""
        parts = [unquote(part) for part in urlparse(path).path.split("/")]
        if method == "PUT" and parts[-1] == "m.direct" and "account_data" in parts:
            if "account_data" in self.refusals:
                return FakeTransport(403)
            self.direct = {k: list(v) for k, v in json.loads(str(data)).items()}
            return FakeTransport(200)
        if method == "POST" and parts[-2:] == ["keys", "query"]:
            wanted = json.loads(str(data))["device_keys"].get(self.bot, [])
            held = {d: keys for d, keys in self.device_keys.items() if d in wanted}
            return FakeTransport(200, {"device_keys": {self.bot: held}})
        raise AssertionError(f"the fake homeserver does not answer {method} {urlparse(path).path}")

    # --- what the bot's requests do --------------------------------------------------------

    def _sent(self, parts: list[str], content: JSON) -> str:
        # …/rooms/{room}/send/{type}/{txn}: a transaction id already seen gets its event again.
        room_id, event_type, txn_id = parts[-4], parts[-2], parts[-1]
        if txn_id in self._txns:
            return self._txns[txn_id]
        event_id = self.new_event_id("bot")
        self._txns[txn_id] = event_id
        self.sent.append(Sent(room_id, event_id, event_type, content, txn_id))
        self.events[event_id] = {
            "type": event_type,
            "sender": self.bot,
            "content": content,
            "event_id": event_id,
            "room_id": room_id,
            "origin_server_ts": now_ms(),
        }
        return event_id

    def _create(self, body: JSON) -> str:
        self.created.append(body)
        invited = list(body.get("invite", []))
        name = invited[0][1:].split(":")[0] if invited else f"r{next(self._ids)}"
        room_id = f"!dm-{name}:{self.server}"
        while room_id in self.rooms:
            room_id = f"!dm-{name}-{next(self._ids)}:{self.server}"
        room = FakeRoom(room_id, self.bot, members={self.bot: "join"}, power={self.bot: 100})
        for user in invited:
            room.members[user] = "invite"
        self.rooms[room_id] = room
        for user in invited:
            if user not in self.not_joining:
                self.join(user, room_id)
        return room_id

    def _membership(self, user: str, room_id: str, membership: str) -> str:
        room = self.rooms[room_id]
        previous = room.members.get(user, "leave")
        room.members[user] = membership
        event: JSON = {
            "type": "m.room.member",
            "state_key": user,
            "sender": user,
            "content": {"membership": membership},
            "unsigned": {"prev_content": {"membership": previous}},
        }
        return self._add(room_id, event)

    def _add(self, room_id: str, event: JSON, event_id: str | None = None) -> str:
        event_id = event_id or self.new_event_id()
        full = {**event, "event_id": event_id, "origin_server_ts": now_ms(), "room_id": room_id}
        self.events[event_id] = full
        self.rooms[room_id].timeline.append({k: v for k, v in full.items() if k != "room_id"})
        return event_id

    def _sync(self) -> JSON:
        """Rooms the bot has not seen yet come with their state; the others with what happened since."""
        self._batch += 1
        joined: JSON = {}
        left: JSON = {}
        for room in self.rooms.values():
            if room.synced and not room.timeline:
                continue
            first = not room.synced
            events, room.timeline = room.timeline, []
            room.synced = True
            sync_room = {
                # A new room's state as it was before what its timeline brings.
                "state": {"events": self._state(room, before=events) if first else []},
                "timeline": {"events": events, "limited": False, "prev_batch": f"p{self._batch}"},
            }
            (left if room.members.get(self.bot) in ("leave", "ban") else joined)[room.room_id] = sync_room
        return {"next_batch": f"s{self._batch}", "rooms": {"join": joined, "leave": left}}

    def _state(self, room: FakeRoom, before: list[JSON] | None = None) -> list[JSON]:
        members = dict(room.members)
        for event in reversed(before or []):
            if event["type"] == "m.room.member":
                previous = event["unsigned"]["prev_content"]["membership"]
                if previous == "leave":
                    members.pop(event["state_key"], None)
                else:
                    members[event["state_key"]] = previous

        def state_event(kind: str, key: str, content: JSON, sender: str) -> JSON:
            return {
                "type": kind,
                "state_key": key,
                "sender": sender,
                "content": content,
                "event_id": f"${room.room_id[1:]}-{kind}-{key}",
                "origin_server_ts": 0,
            }

        state = [
            state_event("m.room.create", "", {"creator": room.creator, "room_version": "10"}, room.creator),
            *(
                state_event("m.room.member", user, {"membership": membership}, user)
                for user, membership in members.items()
                if user != self.bot
            ),
            state_event("m.room.power_levels", "", {"users": dict(room.power)}, room.creator),
            state_event("m.room.member", self.bot, {"membership": members.get(self.bot, "join")}, self.bot),
        ]
        if room.name:
            state.append(state_event("m.room.name", "", {"name": room.name}, room.creator))
        return state


@dataclass
class FakeTransport:
    """Stands for the aiohttp answer of AsyncClient.send."""

    status: int
    body: JSON = field(default_factory=dict)

    def release(self) -> None:
        pass

    async def json(self, content_type: str | None = None) -> JSON:
        return self.body


# The requests refuse() names, by the nio response they expect.
KINDS: dict[type, str] = {
    RoomSendResponse: "send",
    RoomCreateResponse: "create",
    RoomGetEventResponse: "get_event",
    RoomGetStateResponse: "get_state",
    JoinResponse: "join",
    RoomLeaveResponse: "leave",
    DirectRoomsResponse: "direct_rooms",
    SyncResponse: "sync",
    UploadResponse: "upload",
    WhoamiResponse: "whoami",
}


def room_in(parts: list[str]) -> str:
    return next(part for part in parts if part.startswith("!"))


def now_ms() -> int:
    return int(time.time() * 1000)


async def start_app(app: BotApp) -> float:
    """BotApp.start() without what needs a real homeserver or runs on a timer (cross-signing, the
    scheduler's jobs, the metrics and board servers); the seconds the search index took to be ready."""
    app.lock.acquire()
    app.db.create_all()
    await app.matrix.direct_chats.load()
    started = time.perf_counter()
    await app.start_search()
    indexed = time.perf_counter() - started
    await app.matrix.log_in()
    await app.matrix.first_sync()
    await app.matrix.rooms_checked(SETTLE_SECONDS)
    await app.late_keys.sweep()
    await app.matrix.start_handling()
    return indexed


async def sync_once(app: BotApp) -> None:
    """One sync, as MatrixBot's sync loop takes it (nio's sync_forever runs the response callbacks
    after each sync)."""
    answer = await app.client.sync(timeout=0, sync_filter=SYNC_FILTER, since=app.client.next_batch)
    await app.client.run_response_callbacks([answer])


async def settle(app: BotApp, homeserver: FakeHomeserver, timeout: float = SETTLE_SECONDS) -> None:
    """Syncs until the homeserver has nothing more to bring, each time waiting until the bot is done
    with what came: every event handled and marked done (or waiting on an outage), the rooms it brought
    checked, sends in flight over (messages that waited for a member's join)."""
    deadline = time.monotonic() + timeout
    while True:
        await sync_once(app)
        while app.matrix.inbox.pending and app.matrix.inbox.waiting_on is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the bot still has {app.matrix.inbox.pending} event(s) in hand")
            await asyncio.sleep(0.002)
        await app.sender.drain(max(0.0, deadline - time.monotonic()))
        if app.matrix.inbox.waiting_on is not None:
            return
        if homeserver.has_news:
            continue
        # Last, once the homeserver has brought everything: a check may wait for a room a sync brings.
        await app.matrix.rooms_checked(max(0.0, deadline - time.monotonic()))
        if not homeserver.has_news:
            return
