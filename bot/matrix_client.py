"""The bot's matrix-nio client, with the two places where nio's defaults would lose something.

- nio saves the sync token as a sync arrives, before its events are handled: a crash in between
  would skip them for good. The store here keeps the token nio hands it and writes it only when the
  inbox (bot/inbox.py) says every event up to it is recorded.
- A room the bot has just joined is known to others (and to-device events speak of it) before the
  client's sync has brought it: room_appearing() waits for it, woken by the sync that does.
- nio merges each new `m.room.power_levels` into the previous one (`PowerLevels.update`), so a user
  removed from `users` keeps their old level until a restart. The spec says the new content replaces
  the old: the client replaces it, and rights (bot/room_directory.py) read the room's current state.

on_response, on_event and on_to_device register nio callbacks under the types nio really calls them
with: its own annotations of add_*_callback are wrong (see each), so they are read in one place only.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from nio import AsyncClient, AsyncClientConfig, MatrixRoom, PowerLevelsEvent, Response, ToDeviceEvent
from nio.store import SqliteStore
from peewee import SqliteDatabase

from config import Config


class BotStore(SqliteStore):
    """nio's store in WAL mode, whose sync token moves only when the inbox commits it.

    WAL: nio commits to it on the event loop; with SQLite's default rollback journal each commit cost
    about 12 ms of fsyncs."""

    def _create_database(self):
        return SqliteDatabase(
            self.database_path,
            pragmas={"foreign_keys": 1, "secure_delete": 1, "journal_mode": "wal", "synchronous": "normal"},
        )

    def save_sync_token(self, token: str) -> None:
        """Called by nio before the sync's events are handled: ignored (see commit_sync_token)."""

    def save_encrypted_rooms(self, rooms: set[str]) -> None:
        """nio calls this on the event loop after every sync, with the rooms that sync found encrypted:
        almost always none, and the empty save still cost 2 ms of transaction and model binding before
        the sync's events could be handled."""
        if rooms:
            super().save_encrypted_rooms(rooms)

    def commit_sync_token(self, token: str) -> None:
        """Every event a sync up to `token` brought is recorded: a restart may resume after them.

        Called on the event loop (bot/inbox.py), like nio's own writes, so that one connection writes
        the store. Plain SQL: what nio's save_sync_token does without its per-call binding of every
        model (about 3 ms)."""
        self.database.execute_sql(
            "INSERT OR REPLACE INTO synctokens (token, account_id) "
            "SELECT ?, id FROM accounts WHERE user_id = ? AND device_id = ?",
            (token, self.user_id, self.device_id),
        )


class BotClient(AsyncClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Rooms someone waits for (room_appearing), set by the sync that brings them.
        self._awaited_rooms: dict[str, asyncio.Event] = {}

    async def room_appearing(self, room_id: str, seconds: float) -> MatrixRoom | None:
        """The room, once a sync has brought it; None if none has within `seconds`."""
        if room_id not in self.rooms:
            appeared = self._awaited_rooms.setdefault(room_id, asyncio.Event())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await appeared.wait()
        return self.rooms.get(room_id)

    def _handle_joined_state(self, room_id, join_info, encrypted_rooms) -> None:
        # nio creates a joined room here, and only here.
        super()._handle_joined_state(room_id, join_info, encrypted_rooms)
        if (appeared := self._awaited_rooms.pop(room_id, None)) is not None:
            appeared.set()
        for event in join_info.state:
            if isinstance(event, PowerLevelsEvent):
                replace_power_levels(self.rooms[room_id], event)

    def _handle_timeline_event(self, event, room_id, room, encrypted_rooms):
        decrypted = super()._handle_timeline_event(event, room_id, room, encrypted_rooms)
        if isinstance(event, PowerLevelsEvent):
            replace_power_levels(room, event)
        return decrypted

    def commit_sync_token(self, token: str) -> None:
        if isinstance(self.store, BotStore):
            self.store.commit_sync_token(token)


def replace_power_levels(room: MatrixRoom, event: PowerLevelsEvent) -> None:
    """The room's power levels become exactly this event's content (an entry removed is gone)."""
    room.power_levels = copy.deepcopy(event.power_levels)
    for user_id, user in room.users.items():
        user.power_level = room.power_levels.get_user_level(user_id)


ResponseT = TypeVar("ResponseT", bound=Response)
# Not bound to nio's Event: its invite events (InviteMemberEvent…) are no Events, yet are filtered the same way.
EventT = TypeVar("EventT")
ToDeviceT = TypeVar("ToDeviceT", bound=ToDeviceEvent)


def on_response(client: AsyncClient, callback: Callable[[ResponseT], Awaitable[None]], kind: type[ResponseT]) -> None:
    # nio annotates `func` as a coroutine object; it takes, and awaits, a coroutine function.
    client.add_response_callback(callback, kind)  # type: ignore[arg-type]


def on_event(
    client: AsyncClient,
    callback: Callable[[MatrixRoom, EventT], Awaitable[None]],
    kinds: type[EventT] | tuple[type[EventT], ...],
) -> None:
    # nio annotates a tuple of kinds as `tuple[type[Event], None]`, and leaves its invite events out.
    client.add_event_callback(callback, kinds)  # type: ignore[arg-type]


def on_to_device(
    client: AsyncClient,
    callback: Callable[[ToDeviceT], Awaitable[None]],
    kinds: type[ToDeviceT] | tuple[type[ToDeviceT], ...],
) -> None:
    # nio annotates the callback as returning None; it awaits one returning a coroutine.
    client.add_to_device_callback(callback, kinds)  # type: ignore[arg-type]


def build_client(config: Config) -> BotClient:
    store = config.data_dir / "store"
    client_config = AsyncClientConfig(
        store=BotStore,
        store_sync_tokens=True,
        encryption_enabled=True,
        # nio waits what the server asks on M_LIMIT_EXCEEDED; bounded here.
        max_limit_exceeded=8,
        max_timeouts=6,
    )
    return BotClient(config.matrix.homeserver, config.matrix.user_id, store_path=str(store), config=client_config)
