"""The facilitators' side of forwarded questions: !questions lists them, !repondre answers one.

An answer goes where the question was asked: in its room (in its thread, as a reply to it), which
every member of that room reads; or, for a question asked in a direct chat or coming from a
confidential room, in the asker's direct chat. The facilitator may choose « en privé » (`--prive`,
or the board's choice) to answer in the asker's direct chat instead. With `--faq` it also becomes
the FAQ's answer to everyone. Every label (the listing, the help, the acknowledgement, the board)
says which of these it is: AnswerPlace is the one wording of it.

Nothing is recorded before the answer is delivered: the question stays in the queue and the FAQ
unchanged when the homeserver refuses the message, so what the facilitator reads is what happened.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from handlers.context import CommandContext, Services
from handlers.delivery import RETRY_ADVICE, Delivery, NotDelivered, check_length, deliver
from handlers.french import format_datetime_fr
from handlers.help import FACILITATION
from handlers.private import private_room, to_member
from handlers.registry import Command
from handlers.replies import Post, Reply, UserError
from handlers.text import escape_markdown, quote
from knowledge.folding import fold_accents
from storage.questions import ForwardedQuestion, waiting_questions
from storage.rooms import room_privacy
from storage.rows import reread
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# An answer is for the asker; only this flag also makes it the FAQ's answer to everyone (a recipe
# given to one member, or a question back to them, is no FAQ entry).
FAQ_FLAG = "--faq"
# Folded (accents off): « --privé » and « --prive » are the same flag.
PRIVATE_FLAG = "--prive"
# Row ids the databases store (PostgreSQL's integer): a larger number names no question, and
# asking the database for it would fail rather than find nothing.
LARGEST_NUMBER = 2**31 - 1


@dataclass(frozen=True)
class AnswerPlace:
    """Where an answer to one forwarded question goes, and the French that says it.

    `origin` is the asking room's privacy (storage.rooms.room_privacy): « shared », « direct » or
    « confidential ». `private` is where this answer goes: always for a question asked privately or
    from a confidential room; by the facilitator's choice for one asked in a shared room."""

    origin: str
    private: bool
    room_name: str
    in_thread: bool
    asker: str

    @property
    def choosable(self) -> bool:
        """Whether the facilitator may choose between the room and the direct chat."""
        return self.origin == "shared"

    def where(self) -> str:
        """Plain text: « dans le salon « Énergie », en réponse à la question », « en privé, dans la
        conversation privée de @bob:h avec le bot »…"""
        if not self.private:
            thread = "dans le fil de la question" if self.in_thread else "en réponse à la question"
            return f"dans le salon « {self.room_name or 'sans nom'} », {thread}"
        if self.origin == "direct":
            return f"en privé, dans la conversation privée de {self.asker} avec le bot, où la question a été posée"
        if self.origin == "confidential":
            return (
                f"en privé, dans la conversation privée de {self.asker} avec le bot (la question vient d'un "
                "espace confidentiel)"
            )
        return f"en privé, dans la conversation privée de {self.asker} avec le bot"

    def readers(self) -> str:
        return "personne d'autre ne la lit" if self.private else "tous les membres du salon la lisent"

    def label(self) -> str:
        return f"{self.where()} : {self.readers()}"


async def answer_place(
    services: Services, question: ForwardedQuestion, *, private: bool = False, work: UnitOfWork | None = None
) -> AnswerPlace:
    """`work`: the event's unit, if asked in one (else a unit of its own)."""
    origin = await (work or services.units.run)(room_privacy, question.room_id)
    return _place(question, origin, private=private)


def _place(question: ForwardedQuestion, origin: str, *, private: bool = False) -> AnswerPlace:
    # A question asked privately is answered privately: posting it in a room would tell what was asked there.
    return AnswerPlace(
        origin=origin,
        private=private or origin != "shared",
        room_name=question.room_name,
        in_thread=question.thread_root is not None,
        asker=question.asker,
    )


async def queue_command(ctx: CommandContext) -> Reply:
    services = ctx.services
    tz = services.config.bot.tz
    items = []
    for q, origin in await ctx.work(_waiting_from):
        place = _place(q, origin)
        items.append(
            {
                "id": q.id,
                "asker": q.asker,
                "room_name": q.room_name,
                "question": q.question,
                "date": format_datetime_fr(q.created_at, tz),
                "origin": place.origin,
                "where": place.label(),
            }
        )
    return Reply(
        template="questions/queue.md.j2", context={"questions": items, "prefix": services.config.bot.command_prefix}
    )


def _waiting_from(session: Session) -> list[tuple[ForwardedQuestion, str]]:
    """The queue, each question with its room's privacy (room_privacy)."""
    return [(q, room_privacy(session, q.room_id)) for q in waiting_questions(session)]


QUESTIONS = Command(
    name="questions",
    handler=queue_command,
    usage="questions",
    facilitators_only=True,
    room_kinds=frozenset({"facilitators"}),
    help="Liste les questions transmises qui attendent une réponse.",
    section=FACILITATION,
)


USAGE = (
    "Utilisation : `!repondre <n°> [--prive] [--faq] <votre réponse>`, par exemple `!repondre 3 La permanence "
    "a lieu le premier mardi du mois.` (`!questions` donne les numéros). La réponse est publiée là où la "
    "question a été posée : dans son salon, que tous ses membres lisent, ou en privé si elle a été posée en "
    "privé. `--prive` l'envoie plutôt dans la conversation privée de la personne avec le bot ; `--faq` la met "
    "aussi dans la FAQ."
)


async def answer_command(ctx: CommandContext) -> Reply:
    match = re.fullmatch(r"n?°?\s*(\d+)\s+(.+)", ctx.args, re.S | re.I)
    if not match:
        raise UserError(USAGE)
    number, rest = int(match.group(1)), match.group(2)
    flags: set[str] = set()
    # Options come right after the number, in any order; the answer is everything after them.
    while (option := re.match(r"(--\S+)\s+", rest)) is not None:
        flag = fold_accents(option.group(1))
        if flag not in (FAQ_FLAG, PRIVATE_FLAG):
            raise UserError(f"Je ne connais pas l'option « {quote(option.group(1))} ». {USAGE}")
        flags.add(flag)
        rest = rest[option.end() :]
    if fold_accents(rest.strip()) in (FAQ_FLAG, PRIVATE_FLAG):
        raise UserError(f"La réponse est vide. {USAGE}")
    return await answer_question(
        ctx.services,
        ctx.message.sender,
        number,
        rest,
        to_faq=FAQ_FLAG in flags,
        private=PRIVATE_FLAG in flags,
        work=ctx.work,
    )


REPONDRE = Command(
    name="repondre",
    handler=answer_command,
    aliases=("répondre",),
    usage="repondre <n°> [--prive] [--faq] <réponse>",
    facilitators_only=True,
    room_kinds=frozenset({"facilitators"}),
    section=FACILITATION,
    help="Répond à une question transmise. La réponse est publiée là où la question a été posée : "
    "dans son salon, en réponse à la question, et tous les membres du salon la lisent ; ou en "
    "privé si elle a été posée en privé. Avec `--prive`, elle part dans la conversation privée "
    "de la personne avec le bot, que personne d'autre ne lit. Avec `--faq`, elle entre aussi "
    "dans la FAQ pour tout le monde.",
)


async def answer_question(
    services: Services,
    facilitator: str,
    number: int,
    text: str,
    *,
    to_faq: bool = False,
    private: bool = False,
    work: UnitOfWork | None = None,
) -> Reply:
    """A facilitator answers forwarded question n° `number` (the chat's `!repondre` and the web board).

    The answer is posted here, through Services.post, and only once it is delivered (or kept by the
    sender for a direct chat its member has yet to join) is the question marked answered and, if
    `to_faq`, the answer added to the FAQ. Not delivered: NotDelivered, and nothing changed. Returns
    the facilitator's acknowledgement, which says where the answer went. `work`: the event's unit
    (`!repondre`); the board's answer runs in a unit of its own.
    """
    text = text.strip()
    if not text:
        raise UserError("La réponse est vide.")
    check_length(services, text, "La réponse est trop longue")
    if to_faq and services.search is None:
        raise UserError(
            "La recherche dans le référentiel est désactivée : la réponse ne peut pas entrer dans la "
            "FAQ. Répondez sans l'ajouter à la FAQ ; rien n'a été envoyé."
        )
    run = work or services.units.run
    question = await run(_waiting, number)
    place = _place(question, await run(room_privacy, question.room_id), private=private)
    if to_faq and place.origin != "shared":
        # The FAQ is cited to everyone, everywhere: a question asked in private is not its to give.
        raise UserError(
            f"La question n°{number} a été posée en privé : ses mots ne peuvent pas entrer dans la FAQ, "
            "que tout le monde lit. Répondez sans `--faq` ; rien n'a été envoyé."
        )
    if place.private:
        direct = await private_room(services, question.asker)
        # In the direct chat where it was asked, the answer replies to the question itself.
        reply_to = question.event_id if direct == question.room_id else None
        to = Post(direct, reply_to=reply_to)
    else:
        to = Post(question.room_id, thread_root=question.thread_root, reply_to=question.event_id)
    answer = Reply(
        template="questions/facilitator_answer.md.j2",
        to=to,
        mentions=(question.asker,),
        context={"question": question.question, "answer": text},
        # One key per question: a retry after a lost response is not posted twice.
        txn_key=f"faq-answer-{number}",
    )
    if place.private:
        answer = to_member(answer, to.room_id)
    delivery = await deliver(services, answer)
    if delivery is Delivery.FAILED:
        raise NotDelivered(
            f"La réponse à la question n°{number} n'a pas pu être envoyée "
            f"({escape_markdown(place.where())}) : le "
            "serveur Matrix l'a refusée ou n'a pas répondu. Rien n'a changé : la question attend "
            f"toujours sa réponse{' et la FAQ est inchangée' if to_faq else ''}. {RETRY_ADVICE}"
        )
    earlier = await run(_record, number, facilitator, text, services.clock())
    added = await _add_to_faq(services, question.question, text) if to_faq else False
    return Reply(text=_acknowledgement(number, place, delivery, to_faq=to_faq, added=added, earlier=earlier))


def _waiting(session: Session, number: int) -> ForwardedQuestion:
    question = session.get(ForwardedQuestion, number) if 0 < number <= LARGEST_NUMBER else None
    if question is None:
        raise UserError(f"Il n'y a pas de question n°{number}. `!questions` liste celles en attente.")
    if question.answer is not None:
        raise UserError(f"La question n°{number} a déjà reçu une réponse.")
    return question


def _record(session: Session, number: int, facilitator: str, text: str, now: datetime) -> str | None:
    """Marks the question answered; returns who had answered it meanwhile, if someone did (two
    facilitators answering at once: both were sent, the first one recorded stays)."""
    question = reread(session, ForwardedQuestion, number)
    # Read afresh: the unit's session may hold the row as it was before the answer was sent.
    session.refresh(question)
    if question.answer is not None:
        return question.answered_by or "quelqu'un d'autre"
    question.answer, question.answered_by, question.answered_at = text, facilitator, now
    session.add(question)
    return None


async def _add_to_faq(services: Services, question: str, text: str) -> bool:
    if services.search is None:  # answer() refused the FAQ flag before sending anything
        return False
    try:
        await services.search.add_faq(question, text)
    except Exception:
        # The answer is delivered and recorded: the acknowledgement says the FAQ part failed.
        log.exception("Adding forwarded question's answer to the FAQ failed")
        return False
    try:
        # The member's words also become a field of the référentiel section the answer lands on.
        await services.search.attach_question(question, text)
    except Exception:
        log.exception("Attaching a forwarded question to its section failed")
    return True


def _acknowledgement(
    number: int, place: AnswerPlace, delivery: Delivery, *, to_faq: bool, added: bool, earlier: str | None
) -> str:
    asker = escape_markdown(place.asker)
    if delivery is Delivery.WAITING:
        said = (
            f"Réponse à la question n°{number} enregistrée pour {asker} : elle lui sera remise en privé, dans "
            "sa conversation privée avec le bot, dès que cette personne aura accepté l'invitation à la "
            "rejoindre ; personne d'autre ne la lit."
        )
    elif place.private:
        said = f"Réponse à la question n°{number} envoyée {escape_markdown(place.label())}."
    else:
        said = f"Réponse à la question n°{number} de {asker} publiée {escape_markdown(place.label())}."
    if to_faq:
        said += (
            " Elle est aussi ajoutée à la FAQ : je la donnerai à qui posera la même question."
            if added
            else " Elle n'a pas pu être ajoutée à la FAQ (l'erreur est dans le journal du bot)."
        )
    else:
        said += " Elle n'est pas ajoutée à la FAQ."
    if earlier:
        # The homeserver may have taken the second send for a retry of the first (same key, same room).
        said += (
            f" Attention : {escape_markdown(earlier)} y a répondu au même moment, et c'est cette réponse-là "
            "qui est enregistrée ; la personne a pu recevoir les deux."
        )
    return said
