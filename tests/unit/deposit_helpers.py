"""A small in-process harness for the deposit handlers: a config, a database file, a clock we move,
and the bot's own dispatcher with a recording sender."""
from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from config import Config, load_config
from bot.dispatcher import Dispatcher
from bot.rendering import Renderer, build_template_environment
from handlers import deposits
from handlers.context import Message, Reaction, RoomInfo, Services
from handlers.deposits.form import load_form
from handlers.registry import CommandRegistry
from handlers.replies import Reply
from storage.database import Database

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
    path.write_text(CONFIG_TOML.format(data_dir=tmp_path / "data", facilitator=FACILITATOR,
                                       announce="true" if announce else "false"), encoding="utf-8")
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
        return self.joined


class Clock:
    def __init__(self, start: datetime = datetime(2027, 3, 1, 9, 0, tzinfo=timezone.utc)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


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
    def build(cls, tmp_path: Path, clock: Clock | None = None, *, announce: bool = True) -> "Harness":
        """A fresh registry and services over the database file in tmp_path (reused if present)."""
        config = load_config(write_config(tmp_path, announce=announce))
        db = Database("sqlite:///" + str(tmp_path / "t.db"))
        db.create_all()
        registry = CommandRegistry()
        deposits.register(registry)
        clock = clock or Clock()
        posted: list[Reply] = []

        async def post(reply: Reply) -> str | None:
            posted.append(reply)
            return f"$posted{len(posted)}"

        services = Services(config=config, db=db, bot_user_id="@bot:test", post=post, clock=clock,
                            direct_chats=FakeDirectChats(), deposit_form=load_form(config.deposits.form_path))
        return cls(config=config, db=db, clock=clock, registry=registry, services=services, posted=posted)

    def render(self, reply: Reply) -> Sent:
        return Sent(reply, self.renderer.render(reply).plain)

    def dm(self, user: str) -> RoomInfo:
        return direct_room_of(user)

    async def say(self, user: str, body: str, room: RoomInfo = TRIBE_ENERGY, thread_root: str | None = None,
                  event_id: str | None = None) -> list[Sent]:
        """Dispatch through the bot's own dispatcher (listeners, commands, confidentiality guard)."""
        # Event ids are unique across harnesses: the dispatcher ignores an event it already handled.
        message = Message(room=room, event_id=event_id or f"$ev{uuid.uuid4().hex}", sender=user, body=body,
                          thread_root=thread_root, addressed=body.startswith("!") or room.is_direct)
        sent: list[Reply] = []

        async def record(replies, trigger):
            sent.extend(replies)
            return [f"$sent{len(sent)}"] * len(replies)

        dispatcher = Dispatcher(self.services, self.registry, record,
                                is_facilitator=lambda who: who in self.config.access.facilitators)
        await dispatcher.on_message(message)
        return [self.render(r) for r in sent]

    async def react(self, user: str, key: str, tag: str, room: RoomInfo | None = None) -> list[Sent]:
        """A reaction on a tagged message; by default in the member's direct chat, where forms are."""
        room = room or self.dm(user)
        reaction = Reaction(room=room, event_id=f"$ev{next(self.ids)}", sender=user, key=key,
                            target_event_id="$recap", target_tag=tag, target_addressee=user)
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
SELF_DEPOSIT = ["Cantine bio intercommunale", "2", "moi", "Pays de Lunel",
                "Une cantine qui sert des produits locaux et bio aux écoles du territoire.",
                "partenaires et financement", "en préparation", "alice@example.org", "1"]


# A sample context for every deposit template (tests/unit/template_samples.py can merge it).
_ROW = {"number": 1, "key": "title", "label": "Titre", "value": "Cantine <b>bio</b>"}
_VIEW = {"reference": "DEP-2027-0001", "title": "Cantine <b>bio</b>", "tribe": "Énergie", "status_label": "nouveau",
         "visibility_label": "toute la communauté", "created": "1er mars 2027", "depositor": "@alice:test",
         "origin_confidential": False, "content_shared": True, "rows": [_ROW],
         "history": [{"date": "1er mars 2027", "status_label": "nouveau", "by": "@alice:test", "comment": "ok"}]}
DEPOSIT_TEMPLATE_SAMPLES = {f"deposits/{name}.md.j2": context for name, context in {
    "question": {"intro": "Bonjour", "error": "Non", "label": "Titre", "question": "Titre ?", "type": "choices",
                 "required": False, "options": ["A", "B"], "position": 1, "total": 2, "previous": "A"},
    "recap": {"title": "Dépôt", "rows": [_ROW]},
    "help": {"in_recap": False, "field": {"label": "Titre", "question": "?", "help": "Aide", "options": ["A"],
                                           "required": True, "position": 1, "total": 3}},
    "confirmed": {"title": "Cantine <b>bio</b>", "reference": "DEP-2027-0001", "visibility": "community",
                  "content_shared": True, "announced": True},
    "facilitators_notice": {"reference": "DEP-2027-0001", "content_shared": True, "origin_confidential": True,
                            "depositor": "@alice:test", "rows": [_ROW], "shared_later": False},
    "tribe_announce": {"title": "Cantine <b>bio</b>", "reference": "DEP-2027-0001", "territory": "Lunel",
                       "needs": "Un lieu"},
    "deposit": {"d": _VIEW},
    "list": {"deposits": [_VIEW], "filters": "nouveau"},
    "mine": {"deposits": [_VIEW], "drafts": [{"title": "X", "status_label": "en cours", "updated": "2 mars 2027",
                                             "answered": 2}]},
    "reminder": {"title": "Cantine <b>bio</b>", "question": "Titre ?"},
    "abandoned": {"title": "Cantine <b>bio</b>", "days": "7"},
    "status_changed": {"reference": "DEP-2027-0001", "title": "Cantine <b>bio</b>", "status_label": "clos",
                       "comment": "Bravo"},
}.items()}
