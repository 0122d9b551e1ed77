"""Offers to forward an unanswered question, and the asker's answer to one.

Only the asker's unambiguous yes to this very offer forwards it: « oui » in reply to the offer
message (or in its thread), or a ✅ on it, within OFFER_LIFETIME. Any other « oui » is conversation.
Never from a peer-group room: its questions stay there.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from handlers.context import CommandContext, Reaction, RoomInfo, Services
from handlers.replies import Post, Reply
from handlers.text import parse_yes_no
from storage.messages import sent_with_tag
from storage.questions import ForwardedQuestion, ForwardOffer, open_offer
from storage.rooms import facilitators_room_id, room_privacy

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


def may_forward_from(services: Services, room: RoomInfo) -> bool:
    """Whether an unanswered question of this room may be offered to the facilitators."""
    return room.kind != "peer_group" and _facilitators_room(services) is not None


def _facilitators_room(services: Services) -> str | None:
    with services.db.session() as session:
        return facilitators_room_id(session)


def _offer_answered(services: Services, event_id: str | None) -> int | None:
    """The offer whose message this event id is (the message replied to, or a thread's root)."""
    if not event_id:
        return None
    with services.db.session() as session:
        sent = sent_with_tag(session, event_id)
    if sent is None or not sent.tag.startswith(OFFER_TAG + ":"):
        return None
    return int(sent.tag.split(":", 1)[1])


async def offer_listener(ctx: CommandContext) -> list[Reply] | None:
    """« oui » / « non » in reply to an offer (or in its thread) answers that offer, and only it."""
    message, services = ctx.message, ctx.services
    answer = parse_yes_no(message.body)
    if answer is None or message.body.startswith(services.config.bot.command_prefix):
        return None
    offer_id = _offer_answered(services, message.in_reply_to) or _offer_answered(services, message.thread_root)
    if offer_id is None:
        if message.room.is_direct and answer and _open_offer_of(services, message.room_id, message.sender):
            # A bare « oui » may be meant for the offer, or not: say how to answer it, forward nothing.
            return [Reply(text=OFFER_HOW)]
        # A bare yes or no said to the bot is no question to search the référentiel for.
        return [] if message.addressed else None
    # A yes or no to an offer is never a question, even from someone else or once the offer is closed.
    return _decide(services, offer_id, message.sender, message.room.name, accept=answer) or []


async def on_offer_reaction(reaction: Reaction, services: Services) -> list[Reply] | None:
    """A ✅ from the asker on the offer message forwards the question."""
    if reaction.key not in ACCEPT_REACTIONS:
        return None
    offer_id = int(reaction.target_tag.split(":", 1)[1])
    replies = _decide(services, offer_id, reaction.sender, reaction.room.name, accept=True)
    # The acknowledgement answers the offer message itself.
    return [
        r if isinstance(r.to, Post) else replace(r, to=Post(reaction.room.room_id, reply_to=reaction.target_event_id))
        for r in replies or []
    ]


def _open_offer_of(services: Services, room_id: str, asker: str) -> bool:
    with services.db.session() as session:
        return open_offer(session, room_id, asker, services.clock() - OFFER_LIFETIME) is not None


def _decide(services: Services, offer_id: int, sender: str, room_name: str, *, accept: bool) -> list[Reply] | None:
    """The asker's answer to their offer; anyone else's, a closed or an expired offer: nothing happens."""
    now = services.clock()
    with services.db.session() as session:
        offer = session.get(ForwardOffer, offer_id)
        if offer is None or offer.asker != sender or offer.state != "open":
            return None
        if now - offer.created_at > OFFER_LIFETIME:
            offer.state = "expired"
            session.add(offer)
            return [
                Reply(text="Cette proposition a expiré : reposez votre question si vous voulez que je la transmette.")
            ]
        if not accept:
            offer.state = "declined"
            session.add(offer)
            return [Reply(text="D'accord, je ne la transmets pas.")]
        offer.state = "accepted"
        session.add(offer)
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
        number = forwarded.id
        # As handlers/questions/queue.py answers it: privately when asked privately, else in the room.
        private = room_privacy(session, offer.room_id) != "shared"
    services.metrics.answer("forwarded")
    facilitators = _facilitators_room(services)
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
