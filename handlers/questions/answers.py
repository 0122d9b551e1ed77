"""The référentiel's answer to a question, cited; or an honest « je ne sais pas », offering to forward it."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace

from sqlmodel import Session

from handlers.agenda import ReminderService
from handlers.agenda.commands import next_permanence
from handlers.context import CommandContext, Message, PollVote, RoomInfo, Services
from handlers.help import REFERENTIEL
from handlers.questions.choices import ask_back, offered, toss_up, typed_choice, upper
from handlers.questions.offers import may_forward_from, offer_tag
from handlers.registry import CommandNeeding
from handlers.replies import ANSWER, Destination, Post, Reply, UserError
from handlers.text import fold_for_matching
from knowledge.composition import Block, Composition, Hit, Passage, Shown
from knowledge.dressing import undress
from knowledge.question_kind import Kind, QuestionKind, read_question
from knowledge.search import PUBLIC_COLLECTIONS, SearchResponse, SearchResult, SearchService
from storage.knowledge import tribe_collection
from storage.messages import SentMessage, end_polls
from storage.questions import (
    CHOICE_TAG,
    AnswerRecord,
    ForwardOffer,
    answer_followed_up,
    open_choice,
    questions_leading_to,
)
from storage.unit_of_work import UnitOfWork

# Votes are reactions on a message with this tag (handlers/questions/votes.py).
ANSWER_TAG = "answer"
# How far (in cosine) below the answer a passage may score and still be offered as « voir aussi ».
# The default model's scores are compressed (about 0.75 to 0.92): 0.03 keeps the permanence's two
# sections together and drops the référentiel sections that trail a FAQ answer by 0.1.
SEE_ALSO_MARGIN = 0.03
# « c'est quand la perm ? »: the référentiel says how the permanence works, the agenda says when.
PERMANENCE_WORDS = {"permanence", "permanences", "perm", "perma"}


# Said to the bot, these are manners, not questions: searching the référentiel for « merci » found a
# section, and « bonjour » got an offer to forward it to the facilitators.
MANNERS = {
    "greeting": {"bonjour", "bonsoir", "salut", "coucou", "hello", "hey", "hi", "yo", "re", "bjr", "slt"},
    "thanks": {
        "merci",
        "mercii",
        "thanks",
        "thx",
        "super",
        "top",
        "genial",
        "parfait",
        "cool",
        "nickel",
        "excellent",
        "bravo",
        "ok",
        "d'accord",
    },
    "goodbye": {"revoir", "bientot", "ciao", "tchao", "a+", "journee", "soiree", "nuit", "week-end", "weekend"},
}
# Words that go with them (« merci beaucoup », « bonne journée », « salut à tous ») and ask nothing.
COURTESY_FILLERS = {
    "a",
    "au",
    "tous",
    "toutes",
    "tout",
    "le",
    "monde",
    "vous",
    "toi",
    "beaucoup",
    "bcp",
    "mille",
    "fois",
    "plus",
    "bien",
    "bonne",
    "bon",
    "et",
    "encore",
    "tres",
    "de",
}


def small_talk(text: str) -> str | None:
    """What a message that asks nothing is: « greeting », « thanks », « goodbye », or « empty » (only
    emoji or punctuation); None when it may be a question."""
    if not any(c.isalnum() for c in text):
        return "empty"
    words = set(fold_for_matching(text).split())
    courtesy = set().union(*MANNERS.values())
    if not words <= courtesy | COURTESY_FILLERS:
        return None
    # Thanks before goodbye before greeting: « bonjour et merci » is thanks, « merci, bonne soirée » too.
    return next((kind for kind in ("thanks", "goodbye", "greeting") if words & MANNERS[kind]), None)


def mentions_permanence(question: str) -> bool:
    return bool(PERMANENCE_WORDS & set(re.findall(r"\w+", fold_for_matching(question))))


def citation(result: SearchResult) -> str:
    """« Document › Section » — the document title is the first element of the heading path."""
    path = list(result.heading_path) or [result.heading]
    return " › ".join(path) if len(path) > 1 else f"{result.source} › {path[0]}"


def hit(result: SearchResult, response: SearchResponse) -> Hit:
    passage = Passage(result.collection, result.source, result.heading_path)
    return Hit(passage, response.question, response.vector, result.score)


async def hits_for(
    search: SearchService, reading: QuestionKind, response: SearchResponse, allowed: list[str], work: UnitOfWork
) -> list[Hit]:
    """The sections found, best first; for a comparison, each side's own best section (searched alone),
    two apart."""
    found = [hit(result, response) for result in response.results]
    if reading.kind is not Kind.COMPARE or not reading.sides:
        return found
    # Both sides among the sections the question found: no search of their own.
    placed = search.composer.side_hits(reading.sides, found)
    if placed is not None:
        return placed
    if search.composer.tells_both(reading.sides, response.results[0].text):
        return found[:1]
    sides = await search.search_each(list(reading.sides), allowed, work)
    if not all(side.results for side in sides):
        return [hit(response.results[0], response)]
    first = sides[0].results[0]
    # Both sides found in one section: the second takes its best other one.
    second = next((r for r in sides[1].results if r.heading_path != first.heading_path), None)
    if second is None:
        return [hit(first, sides[0])]
    return [hit(first, sides[0]), hit(second, sides[1])]


async def composed(
    ctx: CommandContext, question: str, response: SearchResponse, follow_up: str | None, earlier: str | None
) -> Composition:
    """What the reply shows. A follow-up is read with its thread's question, and shows what the answers
    before it did not: the number, the next items, the other sentences; nothing when there are none."""
    if not (earlier and follow_up):
        return (await step(ctx, None, question, Shown(), None, response))[0]
    # What the thread showed so far: its first question's answer, then each follow-up's, replayed.
    chain = await ctx.work(questions_leading_to, ctx.message.room.room_id, earlier)
    shown, previous = Shown(), None
    last: tuple[QuestionKind, SearchResponse] | None = None
    for asked in chain:
        added = asked[len(previous) :].strip() if previous else asked
        composition, reading, answered = await step(ctx, previous, added, shown, last)
        last = (reading, answered)
        shown, previous = shown.adding(composition), asked
    return (await step(ctx, earlier, follow_up, shown, last, response))[0]


async def step(
    ctx: CommandContext,
    previous: str | None,
    added: str,
    shown: Shown,
    last: tuple[QuestionKind, SearchResponse] | None,
    response: SearchResponse | None = None,
) -> tuple[Composition, QuestionKind, SearchResponse]:
    """One question of a thread: `added` after `previous` (None for the thread's first), given what
    the thread `shown` already and how its `last` question was read and answered."""
    search, work = ctx.services.search, ctx.work
    assert search is not None
    allowed = collections_for(ctx.message.room)
    question = f"{previous} {added}" if previous else added
    if response is None:
        response = await search.search(question, allowed, work=work)
    reading = read_question(added)
    if reading.kind is Kind.COMPARE and reading.sides and not reading.sides[0]:
        # « et la différence avec B ? »: A is what the thread asked about.
        sides = (previous, reading.sides[1]) if previous else None
        reading = replace(reading, sides=sides) if sides else QuestionKind(Kind.OTHER)
    if previous:
        if reading.kind is Kind.MORE and last is not None:
            # « et la suite ? »: more of the same answer.
            reading, response = last
        elif reading.kind in (Kind.OTHER, Kind.MORE):
            reading = read_question(question)
    if not response.results:
        return Composition(), reading, response
    hits = await hits_for(search, reading, response, allowed, work)
    return await search.compose(reading, hits, work, shown), reading, response


def block_view(block: Block) -> dict[str, object]:
    """A block as the template prints it: every text in it is the document's, escaped there."""
    count = block.count
    return {
        "side": block.side,
        "sentences": list(block.sentences),
        "entries": [{"title": i.title, "gloss": i.gloss, "size": i.size} for i in block.items],
        "total": block.total,
        "offset": block.offset,
        "more": block.more,
        "title": block.heading_path[-1],
        "noun": block.noun,
        "heading_path": block.heading_path,
        "count": None
        if count is None
        else {
            "number": count.number,
            "noun": count.noun,
            "within": count.within,
            "stated": count.stated,
            "parts": [{"title": t, "number": n} for t, n in count.parts],
            "groups": count.groups,
        },
        # A whole document is cited by its title.
        "citation": " › ".join(block.heading_path),
    }


def collections_for(room: RoomInfo) -> list[str]:
    """The référentiel and the FAQ everywhere; a tribe's own documents only in its room."""
    allowed = list(PUBLIC_COLLECTIONS)
    if room.kind == "tribe" and room.name:
        allowed.append(tribe_collection(room.name))
    return allowed


async def earlier_question(work: UnitOfWork, message: Message) -> str | None:
    """The question of the answer this message follows up (a reply to it, or its thread); None in a
    confidential room, whose questions are never kept."""
    if not (message.in_reply_to or message.thread_root):
        return None
    earlier = await work(
        answer_followed_up, message.room_id, reply_to=message.in_reply_to, thread_root=message.thread_root
    )
    return earlier.question if earlier is not None else None


def _record_answer(session: Session, record: AnswerRecord) -> int | None:
    session.add(record)
    session.flush()
    return record.id


def _record_abstention(session: Session, record: AnswerRecord, offer: ForwardOffer | None) -> int | None:
    """The abstention and the offer to forward the question, if one is made, in one transaction."""
    session.add(record)
    if offer is None:
        return None
    session.add(offer)
    session.flush()
    return offer.id


async def answer_question(
    ctx: CommandContext, question: str, agenda: ReminderService | None, *, follow_up: bool = False
) -> list[Reply]:
    """The référentiel's answer, with the permanence's date from `agenda` (None: no agenda). A
    `follow_up` (« et elle dure combien de temps ? ») is read with the question it follows."""
    services, message = ctx.services, ctx.message
    prefix = services.config.bot.command_prefix
    question = question.strip()
    if not question:
        raise UserError(
            f"Posez votre question après la commande, par exemple : `{prefix}question comment "
            "fonctionne la permanence ?`"
        )
    room = message.room
    # What the member wrapped around the question (greetings, the bot's name, « (n°4) », a pasted link
    # or markup, emoji) is not read; the question is recorded and forwarded as typed.
    typed, undressed = question, undress(question, [services.config.matrix.user_id])
    # Nothing left but manners: « Salut Manufacture ! » is a greeting even when small talk misses the name.
    manners = small_talk(undressed) if undressed else small_talk(typed) or "greeting"
    # A question read alone (no thread to read it with) is searched while the database says whether the
    # asker has a choice pending: the embedding, most of a question's time, runs beside that step.
    alone = not (follow_up and (message.in_reply_to or message.thread_root))
    early = None
    if services.search is not None and not manners and alone:
        early = asyncio.create_task(searched(services, undressed, room, ctx.work))
    try:
        return await _answer(ctx, typed, undressed, manners, early, agenda, follow_up=follow_up)
    finally:
        if early is not None:
            # Not needed after all (a choice's number, an error): stopped, its outcome read. An embedding
            # under way ends on its own thread.
            early.cancel()
            await asyncio.gather(early, return_exceptions=True)


async def searched(services: Services, question: str, room: RoomInfo, work: UnitOfWork) -> SearchResponse:
    assert services.search is not None
    with services.metrics.search_seconds.time():
        # Its passages are read in the event's unit: a question is one session.
        return await services.search.search(question, collections_for(room), work=work)


async def _answer(
    ctx: CommandContext,
    typed: str,
    question: str,
    manners: str | None,
    early: asyncio.Task[SearchResponse] | None,
    agenda: ReminderService | None,
    *,
    follow_up: bool,
) -> list[Reply]:
    services, message, room = ctx.services, ctx.message, ctx.message.room
    prefix = services.config.bot.command_prefix
    # A question of the asker's waiting for their choice.
    pending = None
    if services.search is not None:
        pending = await ctx.work(open_choice, room.room_id, message.sender)
    ended: list[Reply] = []
    if pending is not None:
        number = typed_choice(typed)
        if number is not None:
            return await answer_choice(services, ctx.work, room, pending, number, ANSWER, message.thread_root)
        # Something else asked: the choice is dropped, and this question gets a plain answer (never two
        # asks in a row).
        ended = await end_choice(ctx.work, pending[0])
    if manners:
        return [Reply(template="questions/small_talk.md.j2", context={"kind": manners})]
    if services.search is None:
        raise UserError("La recherche dans le référentiel n'est pas disponible pour le moment.")
    earlier = await earlier_question(ctx.work, message) if follow_up else None
    added = question
    if earlier:
        question, typed = f"{earlier} {question}", f"{earlier} {typed}"
    response = await (early if early is not None else searched(services, question, room, ctx.work))
    # Never in a thread's follow-up nor right after an ask-back; nor when the agenda answers (« c'est quand
    # la permanence ? » gets its date whichever section comes first).
    pair = None
    if not (earlier or pending or (agenda is not None and mentions_permanence(question))):
        pair = toss_up(read_question(question), response)
    if pair is not None:
        documents = list({(r.collection, r.source) for r in pair})
        above = upper(*pair, await services.search.outlines(documents, ctx.work))
        if above is pair[1]:
            # A toss-up between a section and what contains it: the containing one answers, the other
            # in its list (« c'est quoi une balise ? »: what the balises are, not one of them).
            response = replace(response, results=(above, *(r for r in response.results if r is not above)))
        elif above is None:
            # Neither answered nor declined until the member chooses: the record says not answered, and,
            # as for any question, keeps nothing of a confidential room's.
            asked = AnswerRecord(
                room_id=room.room_id,
                asker=message.sender,
                answered=False,
                question=None if room.confidential else typed,
                confidential=room.confidential,
            )
            record_id = await ctx.work(_record_answer, asked)
            return [*ended, ask_back(record_id or 0, pair, (citation(pair[0]), citation(pair[1])))]
    composition = (
        await composed(ctx, question, response, added, earlier) if response.answered and response.results else None
    )
    answered = composition is not None and not composition.empty
    services.metrics.answer("answered" if answered else "abstained")
    # A peer group's unanswered question never leaves the room: the permanence is where to ask it.
    sent_to_permanence = not response.answered and room.kind == "peer_group"
    # The permanence's date and link, from the agenda, when the question is about it or is sent there.
    wants_permanence = mentions_permanence(question) or sent_to_permanence
    upcoming = await next_permanence(agenda, services.clock(), ctx.work) if wants_permanence and agenda else None
    record = AnswerRecord(
        room_id=room.room_id,
        asker=message.sender,
        answered=response.answered,
        question=None if room.confidential else typed,
        confidential=room.confidential,
    )
    if composition is not None and answered:
        best = response.results[0]
        record.heading, record.source = best.heading, best.source
        shown_blocks = [block for block in composition.blocks if not block.empty]
        blocks = [block_view(block) for block in shown_blocks]
        see_also: list[str] = []
        for other in response.results[1:]:
            label = citation(other)
            # Far below the answer, a « voir aussi » is noise: under a FAQ answer, unrelated sections came up.
            close_enough = other.score >= best.score - SEE_ALSO_MARGIN
            # A section the reply already shows, or lists (a child of a parent shown), is not « voir aussi ».
            already = any(other.heading_path[: len(b.heading_path)] == b.heading_path for b in shown_blocks)
            if other.heading != best.heading and label not in see_also and close_enough and not already:
                see_also.append(label)
        answer_id = await ctx.work(_record_answer, record)
        return [
            *ended,
            Reply(
                template="questions/answer.md.j2",
                context={
                    "blocks": blocks,
                    "see_also": see_also[:2],
                    "follow_up": True,
                    "in_thread": message.thread_root is not None,
                    "permanence": upcoming,
                },
                tag=f"{ANSWER_TAG}:{answer_id}",
            ),
        ]
    # Answered before, and the référentiel has nothing more: said so, and the offer to forward stands.
    nothing_more = composition is not None
    if nothing_more:
        record.answered = False
    can_forward = await may_forward_from(ctx.work, room)
    offer = (
        ForwardOffer(
            room_id=room.room_id,
            asker=message.sender,
            question=typed,
            event_id=message.event_id,
            thread_root=message.thread_root,
            # Its lifetime is measured on this clock (offers.py): the database's own time would be another.
            created_at=services.clock(),
        )
        if can_forward
        else None
    )
    offer_id = await ctx.work(_record_abstention, record, offer)
    # The offer message's tag ties a reply or a ✅ to this question, and to no other.
    return [
        *ended,
        Reply(
            template="questions/abstain.md.j2",
            tag=offer_tag(offer_id) if offer_id else None,
            context={
                "can_forward": can_forward,
                "nothing_more": nothing_more,
                "confidential": sent_to_permanence,
                "prefix": prefix,
                "permanence": upcoming,
                "in_direct": room.is_direct,
            },
        ),
    ]


POLL_ENDED = "Sondage clos."


async def end_choice(work: UnitOfWork, record: AnswerRecord) -> list[Reply]:
    """Ends the poll of a question asked back: once chosen, or once the member moved on, a late vote
    answers nothing."""
    ended = await work(end_polls, f"{CHOICE_TAG}{record.id}:")
    return [
        Reply(text=POLL_ENDED, to=Post(room_id), ends_poll=event_id, contains_room_content=False)
        for room_id, event_id in ended
    ]


def _settle_choice(session: Session, record_id: int, heading: str, source: str) -> None:
    """The member's choice is the question's answer: its section is what a vote on it, or the export
    (handlers/feedback_cli.py, « origin: choice »), reads."""
    record = session.get(AnswerRecord, record_id)
    if record is not None:
        record.answered, record.heading, record.source = True, heading, source
        session.add(record)


async def answer_choice(
    services: Services,
    work: UnitOfWork,
    room: RoomInfo,
    pending: tuple[AnswerRecord, SentMessage],
    number: int,
    to: Destination,
    thread_root: str | None,
) -> list[Reply]:
    """The chosen section's answer, composed as any answer is; it never asks back."""
    record, poll = pending
    search = services.search
    # Read before the poll is ended, which retags it.
    options = offered(poll.tag)
    ended = await end_choice(work, record)
    if search is None or record.id is None or len(options) < number:
        return ended
    chosen = options[number - 1]
    # Its sentences are chosen for the question where it was kept; in a confidential room, for its title.
    question, vector = chosen.heading_path[-1], None
    if record.question is not None:
        question = undress(record.question, [services.config.matrix.user_id])
        vector = (await search.search(question, collections_for(room), work=work)).vector
    composition = await search.compose(read_question(question), [Hit(chosen, question, vector)], work)
    heading = chosen.heading_path[-1]
    await work(_settle_choice, record.id, heading, chosen.source)
    services.metrics.answer("answered")
    blocks = [block_view(block) for block in composition.blocks if not block.empty]
    return [
        *ended,
        Reply(
            template="questions/answer.md.j2",
            context={
                "blocks": blocks,
                "see_also": [],
                "follow_up": True,
                "in_thread": thread_root is not None,
                "permanence": None,
            },
            tag=f"{ANSWER_TAG}:{record.id}",
            to=to,
        ),
    ]


async def on_choice_vote(vote: PollVote, services: Services) -> list[Reply] | None:
    """A vote on the question asked back answers it, from its asker, while it is open."""
    if len(vote.choices) != 1 or vote.choices[0] not in ("1", "2"):
        return None
    pending = await vote.work(open_choice, vote.room.room_id, vote.sender)
    if pending is None or pending[1].event_id != vote.poll_event_id:
        return None
    poll = pending[1]
    to = Post(vote.room.room_id, thread_root=poll.thread_root, reply_to=poll.event_id)
    return await answer_choice(services, vote.work, vote.room, pending, int(vote.choices[0]), to, poll.thread_root)


async def ask(agenda: ReminderService | None, ctx: CommandContext) -> list[Reply]:
    return await answer_question(ctx, ctx.args, agenda)


QUESTION = CommandNeeding(
    name="question",
    handler=ask,
    aliases=("q", "demander"),
    usage="question <votre question>",
    help="Cherche la réponse dans le référentiel et cite la section d'où elle vient.",
    section=REFERENTIEL,
)


async def answer_addressed(agenda: ReminderService | None, ctx: CommandContext) -> list[Reply]:
    """What the registry falls back to for a message addressed to the bot that is no command.
    Said in reply to an answer, or in its thread: a follow-up, read with the question it follows."""
    return await answer_question(ctx, ctx.message.body, agenda, follow_up=True)
