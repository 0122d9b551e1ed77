"""What a handler receives: the message, who sent it, where, and the services built at start."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from handlers.metrics import Metrics
from handlers.replies import Reply

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from config import Config
    from handlers.deposits.form import FormDef
    from knowledge.search import SearchService
    from storage.unit_of_work import UnitOfWork, UnitsOfWork


@dataclass(frozen=True)
class RoomInfo:
    room_id: str
    kind: str | None  # tribe | peer_group | facilitators | None
    name: str = ""
    role: str | None = None
    encrypted: bool = False
    is_direct: bool = False

    @property
    def confidential(self) -> bool:
        return self.kind == "peer_group" or self.is_direct


@dataclass(frozen=True)
class Message:
    room: RoomInfo
    event_id: str
    sender: str
    body: str
    # Root of the thread the message is in, if any.
    thread_root: str | None = None
    # The event it replies to (a thread's fallback reply is none).
    in_reply_to: str | None = None
    # Meant for the bot: prefix, intentional mention, a call by name, a reply to the bot, a
    # message in a thread the bot is in, or any message of a direct chat (bot/addressing.py).
    addressed: bool = False

    @property
    def room_id(self) -> str:
        return self.room.room_id


class DirectChats(Protocol):
    """A member's direct chat with the bot, where every private exchange happens (bot/direct_chats.py)."""

    async def room_for(self, user_id: str) -> str:
        """The room id of the member's direct chat, opened if need be; raises UserError if impossible."""

    def member_joined(self, room_id: str) -> bool:
        """Whether the member has joined it (a chat just opened waits for them to accept the invitation)."""

    def member_of(self, room_id: str) -> str | None:
        """The member a direct chat is with, if the bot keeps it as one."""


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Services:
    """Everything the composition root (bot/app.py) built, passed to handlers instead of singletons."""

    config: Config
    bot_user_id: str
    # Posts a reply outside the request/response flow (scheduled reminders, notices), through the
    # bot's one sender. Returns the event id, or None when it could not be posted.
    post: Callable[[Reply], Awaitable[str | None]]
    clock: Callable[[], datetime] = system_clock
    # None when knowledge.enabled = false: questions then get a polite « not available ».
    search: SearchService | None = None
    scheduler: AsyncIOScheduler | None = None
    direct_chats: DirectChats | None = None
    # The deposit form as loaded and checked at start (tribes are added as they are known).
    deposit_form: FormDef | None = None
    # What the operator sees at /metrics; by default counts nobody scrapes.
    metrics: Metrics = field(default_factory=Metrics)
    # The database's units of work (storage/unit_of_work.py): work outside any event (a job, a board
    # page) runs through them, off the event loop.
    units: UnitsOfWork = field(kw_only=True)


@dataclass(frozen=True)
class CommandContext:
    message: Message
    services: Services
    is_facilitator: bool
    # The command word as typed (alias included) and everything after it.
    command: str = ""
    args: str = ""
    # The event's one unit of database work: every step a handler awaits runs in its session.
    work: UnitOfWork = field(kw_only=True)


@dataclass(frozen=True)
class Reaction:
    room: RoomInfo
    event_id: str
    sender: str
    key: str  # the emoji
    # The bot's message reacted to, and the tag it was sent with.
    target_event_id: str
    target_tag: str
    # The reaction's one unit of database work, as CommandContext.work is a message's.
    work: UnitOfWork = field(kw_only=True)


@dataclass(frozen=True)
class PollVote:
    """A member's response to one of the bot's polls (handlers.replies.Poll)."""

    room: RoomInfo
    event_id: str
    sender: str
    # The chosen choices' ids (PollChoice.id), in the member's order; empty: a vote taken back.
    choices: tuple[str, ...]
    # The poll's start event and the tag it was sent with (Poll.tag).
    poll_event_id: str
    poll_tag: str
    work: UnitOfWork = field(kw_only=True)
