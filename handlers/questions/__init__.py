"""Questions to the référentiel: answers with a citation, honest abstention, and the loop that learns.

answers.py answers from the référentiel (or says it does not know, and may offer to forward the
question); offers.py takes the asker's yes or no to that offer and forwards; queue.py is the
facilitators' side (!questions, !repondre: the answer goes where the question was asked, or with
--prive to the asker's direct chat, and with --faq into the FAQ); votes.py counts the 👍/👎 on answers.
"""

from __future__ import annotations

from functools import partial

from handlers.agenda import ReminderService
from handlers.questions.answers import ANSWER_TAG, QUESTION, answer_addressed, on_choice_vote
from handlers.questions.offers import OFFER_TAG, offer_listener, on_offer_reaction
from handlers.questions.queue import QUESTIONS, REPONDRE
from handlers.questions.votes import record_vote, withdraw_vote_on_redaction
from handlers.registry import CommandRegistry
from storage.questions import CHOICE_TAG


def register(registry: CommandRegistry, agenda: ReminderService | None = None) -> None:
    """`agenda` gives the permanence's next date to questions about it (None: a bot without agenda)."""
    registry.add_listener("forward-offer", offer_listener)
    registry.add_reaction_handler(OFFER_TAG + ":", on_offer_reaction)
    registry.add_reaction_handler(ANSWER_TAG + ":", record_vote)
    registry.add_poll_handler(CHOICE_TAG, on_choice_vote)
    registry.add_redaction_handler(withdraw_vote_on_redaction)
    registry.fallback = partial(answer_addressed, agenda)
    registry.add(QUESTION.bind(agenda))
    registry.add(QUESTIONS)
    registry.add(REPONDRE)
