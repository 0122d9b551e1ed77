"""Questions to the référentiel: answers with a citation, honest abstention, and the loop that learns.

An unanswered question may be forwarded to the facilitators, only if the asker says yes and
never from a peer-group room; a facilitator's answer goes back to the asker and into the FAQ.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta, timezone

from sqlmodel import select

from handlers.agenda.commands import next_permanence
from handlers.context import CommandContext, Reaction, RoomInfo, Services
from handlers.french import format_datetime_fr
from handlers.registry import CommandRegistry
from handlers.replies import Reply, UserError
from knowledge.search import PUBLIC_COLLECTIONS
from storage.knowledge import tribe_collection
from storage.messages import SentMessage
from storage.questions import AnswerFeedback, AnswerRecord, ForwardedQuestion, ForwardOffer
from storage.rooms import facilitators_room_id

OFFER_LIFETIME = timedelta(minutes=30)
PASSAGE_CHARS = 700
# How far (in cosine) below the answer a passage may score and still be offered as « voir aussi ».
# The default model's scores are compressed (about 0.75 to 0.92): 0.03 keeps the permanence's two
# sections together and drops the référentiel sections that trail a FAQ answer by 0.1.
SEE_ALSO_MARGIN = 0.03
YES = {"oui", "o", "ouais", "yes", "oui merci", "ok", "d'accord", "volontiers", "oui svp", "oui stp"}
NO = {"non", "n", "no", "non merci", "pas besoin"}
UP, DOWN = ("👍",), ("👎",)
# « c'est quand la perm ? »: the référentiel says how the permanence works, the agenda says when.
PERMANENCE_WORDS = {"permanence", "permanences", "perm", "perma"}


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).replace("!", " ").split())


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
    base = key.rstrip("\ufe0f")[:1]
    return "up" if base in UP else "down" if base in DOWN else None


async def answer_question(ctx: CommandContext, question: str) -> list[Reply]:
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
    upcoming = await next_permanence(services) if wants_permanence else None
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
    with services.db.session() as session:
        session.add(record)
        if can_forward:
            session.add(ForwardOffer(room_id=room.room_id, asker=message.sender, question=question,
                                     event_id=message.event_id, thread_root=message.thread_root))
    return [Reply(template="questions/abstain.md.j2",
                  context={"can_forward": can_forward, "confidential": sent_to_permanence, "prefix": prefix,
                           "permanence": upcoming})]


def _facilitators_room(services: Services) -> str | None:
    with services.db.session() as session:
        return facilitators_room_id(session)


async def offer_listener(ctx: CommandContext) -> list[Reply] | None:
    """« oui » / « non » right after an offer to forward belongs to that offer."""
    message, services = ctx.message, ctx.services
    answer = fold(message.body)
    if answer not in YES and answer not in NO:
        return None
    now = services.clock()
    with services.db.session() as session:
        offer = session.exec(select(ForwardOffer).where(
            ForwardOffer.room_id == message.room_id, ForwardOffer.asker == message.sender,
            ForwardOffer.state == "open").order_by(ForwardOffer.id.desc())).first()
        if offer is None:
            return None
        created = offer.created_at if offer.created_at.tzinfo else offer.created_at.replace(tzinfo=timezone.utc)
        if now - created > OFFER_LIFETIME:
            offer.state = "expired"
            session.add(offer)
            return None
        if answer in NO:
            offer.state = "declined"
            session.add(offer)
            return [Reply(text="D'accord, je ne la transmets pas.")]
        offer.state = "accepted"
        session.add(offer)
        forwarded = ForwardedQuestion(room_id=offer.room_id, room_name=message.room.name, asker=offer.asker,
                                      question=offer.question, event_id=offer.event_id, thread_root=offer.thread_root)
        session.add(forwarded)
        session.flush()
        number = forwarded.id
    facilitators = _facilitators_room(services)
    prefix = services.config.bot.command_prefix
    return [Reply(text="C'est transmis à l'équipe d'animation : la réponse arrivera ici."),
            # The asker said yes: that is the consent needed to carry the question out of the room.
            Reply(template="questions/forwarded.md.j2", room_id=facilitators, author_consented=True,
                  context={"number": number, "asker": offer.asker, "room_name": message.room.name,
                           "question": offer.question, "prefix": prefix})]


async def follow_up_listener(ctx: CommandContext) -> list[Reply] | None:
    """A message in a thread where the bot answered is a follow-up question."""
    message = ctx.message
    root = message.thread_root
    if not root or message.body.startswith(ctx.services.config.bot.command_prefix):
        return None
    with ctx.services.db.session() as session:
        bot_answer = session.exec(select(SentMessage).where(
            SentMessage.room_id == message.room_id, SentMessage.tag.startswith("answer:"),
            (SentMessage.thread_root == root) | (SentMessage.event_id == root))).first()
    if bot_answer is None:
        return None
    return await answer_question(ctx, message.body)


async def record_vote(reaction: Reaction, services: Services) -> None:
    vote = vote_of(reaction.key)
    if vote is None:
        return None
    answer_id = int(reaction.target_tag.split(":", 1)[1])
    with services.db.session() as session:
        session.add(AnswerFeedback(answer_id=answer_id, user_id=reaction.sender, vote=vote))
    return None


def register(registry: CommandRegistry) -> None:
    registry.add_listener("forward-offer", offer_listener)
    registry.add_listener("answer-follow-up", follow_up_listener)
    registry.add_reaction_handler("answer:", record_vote)

    async def ask(ctx: CommandContext) -> list[Reply]:
        return await answer_question(ctx, ctx.args)

    async def addressed(ctx: CommandContext) -> list[Reply]:
        return await answer_question(ctx, ctx.message.body)

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
                Reply(text=f"Réponse envoyée à {question.asker} et ajoutée à la FAQ.")]


def _date(moment: datetime, tz) -> str:
    # SQLite hands datetimes back without their zone; they were stored in UTC.
    return format_datetime_fr(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc), tz)
