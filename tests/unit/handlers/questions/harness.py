"""The question handlers without a homeserver: the real search over the shipped pack, the real
dispatcher, and a recording sender that keeps tagged messages as the bot's sender does."""

from __future__ import annotations

import shutil
import uuid

from bot.dispatcher import Dispatcher
from bot.rendering import Renderer, build_template_environment
from config import parse_config
from handlers import questions
from handlers.agenda import ReminderService
from handlers.context import Message, RoomInfo, Services
from handlers.registry import CommandRegistry
from handlers.replies import Post
from knowledge.search import SearchService
from storage.database import open_database
from storage.messages import SentMessage
from storage.rooms import RoomRecord
from storage.unit_of_work import UnitsOfWork

TRIBE = RoomInfo("!tribe:t", "tribe", "Alimentation")
# Ana's direct chat with the bot, as the room directory records it (is_direct, no kind).
ANA_DIRECT = RoomInfo("!dm-ana:t", None, "Ana", is_direct=True)
PEERS = RoomInfo("!peers:t", "peer_group", "Pairs — agents", role="agents", encrypted=True)
FACILITATORS = RoomInfo("!fac:t", "facilitators", "Animation")
ANA, FANNY = "@ana:t", "@fanny:t"
OUT_OF_DOMAIN = "Quelle est la recette de la pâte à crêpes ?"


class DirectChats:
    """Each member's direct chat with the bot: `!dm-<name>:t`, joined."""

    async def room_for(self, user_id: str) -> str:
        return f"!dm-{user_id[1:].split(':')[0]}:t"

    def member_joined(self, room_id: str) -> bool:
        return True


class Bot:
    def __init__(self, tmp_path, embedder, data_dir, *, agenda: dict | None = None, clock=None):
        shutil.copytree(data_dir, tmp_path / "data")
        config = parse_config(
            {
                "matrix": {"homeserver": "http://h", "user_id": "@bot:t"},
                "bot": {"data_dir": str(tmp_path / "data")},
                "access": {"facilitators": [FANNY]},
                **({"agenda": agenda} if agenda else {}),
            },
            tmp_path / "c.toml",
        )
        self.db = open_database(config.data_dir, config.database)
        with self.db.session() as session:
            for room in (TRIBE, PEERS, FACILITATORS):
                session.add(RoomRecord(room_id=room.room_id, kind=room.kind, name=room.name, role=room.role))
            session.add(RoomRecord(room_id=ANA_DIRECT.room_id, name=ANA_DIRECT.name, is_direct=True))
        self.search = SearchService(self.db, embedder)
        self.search.start_sync()
        # What handlers posted themselves (Services.post), kept in `sent` as well, in order; set
        # `refuse` for a homeserver that refuses them.
        self.posted: list = []
        self.refuse = False

        async def post(reply):
            if self.refuse:
                return None
            self.posted.append(reply)
            [event_id] = await record([reply], None)
            return event_id

        self.services = Services(
            config=config,
            db=self.db,
            units=UnitsOfWork(self.db),
            bot_user_id="@bot:t",
            post=post,
            search=self.search,
            direct_chats=DirectChats(),
            **({"clock": clock} if clock else {}),
        )
        self.registry = CommandRegistry()
        questions.register(self.registry, ReminderService(self.services))
        self.renderer = Renderer(build_template_environment())
        self.sent = []

        async def record(replies, trigger, work=None):
            # As the bot's sender does: every message kept with its tag, so replies and ✅ find it.
            ids = []
            for reply in replies:
                self.sent.append(reply)
                ids.append(f"$out{len(self.sent)}")
                thread_root = reply.to.thread_root if isinstance(reply.to, Post) else trigger.thread_root
                with self.db.session() as session:
                    session.add(
                        SentMessage(
                            event_id=ids[-1],
                            room_id=reply.room_id or trigger.room_id,
                            tag=reply.tag or "",
                            thread_root=thread_root,
                            addressee=trigger.sender if trigger else None,
                        )
                    )
            return ids

        self.dispatcher = Dispatcher(self.services, self.registry, record, is_facilitator=lambda u: u == FANNY)

    async def say(self, user, body, room=TRIBE, thread_root=None, addressed=None, in_reply_to=None):
        before = len(self.sent)
        event_id = f"$in{uuid.uuid4().hex[:8]}"
        await self.dispatcher.on_message(
            Message(
                room=room,
                event_id=event_id,
                sender=user,
                body=body,
                thread_root=thread_root,
                in_reply_to=in_reply_to,
                addressed=body.startswith("!") if addressed is None else addressed,
            )
        )
        return [(r, self.renderer.render(r).plain) for r in self.sent[before:]], event_id

    def last_id(self) -> str:
        """The event id the bot's last message got."""
        return f"$out{len(self.sent)}"

    async def react(self, user, key, target_event_id, room=TRIBE):
        before = len(self.sent)
        await self.dispatcher.on_reaction(room, f"$r{uuid.uuid4().hex[:8]}", user, key, target_event_id)
        return [(r, self.renderer.render(r).plain) for r in self.sent[before:]]
