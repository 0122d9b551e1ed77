"""Questions to the référentiel: answers with a citation, honest abstention, and the loop that learns.

answers.py answers from the référentiel (or says it does not know, and may offer to forward the
question); offers.py takes the asker's yes or no to that offer and forwards; queue.py is the
facilitators' side (!questions, !repondre: the answer goes where the question was asked, or with
--prive to the asker's direct chat, and with --faq into the FAQ); votes.py counts the 👍/👎 on answers.
"""

from __future__ import annotations

from handlers.agenda import ReminderService
from handlers.context import CommandContext
from handlers.questions.answers import ANSWER_TAG, answer_question
from handlers.questions.offers import OFFER_TAG, offer_listener, on_offer_reaction
from handlers.questions.queue import answer_command, queue_command
from handlers.questions.votes import record_vote, withdraw_vote_on_redaction
from handlers.registry import CommandRegistry
from handlers.replies import Reply


def register(registry: CommandRegistry, agenda: ReminderService | None = None) -> None:
    """`agenda` gives the permanence's next date to questions about it (None: a bot without agenda)."""
    registry.add_listener("forward-offer", offer_listener)
    registry.add_reaction_handler(OFFER_TAG + ":", on_offer_reaction)
    registry.add_reaction_handler(ANSWER_TAG + ":", record_vote)
    registry.add_redaction_handler(withdraw_vote_on_redaction)

    async def ask(ctx: CommandContext) -> list[Reply]:
        return await answer_question(ctx, ctx.args, agenda)

    async def addressed(ctx: CommandContext) -> list[Reply]:
        # Said in reply to an answer, or in its thread: a follow-up, read with the question it follows.
        return await answer_question(ctx, ctx.message.body, agenda, follow_up=True)

    registry.fallback = addressed
    registry.command(
        "question",
        aliases=("q", "demander"),
        usage="question <votre question>",
        help="Cherche la réponse dans le référentiel et cite la section d'où elle vient.",
        section="Référentiel",
    )(ask)
    registry.command(
        "questions",
        usage="questions",
        facilitators_only=True,
        room_kinds=("facilitators",),
        help="Liste les questions transmises qui attendent une réponse.",
        section="Animation",
    )(queue_command)
    registry.command(
        "repondre",
        aliases=("répondre",),
        usage="repondre <n°> [--prive] [--faq] <réponse>",
        facilitators_only=True,
        room_kinds=("facilitators",),
        section="Animation",
        help="Répond à une question transmise. La réponse est publiée là où la question a été posée : "
        "dans son salon, en réponse à la question, et tous les membres du salon la lisent ; ou en "
        "privé si elle a été posée en privé. Avec `--prive`, elle part dans la conversation privée "
        "de la personne avec le bot, que personne d'autre ne lit. Avec `--faq`, elle entre aussi "
        "dans la FAQ pour tout le monde.",
    )(answer_command)
