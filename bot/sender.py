"""The one place where a Reply becomes a Matrix event.

m.notice with HTML and a plain fallback, reply and thread relations, explicit m.mentions,
encrypted uploads, a transaction id derived from the reply so a retry never posts twice,
and one lock per room so messages to a room keep their order.
"""
from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import uuid
from collections import defaultdict

from nio import AsyncClient, RoomSendResponse, UploadResponse
from nio.exceptions import LocalProtocolError

from bot.rendering import Renderer
from handlers.context import Message
from handlers.replies import Reply
from storage.database import Database
from storage.messages import SentMessage

log = logging.getLogger(__name__)


ROOM_APPEAR_SECONDS = 10.0


def transaction_id(key: str) -> str:
    return "mb" + hashlib.sha256(key.encode()).hexdigest()[:30]


class Sender:
    def __init__(self, client: AsyncClient, renderer: Renderer, db: Database) -> None:
        self.client, self.renderer, self.db = client, renderer, db
        self._room_locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._pending: set[asyncio.Task] = set()

    async def send_all(self, replies: list[Reply], trigger: Message | None) -> list[str | None]:
        results = []
        for index, reply in enumerate(replies):
            # The n-th reply to an event always gets the same transaction id: if the event is
            # handled again after a crash, the homeserver recognises the retry and posts nothing.
            key = reply.txn_key or (f"{trigger.event_id}:{index}" if trigger else None)
            results.append(await self.send(reply, trigger, key))
        return results

    async def send(self, reply: Reply, trigger: Message | None = None, txn_key: str | None = None) -> str | None:
        room_id = reply.room_id or (trigger.room_id if trigger else None)
        if room_id is None:
            raise ValueError("a reply without a trigger needs a room_id")
        task = asyncio.current_task()
        if task:
            self._pending.add(task)
        try:
            async with self._room_locks[room_id]:
                return await self._send_locked(room_id, reply, trigger, txn_key or reply.txn_key)
        finally:
            if task:
                self._pending.discard(task)

    async def _wait_for_room(self, room_id: str) -> None:
        """A room the bot has just joined is known to others before our own client has synced it."""
        deadline = asyncio.get_running_loop().time() + ROOM_APPEAR_SECONDS
        while room_id not in self.client.rooms and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.2)

    async def _send_locked(self, room_id: str, reply: Reply, trigger: Message | None, txn_key: str | None) -> str | None:
        if room_id not in self.client.rooms:
            await self._wait_for_room(room_id)
        rendered = self.renderer.render(reply)
        # A reply aimed at a room by id and not answering the trigger is a post to that room (an
        # announcement, a notice): even in the trigger's own room it must not slip into its thread.
        same_room = trigger is not None and trigger.room_id == room_id \
            and not (reply.room_id is not None and not reply.in_reply)
        content: dict = {"msgtype": "m.notice", "body": rendered.plain,
                         "format": "org.matrix.custom.html", "formatted_body": rendered.html}
        mentions = list(reply.mentions)
        if reply.attachment is not None:
            content = await self._upload(room_id, reply, content, txn_key)
            if content is None:
                return None
        relation = self._relation(reply, trigger if same_room else None)
        if relation:
            content["m.relates_to"] = relation
            if same_room and reply.in_reply and trigger.sender not in mentions:
                # Replying notifies the person replied to, and only them.
                mentions.append(trigger.sender)
        content["m.mentions"] = {"user_ids": mentions}
        tx_id = transaction_id(txn_key) if txn_key else uuid.uuid4().hex
        try:
            answer = await self.client.room_send(room_id, "m.room.message", content, tx_id=tx_id,
                                                 ignore_unverified_devices=True)
        except LocalProtocolError as exc:
            log.warning("Cannot send to %s: %s", room_id, exc)
            return None
        if not isinstance(answer, RoomSendResponse):
            log.warning("Sending to %s failed: %s", room_id, getattr(answer, "message", answer))
            return None
        if reply.tag:
            thread_root = relation.get("event_id") if relation and relation.get("rel_type") == "m.thread" else None
            with self.db.session() as session:
                session.merge(SentMessage(event_id=answer.event_id, room_id=room_id, tag=reply.tag,
                                          thread_root=thread_root,
                                          addressee=trigger.sender if trigger else None))
        return answer.event_id

    @staticmethod
    def _relation(reply: Reply, trigger: Message | None) -> dict | None:
        if trigger is None:
            if reply.thread_root:
                return {"rel_type": "m.thread", "event_id": reply.thread_root, "is_falling_back": not reply.reply_to,
                        "m.in_reply_to": {"event_id": reply.reply_to or reply.thread_root}}
            if reply.reply_to:
                return {"m.in_reply_to": {"event_id": reply.reply_to}}
            return None
        if reply.start_thread:
            root = trigger.thread_root or trigger.event_id
        else:
            root = reply.thread_root or trigger.thread_root
        if root:
            in_reply_to = trigger.event_id if reply.in_reply else root
            return {"rel_type": "m.thread", "event_id": root, "is_falling_back": not reply.in_reply,
                    "m.in_reply_to": {"event_id": in_reply_to}}
        if reply.in_reply:
            return {"m.in_reply_to": {"event_id": trigger.event_id}}
        return None

    async def _upload(self, room_id: str, reply: Reply, caption: dict, txn_key: str | None) -> dict | None:
        attachment = reply.attachment
        room = self.client.rooms.get(room_id)
        encrypt = bool(room and room.encrypted)
        answer, keys = await self.client.upload(lambda *_: io.BytesIO(attachment.content),
                                                content_type=attachment.mimetype, filename=attachment.filename,
                                                encrypt=encrypt, filesize=len(attachment.content))
        if not isinstance(answer, UploadResponse):
            log.warning("Upload to %s failed: %s", room_id, getattr(answer, "message", answer))
            return None
        content = {"msgtype": "m.file", "body": attachment.filename, "filename": attachment.filename,
                   "info": {"mimetype": attachment.mimetype, "size": len(attachment.content)}}
        if encrypt:
            content["file"] = {"url": answer.content_uri, **keys}
        else:
            content["url"] = answer.content_uri
        # The caption goes in a separate notice just before, so every client shows it.
        await self.client.room_send(room_id, "m.room.message", {**caption, "m.mentions": {}},
                                    tx_id=transaction_id(f"{txn_key}:caption") if txn_key else None,
                                    ignore_unverified_devices=True)
        return content

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for sends in flight (used at shutdown so nothing half-sent is lost)."""
        pending = [t for t in self._pending if t is not asyncio.current_task()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)
