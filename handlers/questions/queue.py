"""The facilitators' side of forwarded questions: !questions lists them, !repondre answers one; the
answer goes back to the asker, where they asked, and into the FAQ."""
from __future__ import annotations

import re

from handlers.context import CommandContext
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


async def answer_command(ctx: CommandContext) -> list[Reply]:
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
    return [Reply(template="questions/facilitator_answer.md.j2",
                  to=Post(question.room_id, thread_root=question.thread_root, reply_to=question.event_id),
                  mentions=(question.asker,),
                  context={"question": question.question, "answer": text}, txn_key=f"faq-answer-{number}"),
            Reply(text=f"Réponse envoyée à {escape_markdown(question.asker)} et ajoutée à la FAQ.")]
