"""A small in-process harness for the deposit handlers: a config, a database file, a clock we move,
and the bot's own dispatcher with a recording sender; and the steps the tests take with it."""

from __future__ import annotations

import argparse
import itertools
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import select

from bot.dispatcher import Dispatcher
from bot.rendering import Renderer, build_template_environment
from config import Config, load_config
from handlers.context import Message, Reaction, RoomInfo, Services
from handlers.deposits import register as register_deposits
from handlers.deposits.cli import register_cli
from handlers.deposits.form import load_form
from handlers.deposits.machine import FormState
from handlers.registry import CommandRegistry
from handlers.replies import Reply
from storage.database import Database
from storage.deposits import Deposit, DepositDraft
from storage.rooms import classify_room
from storage.unit_of_work import UnitOfWork, UnitsOfWork
from tests.unit.conftest import Clock

TRIBE_ENERGY = RoomInfo("!energie:test", "tribe", "Énergie")
TRIBE_FOOD = RoomInfo("!alimentation:test", "tribe", "Alimentation")
FACILITATORS = RoomInfo("!animation:test", "facilitators", "Animation")
PEERS = RoomInfo("!pairs:test", "peer_group", "Pairs élus", role="elus")
DIRECT = RoomInfo("!dm-alice:test", None, "", is_direct=True)
FACILITATOR = "@fanny:test"

CONFIG_TOML = """
[matrix]
homeserver = "http://127.0.0.1:8008"
user_id = "@bot:test"

[bot]
data_dir = "{data_dir}"

[access]
facilitators = ["{facilitator}"]

[deposits]
announce_in_tribe = {announce}

[[rooms]]
id = "!energie:test"
kind = "tribe"
name = "Énergie"

[[rooms]]
id = "!alimentation:test"
kind = "tribe"
name = "Alimentation"

[[rooms]]
id = "!animation:test"
kind = "facilitators"
name = "Animation"

[[rooms]]
id = "!pairs:test"
kind = "peer_group"
role = "elus"
name = "Pairs élus"
"""


def write_config(tmp_path: Path, *, announce: bool = True) -> Path:
    path = tmp_path / "manufacture.toml"
    path.write_text(
        CONFIG_TOML.format(
            data_dir=tmp_path / "data", facilitator=FACILITATOR, announce="true" if announce else "false"
        ),
        encoding="utf-8",
    )
    return path


def direct_room_of(user_id: str) -> RoomInfo:
    """The direct chat the fake below opens with a member."""
    return RoomInfo(f"!dm-{user_id[1:].split(':')[0]}:test", None, "", is_direct=True)


class FakeDirectChats:
    """Stands for bot/direct_chats.py: each member has one direct chat, known from their id."""

    def __init__(self) -> None:
        self.opened: list[str] = []
        self.joined = True

    async def room_for(self, user_id: str) -> str:
        self.opened.append(user_id)
        return direct_room_of(user_id).room_id

    def member_joined(self, room_id: str) -> bool:
        # As the real one: a room that is no direct chat can always be written to.
        return self.joined or not room_id.startswith("!dm-")


@dataclass
class Sent:
    """A reply as the lead's sender would see it, with its Markdown rendered for assertions."""

    reply: Reply
    text: str

    def __getattr__(self, name):
        return getattr(self.reply, name)


@dataclass
class Harness:
    config: Config
    db: Database
    clock: Clock
    registry: CommandRegistry
    services: Services
    posted: list[Reply] = field(default_factory=list)
    renderer: Renderer = field(default_factory=lambda: Renderer(build_template_environment()))
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def build(cls, tmp_path: Path, clock: Clock | None = None, *, announce: bool = True) -> Harness:
        """A fresh registry and services over the database file in tmp_path (reused if present)."""
        config = load_config(write_config(tmp_path, announce=announce))
        db = Database("sqlite:///" + str(tmp_path / "t.db"))
        db.create_all()
        with db.session() as session:
            # As bot/room_directory.py's apply_config does at start: the configured rooms are in the database.
            for room in config.rooms:
                classify_room(session, room.id, room.kind, room.name, room.role)
        registry = CommandRegistry()
        register_deposits(registry)
        clock = clock or Clock()
        posted: list[Reply] = []

        async def post(reply: Reply) -> str | None:
            posted.append(reply)
            return f"$posted{len(posted)}"

        services = Services(
            config=config,
            db=db,
            units=UnitsOfWork(db),
            bot_user_id="@bot:test",
            post=post,
            clock=clock,
            direct_chats=FakeDirectChats(),
            deposit_form=load_form(config.deposits.form_path),
        )
        return cls(config=config, db=db, clock=clock, registry=registry, services=services, posted=posted)

    def render(self, reply: Reply) -> Sent:
        return Sent(reply, self.renderer.render(reply).plain)

    def dm(self, user: str) -> RoomInfo:
        return direct_room_of(user)

    async def say(
        self,
        user: str,
        body: str,
        room: RoomInfo = TRIBE_ENERGY,
        thread_root: str | None = None,
        event_id: str | None = None,
    ) -> list[Sent]:
        """Dispatch through the bot's own dispatcher (listeners, commands, confidentiality guard)."""
        # Event ids are unique across harnesses: the dispatcher ignores an event it already handled.
        message = Message(
            room=room,
            event_id=event_id or f"$ev{uuid.uuid4().hex}",
            sender=user,
            body=body,
            thread_root=thread_root,
            addressed=body.startswith("!") or room.is_direct,
        )
        sent: list[Reply] = []

        async def record(replies, trigger, work=None):
            sent.extend(replies)
            return [f"$sent{len(sent)}"] * len(replies)

        dispatcher = Dispatcher(
            self.services, self.registry, record, is_facilitator=lambda who: who in self.config.access.facilitators
        )
        await dispatcher.on_message(message)
        return [self.render(r) for r in sent]

    async def react(self, user: str, key: str, tag: str, room: RoomInfo | None = None) -> list[Sent]:
        """A reaction on a tagged message; by default in the member's direct chat, where forms are."""
        room = room or self.dm(user)
        async with self.services.units.open() as work:
            return await self._react(room, user, key, tag, work)

    async def _react(self, room: RoomInfo, user: str, key: str, tag: str, work: UnitOfWork) -> list[Sent]:
        reaction = Reaction(
            room=room,
            event_id=f"$ev{next(self.ids)}",
            sender=user,
            key=key,
            target_event_id="$recap",
            target_tag=tag,
            target_addressee=user,
            work=work,
        )
        results = []
        for handler in self.registry.reaction_handlers(tag):
            results += self._rendered(await handler(reaction, self.services))
        return results

    def _rendered(self, result) -> list[Sent]:
        replies = [] if result is None else ([result] if isinstance(result, Reply) else list(result))
        return [self.render(r) for r in replies]


def last_tag(sent: list[Sent]) -> str:
    tags = [s.reply.tag for s in sent if s.reply.tag]
    assert tags, "no tagged reply"
    return tags[-1]


# Answers that fill the default form for oneself, in order, for a non-confidential room.
SELF_DEPOSIT = [
    "Cantine bio intercommunale",
    "2",
    "moi",
    "Pays de Lunel",
    "Une cantine qui sert des produits locaux et bio aux écoles du territoire.",
    "partenaires et financement",
    "en préparation",
    "alice@example.org",
    "1",
]


ALICE, BOB = "@alice:test", "@bob:test"


async def fill(h: Harness, user: str, answers: list[str]) -> list[Sent]:
    """Answers typed one by one in the member's direct chat; what the bot said to the last one."""
    sent: list[Sent] = []
    for text in answers:
        sent = await h.say(user, text, room=h.dm(user))
    return sent


async def deposit_through_chat(
    h: Harness, user: str = ALICE, room: RoomInfo = TRIBE_ENERGY, answers: list[str] = SELF_DEPOSIT, root: str = "$root"
) -> None:
    """!deposer typed in `room`; the form itself is filled in the member's direct chat, and confirmed."""
    await h.say(user, "!deposer", room=room, event_id=root)
    await fill(h, user, [*answers, "oui"])


def deposits(h: Harness) -> list[Deposit]:
    with h.db.session() as s:
        return list(s.exec(select(Deposit).order_by(Deposit.id)))


def drafts(h: Harness) -> list[DepositDraft]:
    with h.db.session() as s:
        return list(s.exec(select(DepositDraft).order_by(DepositDraft.id)))


def thread_draft_of_the_previous_release(h: Harness, status: str = "filling") -> None:
    """A draft as the 2026-12-01 release left it: filled in a thread of the tribe room."""
    state = FormState(
        current="tribe",
        answers={"title": "Cantine bio intercommunale"},
        history=["title"],
        status=status,
        facts={"origin_confidential": False},
        started_at=h.clock.now.isoformat(),
        updated_at=h.clock.now.isoformat(),
    )
    with h.db.session() as session:
        session.add(
            DepositDraft(
                room_id=TRIBE_ENERGY.room_id,
                user_id=ALICE,
                thread_root="$old",
                origin_confidential=False,
                state=state.to_json(),
                status=status,
                created_at=h.clock.now,
                updated_at=h.clock.now,
            )
        )


def form_keys() -> tuple[str, ...]:
    return load_form().keys()


def run_cli(argv: list[str]) -> int:
    """`manufacture-bot deposits …` without the rest of the bot's command line."""
    parser = argparse.ArgumentParser(prog="manufacture-bot")
    register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def copy_db(h: Harness, data_dir: Path) -> None:
    """The CLI opens the database of the config's data_dir: the harness's deposits are copied there."""
    data_dir.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(h.db.sqlite_path)
    target = sqlite3.connect(data_dir / "manufacture.db")
    source.backup(target)
    source.close(), target.close()
