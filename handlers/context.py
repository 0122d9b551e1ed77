"""What a handler receives: the message, who sent it, where, and the services built at start."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from handlers.replies import Reply

if TYPE_CHECKING:
    from bot.config import Config
    from storage.database import Database


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
    mentions_bot: bool = False
    # The command prefix was used ("!aide"), or the bot was mentioned, or it is a direct chat.
    addressed: bool = False

    @property
    def room_id(self) -> str:
        return self.room.room_id


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Services:
    """Everything the entry point built, passed to handlers instead of module-level singletons."""

    config: "Config"
    db: "Database"
    bot_user_id: str
    # Posts a reply outside the request/response flow (scheduled reminders, notices).
    # Returns the event id, or None when it could not be posted.
    post: Callable[[Reply], Awaitable[str | None]]
    clock: Callable[[], datetime] = system_clock
    # Domain services, set by the entry point when they are built.
    search: Any = None
    scheduler: Any = None
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CommandContext:
    message: Message
    services: Services
    is_facilitator: bool
    # The command word as typed (alias included) and everything after it.
    command: str = ""
    args: str = ""


@dataclass(frozen=True)
class Reaction:
    room: RoomInfo
    event_id: str
    sender: str
    key: str  # the emoji
    # The bot's message reacted to, and the tag it was sent with.
    target_event_id: str
    target_tag: str
    target_addressee: str | None
