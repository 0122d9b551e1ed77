"""Every event a sync brings is handled, once, whatever happens on the way.

The events a sync brings (messages, reactions, redactions, memberships, messages not readable yet) are
recorded as pending in the database (storage/messages.py) before the sync token moves past them;
they are then handled one at a time, in order, and marked done once their replies are sent.

- The process dies (a crash, `kill -9`): at the next start, what was pending is fetched from the
  homeserver and handled again. Replies carry transaction ids derived from the event, so what had
  already gone out is not posted twice.
- The database does not answer (a server restarting, a locked file), or the homeserver fails while
  replies are sent: the event stays first in line and is tried again, waiting longer each time. The
  sync token does not move past events that could not be recorded, so a stop meanwhile loses nothing.
  A member gets the answer late, never not at all.
- A stop (SIGTERM, Ctrl+C) lets the event in hand finish, for a bounded time.

Each event is handled in one unit of database work (storage/unit_of_work.py), its done mark included:
one session per event, every step off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from nio import (
    Event,
    MatrixRoom,
    MegolmEvent,
    ReactionEvent,
    RedactedEvent,
    RedactionEvent,
    RoomGetEventError,
    RoomGetEventResponse,
    RoomMemberEvent,
    RoomMessageText,
    UnknownEvent,
)

from bot.polls import is_response
from bot.sender import UNREACHABLE, HomeserverUnavailable
from handlers.metrics import Metrics
from storage.database import STORAGE_UNAVAILABLE
from storage.messages import UNDECRYPTABLE, Arrived, mark_done, pending_events, take_in
from storage.unit_of_work import UnitOfWork, UnitsOfWork

log = logging.getLogger(__name__)

MESSAGE, REACTION, REDACTION, MEMBERSHIP = "message", "reaction", "redaction", "membership"
POLL_RESPONSE = "poll_response"
FIRST_WAIT = 0.5
LONGEST_WAIT = 30.0
# How long a stop waits for the event in hand.
STOP_WAIT = 20.0


@dataclass(frozen=True)
class Arrival:
    """An event to handle, in the room it came in."""

    room: MatrixRoom
    event: Event

    @property
    def event_id(self) -> str:
        return self.event.event_id

    @property
    def kind(self) -> str:
        return kind_of(self.event)

    @property
    def key(self) -> tuple[str, str]:
        return self.event_id, self.kind


def kind_of(event: Event) -> str:
    if isinstance(event, MegolmEvent):
        return UNDECRYPTABLE
    if isinstance(event, ReactionEvent):
        return REACTION
    if isinstance(event, RedactionEvent):
        return REDACTION
    if isinstance(event, RoomMemberEvent):
        return MEMBERSHIP
    if is_poll_response(event):
        return POLL_RESPONSE
    return MESSAGE


def is_poll_response(event: Event) -> bool:
    """nio has no poll classes: a response is an UnknownEvent, decrypted or not."""
    return isinstance(event, UnknownEvent) and is_response(event.type)


# Handles an event in the event's unit of work.
Handle = Callable[[Arrival, UnitOfWork], Awaitable[None]]


class InboxClient(Protocol):
    """What the inbox asks of the bot's client (bot.matrix_client.BotClient): its rooms, the
    homeserver's copy of an event, and the sync token it may commit once a sync's events are recorded."""

    @property
    def rooms(self) -> Mapping[str, MatrixRoom]: ...

    async def room_get_event(self, room_id: str, event_id: str) -> RoomGetEventResponse | RoomGetEventError: ...

    def commit_sync_token(self, token: str) -> None: ...


class Inbox:
    def __init__(
        self,
        client: InboxClient,
        units: UnitsOfWork,
        metrics: Metrics,
        *,
        first_wait: float = FIRST_WAIT,
        longest_wait: float = LONGEST_WAIT,
    ) -> None:
        self.client, self.units, self.metrics = client, units, metrics
        self.first_wait, self.longest_wait = first_wait, longest_wait
        # Brought by the sync under way, then by syncs whose events are not recorded yet (with the
        # token that passes them), then recorded and waiting their turn.
        self._arriving: list[Arrival] = []
        self._unrecorded: deque[tuple[list[Arrival], str | None]] = deque()
        # Recording waits on the database: one batch at a time, in order (the loop and take() both record).
        self._recording = asyncio.Lock()
        self._ready: deque[Arrival] = deque()
        # What is in line or in hand, by event and kind: a message decrypted once its key came is the same
        # event as the unreadable one still being handled, but not the same work.
        self._queued: set[tuple[str, str]] = set()
        self._wake = asyncio.Event()
        # The event first in line once handled, while it waits to be marked done.
        self._handled: str | None = None
        self._task: asyncio.Task | None = None
        self._stopping = False
        # Why the last attempt failed (None: it did not); read by /healthz through Metrics.
        self.waiting_on: str | None = None

    # --- what comes in ---------------------------------------------------------------------

    def receive(self, room: MatrixRoom, event: Event) -> None:
        """From nio's event callbacks, during a sync: nothing is written yet."""
        self._arriving.append(Arrival(room, event))

    def end_of_sync(self, token: str | None, missed: list[Arrival] | None = None) -> None:
        """The sync that brought them is over: they are recorded, then the token is saved. `missed`: what
        the sync left out before them (bot/timeline_gaps.py), handled first."""
        self._unrecorded.append(([*(missed or ()), *self._arriving], token))
        self._arriving = []
        self._wake.set()

    async def take(self, room: MatrixRoom, event: Event) -> None:
        """An event that comes outside a sync (a message decrypted once its late key came), recorded
        at once: raises one of STORAGE_UNAVAILABLE if it could not be, so that the caller keeps it."""
        self._unrecorded.append(([Arrival(room, event)], None))
        await self._record()
        self._wake.set()

    def homeserver_back(self) -> None:
        """A sync succeeded: an event waiting for the homeserver is tried again now."""
        if self.waiting_on == "homeserver":
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._arriving) + sum(len(batch) for batch, _ in self._unrecorded) + len(self._ready)

    # --- at start and stop -----------------------------------------------------------------

    async def recover(self) -> int:
        """At start, once the catch-up sync is in: the events a previous run left pending and that sync
        did not bring again are fetched and put first in line. Returns how many were."""
        self.end_of_sync(None)
        await self._record()
        rows = [
            row
            for row in await self.units.run(pending_events)
            if row.event_id not in {event_id for event_id, _ in self._queued}
        ]
        recovered = []
        for row in rows:
            arrival = await self._fetch(row.room_id, row.event_id) if row.room_id else None
            if arrival is None:
                await self.units.run(mark_done, row.event_id)
                continue
            recovered.append(arrival)
            self._queued.add(arrival.key)
        self._ready.extendleft(reversed(recovered))
        if recovered:
            log.info("%d event(s) left pending by the previous run will be handled again", len(recovered))
        return len(recovered)

    async def _fetch(self, room_id: str, event_id: str) -> Arrival | None:
        room = self.client.rooms.get(room_id)
        if room is None:
            log.info("Pending event %s dropped: the bot is no longer in %s", event_id, room_id)
            return None
        answer = await self.client.room_get_event(room_id, event_id)
        if isinstance(answer, RoomGetEventError):
            log.info("Pending event %s dropped: %s", event_id, answer.status_code)
            return None
        # nio decrypts what it can on the way in; a MegolmEvent still is unreadable, and is handled as
        # such: kept until its key arrives (bot/late_keys.py).
        event = answer.event
        if isinstance(event, RedactedEvent):
            return None
        if not isinstance(
            event, (RoomMessageText, ReactionEvent, RedactionEvent, RoomMemberEvent, MegolmEvent)
        ) and not is_poll_response(event):
            return None
        return Arrival(room, event)

    def start(self, handle: Handle) -> None:
        self._task = asyncio.create_task(self._run(handle))

    async def stop(self, timeout: float = STOP_WAIT) -> None:
        """Lets the event in hand finish (at most `timeout`); what waits stays pending for the next start."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        done, _ = await asyncio.wait({self._task}, timeout=timeout)
        if not done:
            log.warning("Stopping while an event is still being handled: it will be handled again at start")
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    # --- the work --------------------------------------------------------------------------

    async def _record(self) -> None:
        """Records every batch received, in order, and moves the sync token past each one recorded."""
        async with self._recording:
            await self._record_batches()

    async def _record_batches(self) -> None:
        while self._unrecorded:
            arrivals, token = self._unrecorded[0]
            fresh: dict[str, Arrival] = {}
            for arrival in arrivals:
                if arrival.key not in self._queued:
                    fresh.setdefault(arrival.event_id, arrival)
            if fresh:
                done = await self.units.run(
                    take_in,
                    [Arrived(a.event_id, a.room.room_id, a.kind, a.event.server_timestamp) for a in fresh.values()],
                )
                for arrival in fresh.values():
                    if arrival.event_id not in done:
                        self._ready.append(arrival)
                        self._queued.add(arrival.key)
            self._unrecorded.popleft()
            if token:
                self._save_token(token)

    def _save_token(self, token: str) -> None:
        """The events the token passes are recorded: it may move. On the event loop's thread, on purpose:
        nio writes its store from that thread's connection, in transactions that read then write, and a
        commit from another connection in between makes SQLite refuse their write at once (database is
        locked, whatever the busy timeout), leaving nio's memory ahead of its store. One statement, 45 µs."""
        try:
            self.client.commit_sync_token(token)
        except Exception:
            # The token stays behind: the next start syncs from an earlier one, and what it brings again
            # is recorded as already handled, so nothing is lost and nothing handled twice.
            log.warning(
                "The sync token could not be saved; the next start catches up from an earlier one", exc_info=True
            )

    async def _run(self, handle: Handle) -> None:
        wait = self.first_wait
        while not self._stopping:
            try:
                await self._record()
                if self._ready:
                    arrival = self._ready[0]
                    async with self.units.open() as work:
                        if self._handled != arrival.event_id:
                            await handle(arrival, work)
                            # Handled and answered: if marking it done fails, only that is tried again.
                            self._handled = arrival.event_id
                        await work(mark_done, arrival.event_id)
                    self._handled = None
                    self._ready.popleft()
                    self._queued.discard(arrival.key)
                else:
                    self._wake.clear()
                    if not self._unrecorded:
                        await self._wake.wait()
                if self.waiting_on is not None:
                    log.info("The %s answers again: events are handled", self.waiting_on)
                self._answered()
                wait = self.first_wait
                continue
            except STORAGE_UNAVAILABLE as error:
                self._failed("database", error)
            except (HomeserverUnavailable, *UNREACHABLE) as error:
                self._failed("homeserver", error)
            except Exception:
                # A bug, not an outage: retrying would fail the same way and hold every later event.
                dropped = self._ready.popleft() if self._ready else None
                self._handled = None
                log.exception("Event %s could not be handled; it is dropped", dropped.event_id if dropped else "?")
                if dropped is not None:
                    self._queued.discard(dropped.key)
                    await self._mark_done_quietly(dropped.event_id)
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
            wait = min(wait * 2, self.longest_wait)

    def _failed(self, what: str, error: BaseException) -> None:
        if self.waiting_on != what:
            log.warning(
                "The %s does not answer (%s: %s): %d event(s) wait and will be handled once it does",
                what,
                type(error).__name__,
                str(error).splitlines()[0][:200] if str(error) else "",
                self.pending,
            )
        self.waiting_on = what
        self.metrics.event_retried(what)

    def _answered(self) -> None:
        self.waiting_on = None
        self.metrics.database_answered()

    async def _mark_done_quietly(self, event_id: str) -> None:
        try:
            await self.units.run(mark_done, event_id)
        except STORAGE_UNAVAILABLE:
            log.warning("Event %s stays pending: the database does not answer", event_id)
