"""The whole bot for dispatcher-level tests: the app the real build_app makes, started as BotApp.start()
does (less cross-signing, the scheduler and the web servers), its nio client talking to the in-process
homeserver of bot/devtools/fake_homeserver.py. A test says something as a member and gets back what
the bot sent in answer, through the real sync callbacks, inbox, addressing, dispatcher and sender."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.app import BotApp, build_app
from bot.devtools.fake_homeserver import FakeHomeserver, Sent, settle, start_app
from config import Config
from handlers.context import Services
from knowledge.embedders import Embedder
from storage.database import Database
from storage.messages import SentMessage
from tests.unit.stand_ins import BOT, Clock, build_config


@dataclass
class RunningApp:
    app: BotApp
    homeserver: FakeHomeserver
    clock: Clock

    @property
    def config(self) -> Config:
        return self.app.config

    @property
    def db(self) -> Database:
        return self.app.db

    @property
    def services(self) -> Services:
        return self.app.services

    @property
    def sent(self) -> list[Sent]:
        """Everything the bot sent since it started, in order."""
        return self.homeserver.sent

    last_event_id: str = ""

    async def say(
        self,
        user: str,
        room_id: str,
        body: str,
        *,
        reply_to: str | None = None,
        thread_root: str | None = None,
        mention: bool = False,
        event_id: str | None = None,
    ) -> list[Sent]:
        """A member's message (a reply, in a thread, mentioning the bot, as asked); what the bot sent
        until it was done with it, nothing if it kept silent."""
        content = {"m.mentions": {"user_ids": [self.app.config.matrix.user_id]}} if mention else None
        self.last_event_id = self.homeserver.message(
            user, room_id, body, reply_to=reply_to, thread_root=thread_root, content=content, event_id=event_id
        )
        return await self.settle()

    async def react(self, user: str, room_id: str, event_id: str, key: str) -> list[Sent]:
        self.last_event_id = self.homeserver.reaction(user, room_id, event_id, key)
        return await self.settle()

    async def vote(self, user: str, poll: Sent, answer: str, *, stable: bool = False) -> list[Sent]:
        """A member's response to one of the bot's polls: the answer with this id."""
        self.last_event_id = self.homeserver.poll_response(user, poll.room_id, poll.event_id, [answer], stable=stable)
        return await self.settle()

    async def redact(self, user: str, room_id: str, event_id: str) -> list[Sent]:
        self.last_event_id = self.homeserver.redaction(user, room_id, event_id)
        return await self.settle()

    async def settle(self) -> list[Sent]:
        """Syncs until the homeserver has nothing more to bring and the bot is done; what it sent."""
        before = len(self.homeserver.sent)
        await settle(self.app, self.homeserver)
        return self.homeserver.sent[before:]

    def tag(self, sent: Sent) -> str:
        """The tag the bot's sender kept the message with ("" for none)."""
        with self.db.session() as session:
            record = session.get(SentMessage, sent.event_id)
        assert record is not None, f"{sent.event_id} was not kept by the sender"
        return record.tag

    async def direct_chat(self, user: str) -> str:
        """The member's direct chat with the bot, opened by the member, as on their invitation."""
        room_id = f"!dm-{user[1:].split(':')[0]}:{self.homeserver.server}"
        if room_id not in self.homeserver.rooms:
            self.homeserver.direct_room(room_id, user)
            await self.app.sender.direct_chats.adopt(room_id, user)
        return room_id


@asynccontextmanager
async def running_app(
    folder: Path,
    *,
    members: dict[str, Sequence[str]],
    clock: Clock | None = None,
    embedder: Embedder | None = None,
    data_dir: Path | None = None,
    prepare: Callable[[BotApp], None] | None = None,
    **tables: object,
) -> AsyncIterator[RunningApp]:
    """The bot BOT started over a fake homeserver where each room of `members` exists with those members
    joined (the first one its creator); `tables` are the configuration's (build_config). Search is off
    unless `embedder` is given; `data_dir` is copied in as the bot's data folder first (an indexed pack).
    `prepare` runs on the built app before it starts (the database is created by then)."""
    if data_dir is not None:
        shutil.copytree(data_dir, folder / "data")
    if embedder is None:
        knowledge = tables.get("knowledge")
        tables["knowledge"] = {"enabled": False, **(knowledge if isinstance(knowledge, dict) else {})}
    # A first start logs in with a password; direct chats open without spacing (the pace is tested
    # on its own, tests/unit/bot/test_throttle.py).
    matrix = tables.get("matrix")
    tables["matrix"] = {
        "password": "test",
        "invite_interval_seconds": 0,
        **(matrix if isinstance(matrix, dict) else {}),
    }
    config = build_config(folder, **tables)
    clock = clock or Clock()
    app = build_app(config, embedder=embedder, clock=clock)
    homeserver = FakeHomeserver(BOT)
    for room_id, users in members.items():
        homeserver.room(room_id, list(users))
    running = RunningApp(app, homeserver, clock)
    with homeserver.serving(app.client):
        try:
            if prepare is not None:
                app.db.create_all()
                prepare(app)
            await start_app(app)
            yield running
        finally:
            await app.close()
