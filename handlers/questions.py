"""Questions to the référentiel: answers with a citation, honest abstention, and the loop that learns.

An unanswered question may be forwarded to the facilitators, never from a peer-group room, and
only on the asker's unambiguous yes to the offer: « oui » in reply to the offer message (or in its
thread), or a ✅ on it, within the offer's lifetime. Any other « oui » is ordinary conversation.
A facilitator's answer goes back to the asker and into the FAQ.
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from sqlmodel import select

from handlers.agenda import ReminderService
from handlers.agenda.commands import next_permanence
from handlers.context import CommandContext, Reaction, RoomInfo, Services
from handlers.french import format_datetime_fr
from handlers.registry import CommandRegistry, Redaction
from handlers.replies import Reply, UserError
from handlers.text import fold, parse_yes_no
from handlers.text import escape_markdown
from knowledge.search import PUBLIC_COLLECTIONS
from storage.knowledge import tribe_collection
from storage.deposits import as_utc
from storage.messages import SentMessage, sent_with_tag
from storage.questions import (AnswerFeedback, AnswerRecord, ForwardedQuestion, ForwardOffer, open_offer,
                               withdraw_vote)
from storage.rooms import facilitators_room_id

OFFER_LIFETIME = timedelta(minutes=30)
PASSAGE_CHARS = 700
# How far (in cosine) below the answer a passage may score and still be offered as « voir aussi ».
# The default model's scores are compressed (about 0.75 to 0.92): 0.03 keeps the permanence's two
# sections together and drops the référentiel sections that trail a FAQ answer by 0.1.
SEE_ALSO_MARGIN = 0.03
OFFER_TAG = "forward-offer"
ACCEPT_REACTIONS = ("✅", "✔️", "✔", "☑️")
OFFER_HOW = ("Pour que je transmette votre question, répondez « oui » à mon message qui le propose (« Répondre »), "
             "ou réagissez-y avec ✅.")
UP, DOWN = "👍", "👎"
# Variation selectors (👍️ is 👍 + U+FE0F) and skin tones (👍🏽) make other keys for the same vote.
_PRESENTATION = dict.fromkeys([0xFE0E, 0xFE0F, *range(0x1F3FB, 0x1F400)])
# « c'est quand la perm ? »: the référentiel says how the permanence works, the agenda says when.
PERMANENCE_WORDS = {"permanence", "permanences", "perm", "perma"}


def trim(text: str, limit: int = PASSAGE_CHARS) -> str:
    """Cut at a sentence (or word) boundary, never mid-word."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    sentence_end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
    cut = cut[:sentence_end + 1] if sentence_end > limit // 2 else cut[:cut.rfind(" ")] + " …"
    return cut


def mentions_permanence(question: str) -> bool:
    return bool(PERMANENCE_WORDS & set(re.findall(r"\w+", fold(question))))


def citation(result) -> str:
    """« Document › Section » — the document title is the first element of the heading path."""
    path = list(result.heading_path) or [result.heading]
    return " › ".join(path) if len(path) > 1 else f"{result.source} › {path[0]}"


def collections_for(room: RoomInfo) -> list[str]:
    """The référentiel and the FAQ everywhere; a tribe's own documents only in its room."""
    allowed = list(PUBLIC_COLLECTIONS)
    if room.kind == "tribe" and room.name:
        allowed.append(tribe_collection(room.name))
    return allowed


def vote_of(key: str) -> str | None:
    base = key.translate(_PRESENTATION)
    return "up" if base == UP else "down" if base == DOWN else None


async def answer_question(ctx: CommandContext, question: str, agenda: ReminderService | None) -> list[Reply]:
    """The référentiel's answer, with the permanence's date from `agenda` (None: no agenda)."""
    services, message = ctx.services, ctx.message
    prefix = services.config.bot.command_prefix
    question = question.strip()
    if not question:
        raise UserError(f"Posez votre question après la commande, par exemple : `{prefix}question comment "
                        "fonctionne la permanence ?`")
    if services.search is None:
        raise UserError("La recherche dans le référentiel n'est pas disponible pour le moment.")
    response = await services.search.search(question, collections_for(message.room))
    room = message.room
    # A peer group's unanswered question never leaves the room: the permanence is where to ask it.
    sent_to_permanence = not response.answered and room.kind == "peer_group"
    # The permanence's date and link, from the agenda, when the question is about it or is sent there.
    wants_permanence = mentions_permanence(question) or sent_to_permanence
    upcoming = await next_permanence(agenda, services.clock()) if wants_permanence and agenda else None
    record = AnswerRecord(room_id=room.room_id, asker=message.sender, answered=response.answered,
                          question=None if room.confidential else question, confidential=room.confidential)
    if response.answered and response.results:
        best = response.results[0]
        record.heading, record.source = best.heading, best.source
        see_also = []
        for other in response.results[1:]:
            label = citation(other)
            # Far below the answer, a « voir aussi » is noise: under a FAQ answer, unrelated sections came up.
            close_enough = other.score >= best.score - SEE_ALSO_MARGIN
            if other.heading != best.heading and label not in see_also and close_enough:
                see_also.append(label)
        with services.db.session() as session:
            session.add(record)
            session.flush()
            answer_id = record.id
        return [Reply(template="questions/answer.md.j2",
                      context={"passage": trim(best.text), "citation": citation(best), "see_also": see_also[:2],
                               "follow_up": True, "permanence": upcoming},
                      tag=f"answer:{answer_id}")]
    can_forward = room.kind != "peer_group" and _facilitators_room(services) is not None
    offer_id = None
    with services.db.session() as session:
        session.add(record)
        if can_forward:
            offer = ForwardOffer(room_id=room.room_id, asker=message.sender, question=question,
                                 event_id=message.event_id, thread_root=message.thread_root)
            session.add(offer)
            session.flush()
            offer_id = offer.id
    # The offer message's tag ties a reply or a ✅ to this question, and to no other.
    return [Reply(template="questions/abstain.md.j2", tag=f"{OFFER_TAG}:{offer_id}" if offer_id else None,
                  context={"can_forward": can_forward, "confidential": sent_to_permanence, "prefix": prefix,
                           "permanence": upcoming})]


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
    return [replace(r, reply_to=reaction.target_event_id) if r.room_id is None else r for r in replies or []]


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
        if now - as_utc(offer.created_at) > OFFER_LIFETIME:
            offer.state = "expired"
            session.add(offer)
            return [Reply(text="Cette proposition a expiré : reposez votre question si vous voulez que je la "
                               "transmette.")]
        if not accept:
            offer.state = "declined"
            session.add(offer)
            return [Reply(text="D'accord, je ne la transmets pas.")]
        offer.state = "accepted"
        session.add(offer)
        forwarded = ForwardedQuestion(room_id=offer.room_id, room_name=room_name, asker=offer.asker,
                                      question=offer.question, event_id=offer.event_id, thread_root=offer.thread_root)
        session.add(forwarded)
        session.flush()
        number = forwarded.id
    facilitators = _facilitators_room(services)
    prefix = services.config.bot.command_prefix
    return [Reply(text="C'est transmis à l'équipe d'animation : la réponse arrivera ici."),
            # The asker's explicit yes to this very offer is the consent needed to carry it out of the room.
            Reply(template="questions/forwarded.md.j2", room_id=facilitators, author_consented=True,
                  origin_room_id=offer.room_id,
                  context={"number": number, "asker": offer.asker, "room_name": room_name,
                           "question": offer.question, "prefix": prefix})]


async def record_vote(reaction: Reaction, services: Services) -> None:
    vote = vote_of(reaction.key)
    if vote is None:
        return None
    answer_id = int(reaction.target_tag.split(":", 1)[1])
    with services.db.session() as session:
        session.add(AnswerFeedback(answer_id=answer_id, user_id=reaction.sender, vote=vote,
                                   event_id=reaction.event_id))
    return None


async def withdraw_vote_on_redaction(redaction: Redaction, services: Services) -> None:
    with services.db.session() as session:
        withdraw_vote(session, redaction.redacted_event_id)


def register(registry: CommandRegistry, agenda: ReminderService | None = None) -> None:
    """`agenda` gives the permanence's next date to questions about it (None: a bot without agenda)."""
    registry.add_listener("forward-offer", offer_listener)
    registry.add_reaction_handler(OFFER_TAG + ":", on_offer_reaction)
    registry.add_reaction_handler("answer:", record_vote)
    registry.add_redaction_handler(withdraw_vote_on_redaction)

    async def ask(ctx: CommandContext) -> list[Reply]:
        return await answer_question(ctx, ctx.args, agenda)

    async def addressed(ctx: CommandContext) -> list[Reply]:
        return await answer_question(ctx, ctx.message.body, agenda)

    registry.fallback = addressed
    registry.command("question", aliases=("q", "demander"), usage="question <votre question>",
                     help="Cherche la réponse dans le référentiel et cite la section d'où elle vient.",
                     section="Référentiel")(ask)

    @registry.command("questions", usage="questions", facilitators_only=True, room_kinds=("facilitators",),
                      help="Liste les questions transmises qui attendent une réponse.", section="Animation")
    async def queue(ctx: CommandContext) -> Reply:
        tz = ctx.services.config.bot.tz
        with ctx.services.db.session() as session:
            waiting = session.exec(select(ForwardedQuestion).where(ForwardedQuestion.answer.is_(None))
                                   .order_by(ForwardedQuestion.id)).all()
        items = [{"id": q.id, "asker": q.asker, "room_name": q.room_name, "question": q.question,
                  "date": _date(q.created_at, tz)} for q in waiting]
        return Reply(template="questions/queue.md.j2",
                     context={"questions": items, "prefix": ctx.services.config.bot.command_prefix})

    @registry.command("repondre", aliases=("répondre",), usage="repondre <n°> <réponse>", facilitators_only=True,
                      room_kinds=("facilitators",), section="Animation",
                      help="Répond à une question transmise : la réponse part à la personne et enrichit la FAQ.")
    async def answer(ctx: CommandContext) -> list[Reply]:
        match = re.fullmatch(r"n?°?\s*(\d+)\s+(.+)", ctx.args, re.S)
        if not match:
            raise UserError("Utilisation : `!repondre <n°> <votre réponse>`, par exemple `!repondre 3 La permanence "
                            "a lieu le premier mardi du mois.` (`!questions` donne les numéros).")
        number, text = int(match.group(1)), match.group(2).strip()
        with ctx.services.db.session() as session:
            question = session.get(ForwardedQuestion, number)
            if question is None:
                raise UserError(f"Il n'y a pas de question n°{number}. `!questions` liste celles en attente.")
            if question.answer is not None:
                raise UserError(f"La question n°{number} a déjà reçu une réponse.")
            question.answer, question.answered_by, question.answered_at = text, ctx.message.sender, ctx.services.clock()
            session.add(question)
        if ctx.services.search is not None:
            await ctx.services.search.add_faq(question.question, text)
        return [Reply(template="questions/facilitator_answer.md.j2", room_id=question.room_id,
                      thread_root=question.thread_root, reply_to=question.event_id, mentions=(question.asker,),
                      context={"question": question.question, "answer": text}, txn_key=f"faq-answer-{number}"),
                Reply(text=f"Réponse envoyée à {escape_markdown(question.asker)} et ajoutée à la FAQ.")]


def _date(moment: datetime, tz) -> str:
    # SQLite hands datetimes back without their zone; they were stored in UTC.
    return format_datetime_fr(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc), tz)
