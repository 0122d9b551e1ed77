"""The facilitators' side of forwarded questions: !questions lists them, !repondre answers one; the
answer goes back to the asker, where they asked, and into the FAQ when the facilitator says so (--faq)."""
from __future__ import annotations

import re

from handlers.context import CommandContext, Services
from handlers.french import format_datetime_fr
from handlers.replies import Post, Reply, UserError
from handlers.text import escape_markdown
from storage.questions import ForwardedQuestion, waiting_questions


async def queue_command(ctx: CommandContext) -> Reply:
    tz = ctx.services.config.bot.tz
    with ctx.services.db.session() as session:
        waiting = waiting_questions(session)
    items = [{"id": q.id, "asker": q.asker, "room_name": q.room_name, "question": q.question,
              "date": format_datetime_fr(q.created_at, tz)} for q in waiting]
    return Reply(template="questions/queue.md.j2",
                 context={"questions": items, "prefix": ctx.services.config.bot.command_prefix})


# An answer is for the asker; only this flag also makes it the FAQ's answer to everyone (a recipe
# given to one member, or a question back to them, is no FAQ entry).
FAQ_FLAG = "--faq"


async def answer_command(ctx: CommandContext) -> list[Reply]:
    match = re.fullmatch(r"n?°?\s*(\d+)\s+(?:(--faq)\s+)?(.+)", ctx.args, re.S | re.I)
    if not match:
        raise UserError("Utilisation : `!repondre <n°> <votre réponse>`, par exemple `!repondre 3 La permanence "
                        "a lieu le premier mardi du mois.` (`!questions` donne les numéros). Ajoutez `--faq` "
                        "après le numéro pour mettre aussi la réponse dans la FAQ : `!repondre 3 --faq …`.")
    number, to_faq, text = int(match.group(1)), match.group(2) is not None, match.group(3).strip()
    return await answer_question(ctx.services, ctx.message.sender, number, text, to_faq=to_faq)


async def answer_question(services: Services, facilitator: str, number: int, text: str, *,
                          to_faq: bool = False) -> list[Reply]:
    """A facilitator answers forwarded question n° `number` (the chat's `!repondre` and the web board):
    the answer goes to the asker where they asked, and into the FAQ if `to_faq`. The first reply goes
    to the asker, the second is the facilitator's acknowledgement."""
    text = text.strip()
    if not text:
        raise UserError("La réponse est vide.")
    with services.db.session() as session:
        question = session.get(ForwardedQuestion, number)
        if question is None:
            raise UserError(f"Il n'y a pas de question n°{number}. `!questions` liste celles en attente.")
        if question.answer is not None:
            raise UserError(f"La question n°{number} a déjà reçu une réponse.")
        question.answer, question.answered_by, question.answered_at = text, facilitator, services.clock()
        session.add(question)
    if to_faq and services.search is not None:
        await services.search.add_faq(question.question, text)
    asker = escape_markdown(question.asker)
    acknowledgement = (f"Réponse envoyée à {asker} et ajoutée à la FAQ : je la donnerai à qui posera la même question."
                       if to_faq else
                       f"Réponse envoyée à {asker}, et à personne d'autre : elle n'est pas ajoutée à la FAQ "
                       f"(`!repondre <n°> --faq …` l'y met).")
    return [Reply(template="questions/facilitator_answer.md.j2",
                  to=Post(question.room_id, thread_root=question.thread_root, reply_to=question.event_id),
                  mentions=(question.asker,),
                  context={"question": question.question, "answer": text}, txn_key=f"faq-answer-{number}"),
            Reply(text=acknowledgement)]
