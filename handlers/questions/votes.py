"""👍/👎 on an answer: one vote per person (their latest), withdrawn when the reaction is redacted."""

from __future__ import annotations

from sqlmodel import Session

from handlers.context import Reaction, Services
from handlers.registry import Redaction
from storage.questions import AnswerFeedback, withdraw_vote

UP, DOWN = "👍", "👎"
# Variation selectors (👍️ is 👍 + U+FE0F) and skin tones (👍🏽) make other keys for the same vote.
_PRESENTATION = dict.fromkeys([0xFE0E, 0xFE0F, *range(0x1F3FB, 0x1F400)])


def vote_of(key: str) -> str | None:
    base = key.translate(_PRESENTATION)
    return "up" if base == UP else "down" if base == DOWN else None


async def record_vote(reaction: Reaction, services: Services) -> None:
    vote = vote_of(reaction.key)
    if vote is None:
        return
    answer_id = int(reaction.target_tag.split(":", 1)[1])
    await reaction.work(
        _add, AnswerFeedback(answer_id=answer_id, user_id=reaction.sender, vote=vote, event_id=reaction.event_id)
    )


def _add(session: Session, feedback: AnswerFeedback) -> None:
    session.add(feedback)


async def withdraw_vote_on_redaction(redaction: Redaction, services: Services) -> None:
    await redaction.work(withdraw_vote, redaction.redacted_event_id)
