"""The one way out: where every Reply becomes a Matrix event, and where confidentiality is checked.

Replies to messages, reactions' answers, reminders, broadcasts and warnings all come through
here, so no path can skip the guard: nothing from a confidential room goes to another room
unless its author agreed. Also: m.notice with HTML and a plain fallback, reply and thread
relations, explicit m.mentions, encrypted uploads, a transaction id derived from the reply so a
retry never posts twice, one lock per room so messages to a room keep their order, and direct
chats whose messages wait (in the database) until their member has joined.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from aiohttp import ClientError
from nio import ErrorResponse, RoomSendResponse, UploadResponse
from nio.exceptions import LocalProtocolError
from sqlmodel import Session

from bot.direct_chats import DirectChats
from bot.matrix_client import BotClient
from bot.polls import POLL_END, POLL_START, end_content, start_content
from bot.relations import relates_to, relations
from bot.rendering import Renderer
from bot.room_directory import RoomDirectory
from handlers.context import Message
from handlers.metrics import Metrics
from handlers.replies import Answer, Attachment, Post, Reply
from handlers.rooms import INTRODUCTION_TAG
from storage.direct_chats import PendingMessage, mark_noticed, pending_in, rooms_with_pending, unnoticed_before
from storage.messages import SentMessage
from storage.unit_of_work import UnitOfWork, UnitsOfWork

log = logging.getLogger(__name__)


ROOM_APPEAR_SECONDS = 10.0
# How long a flush waits for the device keys of a member who just joined a direct chat.
DEVICE_KEYS_SECONDS = 10.0
WAITING_TEMPLATE = "rooms/direct_chat_waiting.md.j2"
# Marks the bot's introduction in its content, so that a client (the terminal chat, the test
# person) can tell it from the rest; clients that do not know the key show the message as any.
INTRODUCTION_FIELD = "fr.manufacture.introduction"


def transaction_id(key: str) -> str:
    return "mb" + hashlib.sha256(key.encode()).hexdigest()[:30]


class HomeserverUnavailable(Exception):
    """The homeserver could not be reached (or failed) even after nio's own retries: the message may be
    sent again later with the same transaction id, which the homeserver will not post twice."""


# What the network or a struggling homeserver raises once nio has given up retrying.
UNREACHABLE = (ClientError, asyncio.TimeoutError, TimeoutError)


def temporary(answer: ErrorResponse) -> bool:
    """A refusal worth trying again later: the server failing (5xx) or still limiting our rate."""
    status = getattr(answer.transport_response, "status", None)
    return answer.status_code in ("M_LIMIT_EXCEEDED", 429) or (isinstance(status, int) and status >= 500)


class Sender:
    def __init__(
        self,
        client: BotClient,
        renderer: Renderer,
        units: UnitsOfWork,
        directory: RoomDirectory,
        direct_chats: DirectChats,
        metrics: Metrics | None = None,
    ) -> None:
        self.client, self.renderer, self.units = client, renderer, units
        self.directory, self.direct_chats = directory, direct_chats
        self.metrics = metrics or Metrics()
        self._room_locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._pending: set[asyncio.Task] = set()

    async def post(self, reply: Reply) -> str | None:
        """A message outside any conversation (reminders, broadcasts, notices, warnings): its event id,
        or None when it was not delivered (the reason is logged and counted)."""
        try:
            return await self.send(reply, None, reply.txn_key)
        except HomeserverUnavailable as error:
            log.warning("Message to %s not delivered: %s", reply.room_id, error)
            return None

    async def allowed(
        self, reply: Reply, room_id: str, trigger: Message | None, work: UnitOfWork | None = None
    ) -> bool:
        """The confidentiality guard: words from a confidential room stay there, unless their author
        agreed, or the reply carries nothing said there (a bare reference, a room's name)."""
        origin = reply.origin_room_id or (trigger.room_id if trigger else None)
        if origin is None or origin == room_id or reply.author_consented or not reply.contains_room_content:
            return True
        if trigger is not None and origin == trigger.room_id:
            return not trigger.room.confidential
        return not (await self.directory.info(origin, work)).confidential

    async def send_all(
        self, replies: list[Reply], trigger: Message | None, work: UnitOfWork | None = None
    ) -> list[str | None]:
        """Raises HomeserverUnavailable when one could not be sent for now: the caller sends them all
        again later (those already sent are not posted twice). `work`: the event's unit, which records
        what is sent."""
        results = []
        for index, reply in enumerate(replies):
            # The n-th reply to an event always gets the same transaction id: if the event is
            # handled again after a crash, the homeserver recognises the retry and posts nothing.
            key = reply.txn_key or (f"{trigger.event_id}:{index}" if trigger else None)
            results.append(await self.send(reply, trigger, key, work))
        return results

    async def send(
        self,
        reply: Reply,
        trigger: Message | None = None,
        txn_key: str | None = None,
        work: UnitOfWork | None = None,
    ) -> str | None:
        room_id = reply.room_id or (trigger.room_id if trigger else None)
        if room_id is None:
            raise ValueError("a reply without a trigger needs a room_id")
        if not await self.allowed(reply, room_id, trigger, work):
            log.warning(
                "Dropped a message from confidential room %s to %s (no consent)",
                reply.origin_room_id or (trigger.room_id if trigger else "?"),
                room_id,
            )
            return None
        task = asyncio.current_task()
        if task:
            self._pending.add(task)
        try:
            async with self._room_locks[room_id], self.units.joining(work) as work:
                return await self._send_locked(room_id, reply, trigger, txn_key or reply.txn_key, work)
        finally:
            if task:
                self._pending.discard(task)

    async def _send_locked(
        self, room_id: str, reply: Reply, trigger: Message | None, txn_key: str | None, work: UnitOfWork
    ) -> str | None:
        waiting = not self.direct_chats.member_joined(room_id)
        if room_id not in self.client.rooms and not waiting:
            # A room the bot has just joined is known to others before our own client has synced it.
            await self.client.room_appearing(room_id, ROOM_APPEAR_SECONDS)
        rendered = self.renderer.render(reply)
        if reply.ends_poll is not None:
            if waiting:
                return None  # polls are not queued (below): there is none to end
            tx_id = transaction_id(txn_key) if txn_key else uuid.uuid4().hex
            return await self._deliver(
                room_id, end_content(reply.ends_poll, rendered.plain), tx_id, reply.tag, work, POLL_END
            )
        content: dict = {
            "msgtype": "m.notice",
            "body": rendered.plain,
            "format": "org.matrix.custom.html",
            "formatted_body": rendered.html,
        }
        mentions = list(reply.mentions)
        if reply.attachment is not None:
            uploaded = await self._upload(room_id, reply.attachment, content, txn_key, trigger, work)
            if uploaded is None:
                return None
            content = uploaded
        relation = self._relation(reply, trigger)
        if relation:
            content["m.relates_to"] = relation
        if isinstance(reply.to, Answer) and trigger is not None and trigger.sender not in mentions:
            # Replying notifies the person replied to, and only them.
            mentions.append(trigger.sender)
        content["m.mentions"] = {"user_ids": mentions}
        if reply.tag == INTRODUCTION_TAG:
            content[INTRODUCTION_FIELD] = True
        tx_id = transaction_id(txn_key) if txn_key else uuid.uuid4().hex
        if waiting:
            # The poll is not queued: the text carries the numbered choices, and a queued event is a message.
            await self._queue(room_id, content, tx_id, reply.tag, trigger, work)
            return None
        sent = await self._deliver(room_id, content, tx_id, reply.tag, work)
        if sent is not None and reply.poll is not None:
            poll_tx = transaction_id(f"{txn_key}:poll") if txn_key else uuid.uuid4().hex
            # Kept with the poll's tag: a response finds its handler by it, as a reaction does.
            await self._deliver(room_id, start_content(reply.poll), poll_tx, reply.poll.tag, work, POLL_START)
        return sent

    async def _deliver(
        self,
        room_id: str,
        content: dict,
        tx_id: str,
        tag: str | None,
        work: UnitOfWork,
        event_type: str = "m.room.message",
    ) -> str | None:
        try:
            answer = await self.client.room_send(
                room_id, event_type, content, tx_id=tx_id, ignore_unverified_devices=True
            )
        except LocalProtocolError as exc:
            log.warning("Cannot send to %s: %s", room_id, exc)
            self.metrics.send_failed("local_error")
            return None
        except UNREACHABLE as exc:
            self.metrics.send_failed("unreachable")
            raise HomeserverUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(answer, RoomSendResponse):
            if isinstance(answer, ErrorResponse) and temporary(answer):
                self.metrics.send_failed("unreachable")
                raise HomeserverUnavailable(f"{answer.status_code} {answer.message}")
            log.warning("Sending to %s failed: %s", room_id, getattr(answer, "message", answer))
            self.metrics.send_failed("refused")
            return None
        self.metrics.sends.inc()
        thread_root = relations(content).thread_root
        # Every message is kept (tag or not): a reply to any of them, or an answer in its thread, is
        # addressed to the bot.
        await work(
            _keep_sent,
            SentMessage(event_id=answer.event_id, room_id=room_id, tag=tag or "", thread_root=thread_root),
        )
        return answer.event_id

    # --- direct chats whose member has not joined yet ----------------------------------------

    async def _queue(
        self, room_id: str, content: dict, tx_id: str, tag: str | None, trigger: Message | None, work: UnitOfWork
    ) -> None:
        user_id = self.direct_chats.member_of(room_id) or ""
        notice_room = trigger.room_id if trigger is not None and trigger.room_id != room_id else None
        await work(
            _keep_pending,
            PendingMessage(
                room_id=room_id, user_id=user_id, content=content, txn_id=tx_id, tag=tag, notice_room_id=notice_room
            ),
        )
        log.debug("Message for %s waits for its member to join", room_id)

    def flush_soon(self, room_id: str) -> None:
        """Sends what waits for a direct chat, off the sync callback (keys may take a moment)."""
        task = asyncio.create_task(self.flush_pending(room_id))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def flush_pending(self, room_id: str) -> int:
        """Sends, in order, what waits for this direct chat if its member has joined; returns how many."""
        async with self._room_locks[room_id]:
            if not self.direct_chats.member_joined(room_id):
                return 0
            rows = await self.units.run(pending_in, room_id)
            if not rows:
                return 0
            await self.know_devices(room_id, [rows[0].user_id])
            sent = 0
            async with self.units.open() as work:
                for row in rows:
                    try:
                        delivered = await self._deliver(room_id, row.content, row.txn_id, row.tag, work)
                    except HomeserverUnavailable as error:
                        log.warning("Waiting messages for %s not delivered yet: %s", room_id, error)
                        delivered = None
                    if delivered is None:
                        break  # kept for the next try, in order
                    await work(_forget_pending, row.id)
                    sent += 1
            log.info("Delivered %d waiting message(s) to direct chat %s", sent, room_id)
            return sent

    async def know_devices(self, room_id: str, user_ids: list[str] | None = None) -> None:
        """Before the first message to people who just joined (or a room just joined): their device
        keys, or they cannot read it. `None`: every member of the room but the bot."""
        room = self.client.rooms.get(room_id)
        if room is None or not room.encrypted or not self.client.olm:
            return
        if user_ids is None:
            user_ids = [user for user in room.users if user != self.client.user_id]
        deadline = time.monotonic() + DEVICE_KEYS_SECONDS

        def unknown() -> list[str]:
            return [user for user in user_ids if not list(self.client.device_store.active_user_devices(user))]

        while unknown() and time.monotonic() < deadline:
            self.client.olm.users_for_key_query.update(unknown())
            # LocalProtocolError: the sync loop's own query got there first. Unreachable: the send says so.
            with contextlib.suppress(LocalProtocolError, *UNREACHABLE):
                await self.client.keys_query()
            await asyncio.sleep(0.2)

    async def service_pending(self, wait: timedelta, now: datetime | None = None) -> None:
        """Periodically: deliver what a missed join left waiting, and tell members who have not joined."""
        now = now or datetime.now(UTC)
        rooms, overdue = await self.units.run(_pending_and_overdue, now - wait)
        for room_id in rooms:
            if self.direct_chats.member_joined(room_id):
                await self.flush_pending(room_id)
            elif room_id in overdue:
                await self.tell_member(room_id, declined=False)

    async def tell_member(self, room_id: str, *, declined: bool) -> None:
        """In the rooms where the member asked: their direct chat is not open, and nothing is lost."""
        rows = await self.units.run(mark_noticed, room_id)
        for notice_room in sorted({row.notice_room_id for row in rows if row.notice_room_id}):
            user_id = rows[0].user_id
            await self.post(
                Reply(
                    template=WAITING_TEMPLATE,
                    to=Post(notice_room),
                    mentions=(user_id,),
                    context={"declined": declined},
                    txn_key=f"direct-waiting:{room_id}:{rows[0].id}",
                )
            )

    async def member_declined(self, room_id: str) -> None:
        """The member refused the invitation (or left): tell them where they asked, open anew next time."""
        await self.direct_chats.close(room_id)
        await self.tell_member(room_id, declined=True)

    @staticmethod
    def _relation(reply: Reply, trigger: Message | None) -> dict[str, object] | None:
        to = reply.to
        if isinstance(to, Post):
            return relates_to(thread_root=to.thread_root, reply_to=to.reply_to)
        assert trigger is not None, "send() refuses an Answer or a Beside without a trigger"
        # An Answer replies to its trigger; a Beside only follows it, in its thread if it has one.
        return relates_to(
            thread_root=trigger.thread_root, reply_to=trigger.event_id if isinstance(to, Answer) else None
        )

    async def _upload(
        self,
        room_id: str,
        attachment: Attachment,
        caption: dict,
        txn_key: str | None,
        trigger: Message | None,
        work: UnitOfWork,
    ) -> dict | None:
        room = self.client.rooms.get(room_id)
        encrypt = bool(room and room.encrypted)
        try:
            answer, keys = await self.client.upload(
                lambda *_: io.BytesIO(attachment.content),
                content_type=attachment.mimetype,
                filename=attachment.filename,
                encrypt=encrypt,
                filesize=len(attachment.content),
            )
        except UNREACHABLE as exc:
            self.metrics.send_failed("unreachable")
            raise HomeserverUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(answer, UploadResponse):
            log.warning("Upload to %s failed: %s", room_id, getattr(answer, "message", answer))
            self.metrics.send_failed("upload")
            return None
        content = {
            "msgtype": "m.file",
            "body": attachment.filename,
            "filename": attachment.filename,
            "info": {"mimetype": attachment.mimetype, "size": len(attachment.content)},
        }
        if encrypt:
            content["file"] = {"url": answer.content_uri, **keys}
        else:
            content["url"] = answer.content_uri
        # The caption goes in a separate notice just before, so every client shows it.
        caption = {**caption, "m.mentions": {}}
        caption_tx = transaction_id(f"{txn_key}:caption") if txn_key else uuid.uuid4().hex
        if self.direct_chats.member_joined(room_id):
            await self._deliver(room_id, caption, caption_tx, None, work)
        else:
            await self._queue(room_id, caption, caption_tx, None, trigger, work)
        return content

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for sends in flight (used at shutdown so nothing half-sent is lost)."""
        pending = [t for t in self._pending if t is not asyncio.current_task()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)


def _keep_sent(session: Session, sent: SentMessage) -> None:
    session.merge(sent)


def _keep_pending(session: Session, pending: PendingMessage) -> None:
    session.add(pending)


def _forget_pending(session: Session, pending_id: int | None) -> None:
    session.delete(session.get(PendingMessage, pending_id))


def _pending_and_overdue(session: Session, noticed_before: datetime) -> tuple[list[str], set[str]]:
    return rooms_with_pending(session), {row.room_id for row in unnoticed_before(session, noticed_before)}
