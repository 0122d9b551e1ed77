"""No message lost to a late key: an event that arrives before its room key is handled when the key comes.

An undecryptable event is kept (storage/undecryptable.py: where it is, never what it says) and
its key asked for. When a room key for its session arrives (m.room_key, or a forwarded key), or
at a later retry, the event is fetched again, decrypted, and handed to the inbox (bot/inbox.py) as if
the sync had brought it readable; the inbox's record of handled events makes that exactly once,
across restarts too. If it is still unreadable after a few minutes, its sender
gets one short notice in that room.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from itertools import groupby

from nio import (
    BadEvent,
    Event,
    ForwardedRoomKeyEvent,
    MatrixRoom,
    MegolmEvent,
    RedactedEvent,
    RoomGetEventError,
    RoomKeyEvent,
    UnknownBadEvent,
)
from nio.exceptions import LocalProtocolError
from sqlmodel import Session

from bot.matrix_client import BotClient
from handlers.context import system_clock
from handlers.metrics import Metrics
from handlers.replies import Post, Reply
from storage.undecryptable import (
    UndecryptableEvent,
    due_for_notice,
    due_for_retry,
    forget,
    noticed_since,
    received_before,
    remember,
    waiting_for_session,
)
from storage.unit_of_work import UnitOfWork, UnitsOfWork

log = logging.getLogger(__name__)

# How long a key may take before the sender is told (keys normally come within seconds).
NOTICE_AFTER = timedelta(minutes=3)
# A sender is told once per room in this time, however many of their messages stay unreadable.
NOTICE_QUIET = timedelta(hours=24)
# Retries wait twice as long each time, up to this.
LONGEST_RETRY_WAIT = timedelta(hours=1)
# After this, a key is not coming: the event is forgotten.
KEEP_FOR = timedelta(days=7)
# How often sweep() runs (set up by the composition root).
SWEEP_SECONDS = 60
ROOM_APPEAR_SECONDS = 10.0

NOTICE_ONE = (
    "Je n'ai pas pu lire votre message chiffré : sa clé de déchiffrement ne m'est pas parvenue. "
    "S'il m'était destiné, renvoyez-le."
)
NOTICE_MANY = (
    "Je n'ai pas pu lire {count} de vos messages chiffrés : leur clé de déchiffrement ne m'est pas "
    "parvenue. S'ils m'étaient destinés, renvoyez-les."
)
NOTICE_FIX = (
    " Si cela se reproduit, votre application ne me transmet pas ses clés : mettez-la à jour, "
    "ou déconnectez-vous puis reconnectez-vous, et réessayez."
)


def notice_text(count: int) -> str:
    return (NOTICE_ONE if count == 1 else NOTICE_MANY.format(count=count)) + NOTICE_FIX


class LateKeys:
    def __init__(
        self,
        client: BotClient,
        units: UnitsOfWork,
        post: Callable[[Reply], Awaitable[str | None]],
        *,
        deliver: Callable[[MatrixRoom, Event], Awaitable[None]],
        clock: Callable[[], datetime] = system_clock,
        notice_after: timedelta = NOTICE_AFTER,
        metrics: Metrics | None = None,
    ) -> None:
        self.client, self.units, self.post, self.clock = client, units, post, clock
        # Takes a readable event in (and records it) to be handled; raises if it could not.
        self.deliver = deliver
        self.metrics = metrics or Metrics()
        self.notice_after = notice_after
        # One retry at a time: a key arriving during a sweep must not fetch the same event twice at once.
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task] = set()

    async def on_undecryptable(self, room: MatrixRoom, event: MegolmEvent, work: UnitOfWork | None = None) -> None:
        """`work`: the event's unit, when it comes from the inbox."""
        if event.sender == self.client.user_id:
            return
        # Always there in an encrypted event's content; nio types it optional as any Event's.
        assert event.session_id is not None
        async with self.units.joining(work) as work:
            kept = await work(remember, event.event_id, room.room_id, event.sender, event.session_id, self.clock())
        if not kept:
            return
        self.metrics.undecryptable.inc()
        log.info(
            "Could not decrypt event %s in %s (session %s): kept until its key arrives",
            event.event_id,
            room.room_id,
            event.session_id,
        )
        try:
            await self.client.request_room_key(event)
        except LocalProtocolError:  # this session's key is already asked for
            log.debug("Key request for session %s not sent", event.session_id, exc_info=True)

    async def on_room_key(self, event: RoomKeyEvent | ForwardedRoomKeyEvent) -> None:
        """A to-device callback, run inside the sync: the events are fetched off it."""
        waiting = await self.units.run(waiting_for_session, event.session_id)
        if not waiting:
            return
        log.info("Room key for session %s arrived: %d waiting event(s)", event.session_id, len(waiting))
        task = asyncio.create_task(self._retry_logged([row.event_id for row in waiting]))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def sweep(self) -> None:
        """Periodically: retry what is due, tell senders about what stays unreadable, forget what is too old."""
        now = self.clock()
        due = await self.units.run(_give_up_and_due, now)
        await self._retry(due)
        await self._notify(now)

    async def _retry(self, event_ids: list[str]) -> None:
        """Fetches, decrypts and handles these events if their key is there now."""
        async with self._lock:
            for event_id in event_ids:
                row = await self.units.run(_kept, event_id)
                if row is not None:
                    await self._try(row)

    async def _retry_logged(self, event_ids: list[str]) -> None:
        try:
            await self._retry(event_ids)
        except Exception:
            log.exception("Retrying events after a room key failed")

    async def _try(self, row: UndecryptableEvent) -> None:
        # A key arriving in the first sync after a restart comes before nio has rebuilt its rooms from
        # that same sync: they appear a moment later.
        room = await self.client.room_appearing(row.room_id, ROOM_APPEAR_SECONDS)
        if room is None:
            await self._later(row.event_id)
            return
        answer = await self.client.room_get_event(row.room_id, row.event_id)
        if isinstance(answer, RoomGetEventError):
            if answer.status_code in ("M_NOT_FOUND", "M_FORBIDDEN"):
                await self._forget(row.event_id)  # gone, or no longer ours to read: nothing left to handle
            else:
                await self._later(row.event_id)
            return
        if isinstance(answer.event, MegolmEvent):
            await self._later(row.event_id)
            return
        if isinstance(answer.event, (RedactedEvent, BadEvent, UnknownBadEvent)):
            await self._forget(row.event_id)  # redacted meanwhile: nothing left to read
            return
        # nio decrypted it on the way in; handled exactly as the sync would have handled it.
        await self.deliver(room, answer.event)
        await self._forget(row.event_id)
        log.info("Event %s in %s decrypted late and handled", row.event_id, row.room_id)

    async def _later(self, event_id: str) -> None:
        await self.units.run(_try_later, event_id, self.clock())

    async def _forget(self, event_id: str) -> None:
        await self.units.run(forget, event_id)

    async def _notify(self, now: datetime) -> None:
        due = await self.units.run(due_for_notice, now - self.notice_after)
        due.sort(key=lambda row: (row.room_id, row.sender))
        for (room_id, sender), group in groupby(due, key=lambda row: (row.room_id, row.sender)):
            rows = list(group)
            told_lately = await self.units.run(noticed_since, room_id, sender, now - NOTICE_QUIET)
            if not told_lately:
                log.warning(
                    "%d event(s) from %s in %s still undecryptable: telling the sender", len(rows), sender, room_id
                )
                # Replying to the unreadable message shows which one; the transaction id keeps it single.
                await self.post(
                    Reply(
                        text=notice_text(len(rows)),
                        to=Post(room_id, reply_to=rows[0].event_id),
                        mentions=(sender,),
                        contains_room_content=False,
                        txn_key=f"undecryptable-{rows[0].event_id}",
                    )
                )
            await self.units.run(_noticed, [row.event_id for row in rows])

    async def drain(self) -> None:
        """Lets retries started by a room key finish (at shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _give_up_and_due(session: Session, now: datetime) -> list[str]:
    """Forgets what is too old to wait for; the event ids due for another try."""
    for row in received_before(session, now - KEEP_FOR):
        log.info("Gave up on event %s in %s: its key never came", row.event_id, row.room_id)
        session.delete(row)
    return [row.event_id for row in due_for_retry(session, now)]


def _kept(session: Session, event_id: str) -> UndecryptableEvent | None:
    return session.get(UndecryptableEvent, event_id)


def _try_later(session: Session, event_id: str, now: datetime) -> None:
    row = session.get(UndecryptableEvent, event_id)
    if row is None:
        return
    row.attempts += 1
    row.next_try_at = now + min(timedelta(minutes=2**row.attempts), LONGEST_RETRY_WAIT)
    session.add(row)


def _noticed(session: Session, event_ids: list[str]) -> None:
    for event_id in event_ids:
        kept = session.get(UndecryptableEvent, event_id)
        if kept is not None:
            kept.noticed = True
            session.add(kept)
