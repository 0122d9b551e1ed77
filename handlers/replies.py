"""What a handler gives back: replies as data, never Matrix calls.

The bot's sender (bot/sender.py) is the only code that turns a Reply into a Matrix
event, so handlers stay testable without a homeserver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Attachment:
    """A file to upload with the reply (e.g. a CSV export)."""

    filename: str
    content: bytes
    mimetype: str = "text/plain"


@dataclass(frozen=True)
class Answer:
    """In the triggering message's room (and thread), as a reply to it: what most replies are."""


@dataclass(frozen=True)
class Beside:
    """In the triggering message's room (and thread), without replying to it."""


@dataclass(frozen=True)
class Post:
    """In this room, whatever triggered it: an announcement, a notice, a message in a direct chat.
    In `thread_root`'s thread if given; as a reply to `reply_to` (an event of that room) if given."""

    room_id: str
    thread_root: str | None = None
    reply_to: str | None = None


@dataclass(frozen=True)
class PollChoice:
    """One answer of a poll: `id` is what a response carries back to the handler (e.g. "2")."""

    id: str
    label: str


@dataclass(frozen=True)
class Poll:
    """Choices a member may tap instead of typing, sent as a Matrix poll just after the reply's text
    (which keeps the numbered choices for clients without polls). A response is routed by `tag`, as
    a reaction is by its target's tag (CommandRegistry.add_poll_handler)."""

    question: str
    choices: tuple[PollChoice, ...]
    tag: str


ANSWER, BESIDE = Answer(), Beside()
Destination = Answer | Beside | Post


@dataclass(frozen=True)
class Reply:
    """One message the bot should post.

    Exactly one of ``text`` (Markdown) or ``template`` (a template name under
    handlers/templates, rendered with ``context``) is set.
    """

    text: str | None = None
    template: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    # Where it goes: the one field that says it (the sender turns it into a room and a relation).
    to: Destination = ANSWER
    # Users to mention explicitly (m.mentions). The bot never mentions @room.
    mentions: tuple[str, ...] = ()
    attachment: Attachment | None = None
    # Stored with the sent event id so later reactions/thread replies can be traced back
    # to what this message was (e.g. "answer:12", "deposit-recap:7").
    tag: str | None = None
    # Idempotency key: the Matrix transaction id derives from it, so a retry (or a
    # restart re-running the same job) never posts twice. None: derived by the sender.
    txn_key: str | None = None
    # The room whose words this reply carries, when it is not the triggering message's room
    # (a reaction's room, a stored deposit's origin). The sender's guard reads it.
    origin_room_id: str | None = None
    # A reply that carries content from a confidential room into another room is dropped
    # by the sender unless the content's author explicitly agreed (or is its only reader)...
    author_consented: bool = False
    # ...or unless it carries nothing said there (a bare deposit reference, a room's name).
    contains_room_content: bool = True
    # Sent as a poll too, after the text.
    poll: Poll | None = None
    # The bot's poll (its start event) this reply ends: the reply is then the poll's end event, its
    # text the fallback shown by clients without polls.
    ends_poll: str | None = None

    def __post_init__(self) -> None:
        if (self.text is None) == (self.template is None):
            raise ValueError("Reply needs exactly one of text or template")

    @property
    def room_id(self) -> str | None:
        """The room it is posted to; None: the triggering message's."""
        return self.to.room_id if isinstance(self.to, Post) else None


class UserError(Exception):
    """An expected failure: its message is French, addressed to the user, and safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
