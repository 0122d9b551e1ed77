"""Silence asserted by a round trip rather than by a sleep.

The bot handles events one at a time, in the order the homeserver hands them over (one worker:
bot/inbox.py), and sends what an event calls for before it takes the next one. So once it has
answered a sentinel sent after some messages, whatever it would have said about those messages is
already on the homeserver, and the person who sent the sentinel has received it too: a client's
sync hands it everything in stream order, all rooms together. What the bot said before that answer
is then all it will ever say about them, and no sleep is long enough to be sure of it otherwise.
To check a room of someone else's, that person sends the sentinel there: their client's view is
only complete up to what they themselves have received.

Not for what the bot says on its own timers (the agenda's reminders): those do not queue behind
events."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from nio import Event

SENTINEL = "!aide"
SENTINEL_ANSWER = "Ce que je peux faire"
# Seconds; generous, for a bot still catching up (or rate limited) when the sentinel arrives.
ANSWER_WITHIN = 60.0


class Person(Protocol):
    """What the round trip uses of the integration tests' Matrix person."""

    async def send(self, room_id: str, body: str) -> str: ...

    def messages(self, room_id: str | None = None, sender: str | None = None) -> list[Event]: ...


async def said_before_sentinel(person: Person, room_id: str, bot_id: str) -> list[Event]:
    """Sends the sentinel (`!aide`) to the bot in `room_id`, waits for its answer, and gives what
    `person` received from the bot in `room_id` before that answer, the answer left out. The answer
    is told from any other help text by its reply relation to the sentinel; it stays in
    `person.messages`, for the counts that follow."""
    sentinel_id = await person.send(room_id, SENTINEL)

    def answer() -> Event | None:
        return next((e for e in person.messages(room_id, bot_id) if _replies_to(e, sentinel_id)), None)

    deadline = time.monotonic() + ANSWER_WITHIN
    while (reply := answer()) is None:
        assert time.monotonic() < deadline, f"the bot never answered {SENTINEL} in {room_id}"
        await asyncio.sleep(0.05)
    said = person.messages(room_id, bot_id)
    return said[: said.index(reply)]


def _replies_to(event: Event, event_id: str) -> bool:
    relation = event.source.get("content", {}).get("m.relates_to", {})
    replied = relation.get("m.in_reply_to", {}).get("event_id")
    return event_id in (replied, relation.get("event_id")) and SENTINEL_ANSWER in getattr(event, "body", "")
