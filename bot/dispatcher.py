"""From an incoming Matrix event to the replies the handlers decide on.

Order of precedence: a conversation in progress (listeners) owns its messages, then commands,
then the fallback for messages addressed to the bot (mention, direct chat). Anything a handler
raises is caught here: the user gets French, the log gets the traceback, the bot keeps serving —
except a database that does not answer, which is no one's mistake: the event waits (bot/inbox.py).

Each event is one unit of database work (storage/unit_of_work.py): the inbox opens it and hands it in,
and handlers find it in their context; every step runs off the event loop.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from functools import partial

from sqlmodel import Session, select

from bot.sender import HomeserverUnavailable
from handlers.context import CommandContext, Message, PollVote, Reaction, RoomInfo, Services
from handlers.registry import CommandRegistry, HandlerResult, Redaction
from handlers.replies import Post, Reply, UserError
from handlers.text import quote
from storage.database import STORAGE_UNAVAILABLE
from storage.messages import SentMessage
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

APOLOGY = (
    "Désolé, quelque chose s'est mal passé de mon côté et je n'ai pas pu traiter votre message. "
    "L'équipe d'animation peut consulter le journal du bot ; réessayez dans un instant."
)

# Outages: what was decided for an event is kept, and sent when the event is handled again.
OUTAGES: tuple[type[Exception], ...] = (HomeserverUnavailable, *STORAGE_UNAVAILABLE)


def as_list(result: HandlerResult) -> list[Reply]:
    if result is None:
        return []
    return [result] if isinstance(result, Reply) else list(result)


class Dispatcher:
    def __init__(
        self,
        services: Services,
        registry: CommandRegistry,
        # Sends replies (to the message they answer, if any) in the event's unit: Sender.send_all.
        send: Callable[[list[Reply], Message | None, UnitOfWork], Awaitable[list[str | None]]],
        is_facilitator: Callable[[str], bool],
    ) -> None:
        self.services, self.registry, self.send, self.is_facilitator = services, registry, send, is_facilitator
        # Replies decided for an event whose sending has not finished (see on_message).
        self._decided: dict[str, list[Reply]] = {}

    @property
    def prefix(self) -> str:
        return self.services.config.bot.command_prefix

    async def on_message(self, message: Message, work: UnitOfWork | None = None) -> None:
        """Handles a message and sends the replies. A database or homeserver that does not answer raises
        (the inbox tries again later): the replies already decided are then sent again as they were,
        with the same transaction ids, rather than the message being handled a second time.
        `work`: the event's unit (the inbox's); without one, the message gets its own."""
        if message.sender == self.services.bot_user_id:
            return
        async with self.services.units.joining(work) as work:
            replies = self._decided.get(message.event_id)
            if replies is None:
                replies = self._decided[message.event_id] = await self._handle_message(message, work)
            await self._send_decided(message.event_id, replies, message, work)

    async def _handle_message(self, message: Message, work: UnitOfWork) -> list[Reply]:
        try:
            ctx = CommandContext(
                message=message,
                services=self.services,
                is_facilitator=self.is_facilitator(message.sender),
                work=work,
            )
            return await self._route(ctx)
        except UserError as error:
            return [Reply(text=error.message)]
        except STORAGE_UNAVAILABLE:
            raise  # not the member's problem, nor a bug: the message waits for the database
        except Exception:
            # The body stays out of the log: it may come from a confidential room.
            log.exception("Handler failed on event %s in %s", message.event_id, message.room_id)
            self.services.metrics.handler_failures.inc()
            return [Reply(text=APOLOGY)]

    async def _route(self, ctx: CommandContext) -> list[Reply]:
        message, count = ctx.message, self.services.metrics.message_handled
        limit = self.services.config.bot.max_message_length
        if len(message.body) > limit:
            count("too_long")
            if message.addressed or message.thread_root or message.room.is_direct:
                return [
                    Reply(
                        text=f"Votre message est trop long ({len(message.body)} caractères, "
                        f"au plus {limit}). Je ne l'ai pas pris en compte : "
                        "pouvez-vous le raccourcir ou l'envoyer en plusieurs fois ?"
                    )
                ]
            return []
        for name, listener in self.registry.listeners:
            result = await listener(ctx)
            if result is not None:
                log.debug("Message %s taken by listener %s", message.event_id, name)
                count("listener")
                return as_list(result)
        if message.body.startswith(self.prefix):
            return await self._command(ctx)
        if message.addressed and self.registry.fallback:
            count("question")
            return as_list(await self.registry.fallback(ctx))
        count("ignored")
        return []

    async def _command(self, ctx: CommandContext) -> list[Reply]:
        text = ctx.message.body[len(self.prefix) :].strip()
        word, _, args = text.partition(" ")
        word = word.strip()
        room = ctx.message.room
        if not word:
            self.services.metrics.message_handled("unknown_command")
            return [
                Reply(
                    text=f"Il manque le nom de la commande après « {self.prefix} ». "
                    f"Tapez `{self.prefix}aide` pour la liste."
                )
            ]
        command = self.registry.find(word)
        self.services.metrics.message_handled("unknown_command" if command is None else "command")
        if command is None:
            visible = self.registry.visible(
                is_facilitator=ctx.is_facilitator, room_kind=room.kind, is_direct=room.is_direct
            )
            guess = self.registry.suggest(word, visible) or self.registry.suggest(word)
            hint = f" Vouliez-vous dire `{self.prefix}{guess}` ?" if guess else ""
            return [
                Reply(
                    text=f"Je ne connais pas la commande « {quote(self.prefix + word)} ».{hint} "
                    f"Tapez `{self.prefix}aide` pour voir ce que je sais faire."
                )
            ]
        if command.facilitators_only and not ctx.is_facilitator:
            return [Reply(text=f"La commande `{self.prefix}{command.name}` est réservée à l'équipe d'animation.")]
        if not command.allowed_in(room.kind, room.is_direct):
            return [Reply(text=f"La commande `{self.prefix}{command.name}` n'est pas disponible dans ce salon.")]
        scoped = CommandContext(
            message=ctx.message,
            services=ctx.services,
            is_facilitator=ctx.is_facilitator,
            command=word,
            args=args.strip(),
            work=ctx.work,
        )
        return as_list(await command.handler(scoped))

    async def on_reaction(
        self,
        room: RoomInfo,
        event_id: str,
        sender: str,
        key: str,
        target_event_id: str,
        work: UnitOfWork | None = None,
    ) -> None:
        if sender == self.services.bot_user_id:
            return
        async with self.services.units.joining(work) as work:
            replies = self._decided.get(event_id)
            if replies is None:
                replies = self._decided[event_id] = await self._handle_reaction(
                    room, event_id, sender, key, target_event_id, work
                )
            await self._send_decided(event_id, replies, None, work)

    async def _send_decided(
        self, event_id: str, replies: list[Reply], trigger: Message | None, work: UnitOfWork
    ) -> None:
        """Sends what was decided for an event; kept only while an outage means it will be sent again."""
        try:
            await self.send(replies, trigger, work)
        except OUTAGES:
            raise
        except BaseException:
            del self._decided[event_id]
            raise
        del self._decided[event_id]

    async def _handle_reaction(
        self, room: RoomInfo, event_id: str, sender: str, key: str, target_event_id: str, work: UnitOfWork
    ) -> list[Reply]:
        sent = await work(_sent_message, target_event_id)
        if sent is None:
            return []
        reaction = Reaction(
            room=room,
            event_id=event_id,
            sender=sender,
            key=key,
            target_event_id=target_event_id,
            target_tag=sent.tag,
            work=work,
        )
        self.services.metrics.message_handled("reaction")
        handlers = self.registry.reaction_handlers(sent.tag)
        return await self._run_tagged([partial(h, reaction, self.services) for h in handlers], room, event_id)

    async def on_poll_vote(
        self,
        room: RoomInfo,
        event_id: str,
        sender: str,
        choices: tuple[str, ...],
        poll_event_id: str,
        work: UnitOfWork | None = None,
    ) -> None:
        """A response to one of the bot's polls, routed by the poll's tag as a reaction is by its target's."""
        if sender == self.services.bot_user_id:
            return
        async with self.services.units.joining(work) as work:
            replies = self._decided.get(event_id)
            if replies is None:
                sent = await work(_sent_message, poll_event_id)
                vote = PollVote(
                    room=room,
                    event_id=event_id,
                    sender=sender,
                    choices=choices,
                    poll_event_id=poll_event_id,
                    poll_tag=sent.tag if sent is not None else "",
                    work=work,
                )
                handlers = self.registry.poll_handlers(vote.poll_tag) if vote.poll_tag else []
                if handlers:
                    self.services.metrics.message_handled("poll")
                replies = self._decided[event_id] = await self._run_tagged(
                    [partial(h, vote, self.services) for h in handlers], room, event_id
                )
            await self._send_decided(event_id, replies, None, work)

    async def _run_tagged(
        self, calls: list[Callable[[], Awaitable[HandlerResult]]], room: RoomInfo, event_id: str
    ) -> list[Reply]:
        """The replies of the handlers an event on one of the bot's tagged messages (a reaction, a poll
        response) reaches."""
        decided: list[Reply] = []
        for call in calls:
            try:
                replies = as_list(await call())
            except UserError as error:
                replies = [Reply(text=error.message, to=Post(room.room_id))]
            except STORAGE_UNAVAILABLE:
                raise
            except Exception:
                log.exception("Handler failed on %s", event_id)
                self.services.metrics.handler_failures.inc()
                replies = [Reply(text=APOLOGY, to=Post(room.room_id))]
            decided.extend(replies)
        # A reaction (a poll response) is no message to reply to: replies go to the room (or the thread they name), and
        # they carry that room's words as far as the sender's guard is concerned. Their transaction ids
        # come from the reaction, so that sending them again after a failure posts nothing twice.
        return [
            dataclasses.replace(
                r,
                to=r.to if isinstance(r.to, Post) else Post(room.room_id),
                origin_room_id=r.origin_room_id or room.room_id,
                txn_key=r.txn_key or f"{event_id}:{index}",
            )
            for index, r in enumerate(decided)
        ]

    async def on_redaction(
        self, room: RoomInfo, event_id: str, sender: str, redacted_event_id: str, work: UnitOfWork | None = None
    ) -> None:
        """A redacted event's effect is undone (a vote withdrawn); nobody asked anything, so nothing is said."""
        self.services.metrics.message_handled("redaction")
        async with self.services.units.joining(work) as work:
            redaction = Redaction(room=room, sender=sender, redacted_event_id=redacted_event_id, work=work)
            for handler in self.registry.redaction_handlers:
                try:
                    await handler(redaction, self.services)
                except STORAGE_UNAVAILABLE:
                    raise
                except Exception:
                    log.exception("Redaction handler failed on %s", event_id)


def _sent_message(session: Session, event_id: str) -> SentMessage | None:
    return session.exec(select(SentMessage).where(SentMessage.event_id == event_id)).first()
