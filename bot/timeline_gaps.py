"""What a limited sync left out. When more happened in a room since the last sync than a sync gives
(100 events: the bot was stopped a while, or cut off from the homeserver), the homeserver sends the
latest events and says the timeline is « limited »: the ones before are fetched here, back to the
last event the bot had seen, so that a question asked meanwhile is answered like any other."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from nio import (
    Event,
    MatrixRoom,
    MegolmEvent,
    ReactionEvent,
    RedactionEvent,
    RoomMemberEvent,
    RoomMessagesResponse,
    RoomMessageText,
    SyncResponse,
)

from bot.inbox import Arrival
from bot.matrix_client import BotClient
from storage.database import STORAGE_UNAVAILABLE
from storage.messages import known_events
from storage.unit_of_work import UnitsOfWork

log = logging.getLogger(__name__)

PAGE = 100
# At most this many pages back (a room left for weeks): older events are not answered any more.
MOST_PAGES = 10
WANTED = (RoomMessageText, ReactionEvent, RedactionEvent, MegolmEvent, RoomMemberEvent)


class TimelineGaps:
    def __init__(
        self,
        client: BotClient,
        units: UnitsOfWork,
        *,
        remembers: timedelta | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.client, self.units = client, units
        # How long the bot remembers the events it handled ([retention] handled_events_days): an older
        # event may have been handled and forgotten since, so the walk back stops there. Compared with
        # the homeserver's timestamps, hence the wall clock.
        self.remembers, self.wall_clock = remembers, wall_clock

    async def missed(self, answer: SyncResponse) -> list[Arrival]:
        """The events this sync's limited timelines left out, oldest first."""
        found: list[Arrival] = []
        for room_id, info in answer.rooms.join.items():
            timeline = info.timeline
            if not timeline.limited or not timeline.prev_batch or self._joined_in(timeline.events):
                continue  # a room just joined: its past is none of the bot's business
            found += await self._fetch(room_id, timeline.prev_batch)
        return found

    def _joined_in(self, events: list[Event]) -> bool:
        return any(
            isinstance(e, RoomMemberEvent) and e.state_key == self.client.user_id and e.membership == "join"
            for e in events
        )

    async def _fetch(self, room_id: str, token: str) -> list[Arrival]:
        room = self.client.rooms.get(room_id)
        if room is None:
            return []
        missed: list[Event] = []
        for _ in range(MOST_PAGES):
            page = await self.client.room_messages(room_id, start=token, limit=PAGE)
            if not isinstance(page, RoomMessagesResponse):
                log.warning("Events missed in %s could not be fetched: %s", room_id, getattr(page, "message", page))
                break
            # What nio could not parse (BadEvent…) is never recorded nor handled: neither a mark nor a miss.
            events = [event for event in page.chunk if isinstance(event, Event)]
            try:
                known = await self.units.run(known_events, [event.event_id for event in events])
            except STORAGE_UNAVAILABLE:
                log.warning("Events missed in %s not fetched: the database does not answer", room_id)
                return []
            for event in events:  # newest first
                if event.event_id in known or self._joined_in([event]) or self._forgotten(event):
                    return self._arrivals(room, missed)
                missed.append(event)
            if not page.chunk or not page.end or page.end == token:
                return self._arrivals(room, missed)
            token = page.end
        log.warning("More than %d events missed in %s: the older ones are left unanswered", len(missed), room_id)
        return self._arrivals(room, missed)

    def _forgotten(self, event: Event) -> bool:
        if self.remembers is None:
            return False
        return event.server_timestamp < (self.wall_clock() - self.remembers.total_seconds()) * 1000

    def _arrivals(self, room: MatrixRoom, missed: list[Event]) -> list[Arrival]:
        wanted = [
            event
            for event in reversed(missed)
            if isinstance(event, WANTED) and (isinstance(event, RoomMemberEvent) or event.sender != self.client.user_id)
        ]
        if wanted:
            log.info("%d event(s) a limited sync left out in %s will be handled", len(wanted), room.room_id)
        return [Arrival(room, event) for event in wanted]
