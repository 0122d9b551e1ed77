"""Offers to forward an unanswered question, and the asker's answer to one.

Only the asker's unambiguous yes to this very offer forwards it: « oui » in reply to the offer
message (or in its thread), or a ✅ on it, within OFFER_LIFETIME; in a direct chat, where only the
two of them talk, also a plain « oui » as the next message after the offer. Any other « oui » is
conversation.
Never from a peer-group room: its questions stay there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlmodel import Session

from handlers.context import CommandContext, Reaction, RoomInfo, Services
from handlers.replies import Post, Reply
from handlers.text import parse_yes_no
from storage.messages import last_sent_in_room, sent_with_tag
from storage.questions import ForwardedQuestion, ForwardOffer, open_offer
from storage.rooms import facilitators_room_id, room_privacy
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

OFFER_LIFETIME = timedelta(minutes=30)
OFFER_TAG = "forward-offer"
ACCEPT_REACTIONS = ("✅", "✔️", "✔", "☑️")
OFFER_HOW = (
    "Pour que je transmette votre question, répondez « oui » à mon message qui le propose (« Répondre »), "
    "ou réagissez-y avec ✅."
)


def offer_tag(offer_id: int) -> str:
    return f"{OFFER_TAG}:{offer_id}"


async def may_forward_from(work: UnitOfWork, room: RoomInfo) -> bool:
    """Whether an unanswered question of this room may be offered to the facilitators."""
    return room.kind != "peer_group" and await work(facilitators_room_id) is not None


async def _offer_answered(work: UnitOfWork, event_id: str | None) -> int | None:
    """The offer whose message this event id is (the message replied to, or a thread's root)."""
    if not event_id:
        return None
    sent = await work(sent_with_tag, event_id)
    if sent is None or not sent.tag.startswith(OFFER_TAG + ":"):
        return None
    return int(sent.tag.split(":", 1)[1])


async def offer_listener(ctx: CommandContext) -> list[Reply] | None:
    """« oui » / « non » in reply to an offer (or in its thread) answers that offer, and only it."""
    message, services = ctx.message, ctx.services
    answer = parse_yes_no(message.body)
    if answer is None or message.body.startswith(services.config.bot.command_prefix):
        return None
    offer_id = await _offer_answered(ctx.work, message.in_reply_to) or await _offer_answered(
        ctx.work, message.thread_root
    )
    if offer_id is None and message.room.is_direct:
        offer_id = await _offer_just_made(ctx.work, message.room_id)
    if offer_id is None:
        if message.room.is_direct and answer and await _open_offer_of(ctx, message.room_id, message.sender):
            # A bare « oui » may be meant for the offer, or not: say how to answer it, forward nothing.
            return [Reply(text=OFFER_HOW)]
        # A bare yes or no said to the bot is no question to search the référentiel for.
        return [] if message.addressed else None
    # A yes or no to an offer is never a question, even from someone else or once the offer is closed.
    return await _decide(services, ctx.work, offer_id, message.sender, message.room.name, accept=answer) or []


async def _offer_just_made(work: UnitOfWork, room_id: str) -> int | None:
    """The offer the bot's latest message in this direct chat is: nothing was said since but this answer."""
    last = await work(last_sent_in_room, room_id)
    return await _offer_answered(work, last.event_id) if last is not None else None


async def on_offer_reaction(reaction: Reaction, services: Services) -> list[Reply] | None:
    """A ✅ from the asker on the offer message forwards the question."""
    if reaction.key not in ACCEPT_REACTIONS:
        return None
    offer_id = int(reaction.target_tag.split(":", 1)[1])
    replies = await _decide(services, reaction.work, offer_id, reaction.sender, reaction.room.name, accept=True)
    # The acknowledgement answers the offer message itself.
    return [
        r if isinstance(r.to, Post) else replace(r, to=Post(reaction.room.room_id, reply_to=reaction.target_event_id))
        for r in replies or []
    ]


async def _open_offer_of(ctx: CommandContext, room_id: str, asker: str) -> bool:
    since = ctx.services.clock() - OFFER_LIFETIME
    return await ctx.work(open_offer, room_id, asker, since) is not None


@dataclass(frozen=True)
class _Forwarded:
    number: int | None
    # As handlers/questions/queue.py answers it: privately when asked privately, else in the room.
    private: bool


def _close_offer(
    session: Session, offer_id: int, sender: str, room_name: str, now: datetime, *, accept: bool
) -> tuple[ForwardOffer, _Forwarded | None] | None:
    """The offer answered in one transaction: its new state, and the question forwarded if accepted."""
    offer = session.get(ForwardOffer, offer_id)
    if offer is None or offer.asker != sender or offer.state != "open":
        return None
    if now - offer.created_at > OFFER_LIFETIME:
        offer.state = "expired"
    elif not accept:
        offer.state = "declined"
    else:
        offer.state = "accepted"
    session.add(offer)
    if offer.state != "accepted":
        return offer, None
    forwarded = ForwardedQuestion(
        room_id=offer.room_id,
        room_name=room_name,
        asker=offer.asker,
        question=offer.question,
        event_id=offer.event_id,
        thread_root=offer.thread_root,
    )
    session.add(forwarded)
    session.flush()
    return offer, _Forwarded(forwarded.id, private=room_privacy(session, offer.room_id) != "shared")


async def _decide(
    services: Services, work: UnitOfWork, offer_id: int, sender: str, room_name: str, *, accept: bool
) -> list[Reply] | None:
    """The asker's answer to their offer; anyone else's, a closed or an expired offer: nothing happens."""
    closed = await work(_close_offer, offer_id, sender, room_name, services.clock(), accept=accept)
    if closed is None:
        return None
    offer, forwarded = closed
    if offer.state == "expired":
        return [Reply(text="Cette proposition a expiré : reposez votre question si vous voulez que je la transmette.")]
    if forwarded is None:
        return [Reply(text="D'accord, je ne la transmets pas.")]
    number, private = forwarded.number, forwarded.private
    services.metrics.answer("forwarded")
    facilitators = await work(facilitators_room_id)
    prefix = services.config.bot.command_prefix
    told = (
        "C'est transmis à l'équipe d'animation : sa réponse arrivera ici, dans notre conversation privée."
        if private
        else "C'est transmis à l'équipe d'animation : sa réponse arrivera ici, en réponse à votre question, et les "
        "membres du salon la liront aussi ; à moins qu'elle ne choisisse de vous répondre en privé, dans votre "
        "conversation avec moi."
    )
    if facilitators is None:
        # Offers are made only while the room is known (may_forward_from); `!questions` still lists this one.
        log.warning("question %s forwarded while no facilitators' room is known", number)
        return [Reply(text=told)]
    return [
        Reply(text=told),
        # The asker's explicit yes to this very offer is the consent needed to carry it out of the room.
        Reply(
            template="questions/forwarded.md.j2",
            to=Post(facilitators),
            author_consented=True,
            origin_room_id=offer.room_id,
            context={
                "number": number,
                "asker": offer.asker,
                "room_name": room_name,
                "question": offer.question,
                "prefix": prefix,
                "private": private,
            },
        ),
    ]
