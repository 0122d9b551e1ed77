"""Questions asked in chat: answers given, offers to forward, the facilitators' queue, reactions."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, Session, SQLModel, col, func, select

from storage.messages import SentMessage, tag_starts_with
from storage.time import utc_field, utcnow


class AnswerRecord(SQLModel, table=True):
    """One answer (or abstention) the bot gave. From a confidential room the question is not kept.

    Personal data: the asker's id and, outside confidential rooms, their question. Why: follow-ups, votes and
    the usage page. How long: [retention] questions_days (12 months), then only its week's counts
    (usage_week)."""

    id: int | None = Field(default=None, primary_key=True)
    room_id: str = Field(index=True)
    asker: str
    question: str | None = None
    answered: bool
    heading: str | None = None
    source: str | None = None
    confidential: bool = False
    created_at: datetime = utc_field(utcnow, index=True)


class ForwardOffer(SQLModel, table=True):
    """The bot offered to pass an unanswered question on; it waits for the asker's « oui ».

    Personal data: the asker's id and question. Why: the question is passed on only on their « oui ». How long:
    it expires within the hour; the row goes after [retention] sent_messages_days (90 days)."""

    id: int | None = Field(default=None, primary_key=True)
    room_id: str = Field(index=True)
    asker: str = Field(index=True)
    question: str
    event_id: str
    thread_root: str | None = None
    created_at: datetime = utc_field(utcnow)
    # open | accepted | declined | expired
    state: str = "open"


class ForwardedQuestion(SQLModel, table=True):
    """A question passed on to the facilitators, and their answer.

    Personal data: the asker's id and question, the answering facilitator's id and answer. Why: the
    facilitators' queue, the answer sent back. How long: [retention] questions_days (12 months) once
    answered; a question still waiting stays until answered."""

    id: int | None = Field(default=None, primary_key=True)
    room_id: str
    room_name: str = ""
    asker: str
    question: str
    event_id: str
    thread_root: str | None = None
    created_at: datetime = utc_field(utcnow, index=True)
    answered_by: str | None = None
    answer: str | None = None
    answered_at: datetime | None = utc_field()


class AnswerFeedback(SQLModel, table=True):
    """One 👍/👎 reaction on an answer. A person's vote is their latest one; redacting it deletes the row.

    Personal data: who voted what. Why: whether answers help (the feedback report, the usage page). How long:
    with its answer ([retention] questions_days), counted per week first; a redacted reaction at once."""

    id: int | None = Field(default=None, primary_key=True)
    answer_id: int = Field(index=True)
    user_id: str
    # "up" or "down"
    vote: str
    created_at: datetime = utc_field(utcnow)
    # The reaction's event, so that its redaction withdraws it (None for votes an earlier release recorded).
    event_id: str | None = Field(default=None, index=True)


def current_votes(session: Session) -> list[AnswerFeedback]:
    """One row per person and answer: the latest reaction they have not withdrawn."""
    latest = select(func.max(AnswerFeedback.id)).group_by(col(AnswerFeedback.answer_id), col(AnswerFeedback.user_id))
    return list(
        session.exec(select(AnswerFeedback).where(col(AnswerFeedback.id).in_(latest)).order_by(col(AnswerFeedback.id)))
    )


def withdraw_vote(session: Session, reaction_event_id: str) -> None:
    """Forget a redacted reaction (any other redacted event is no vote and changes nothing)."""
    feedback = session.exec(select(AnswerFeedback).where(AnswerFeedback.event_id == reaction_event_id)).first()
    if feedback is not None:
        session.delete(feedback)


def answer_followed_up(
    session: Session, room_id: str, *, reply_to: str | None, thread_root: str | None
) -> AnswerRecord | None:
    """The answer a follow-up is about: the bot's answer it replies to, else the latest answer in its thread."""
    tagged = None
    if reply_to:
        tagged = session.get(SentMessage, reply_to)
    if (tagged is None or not tagged.tag.startswith("answer:")) and thread_root:
        tagged = session.exec(
            select(SentMessage)
            .where(
                SentMessage.room_id == room_id,
                SentMessage.tag.startswith("answer:"),
                (SentMessage.thread_root == thread_root) | (SentMessage.event_id == thread_root),
            )
            .order_by(col(SentMessage.sent_at).desc(), col(SentMessage.event_id))
        ).first()
    if tagged is None or not tagged.tag.startswith("answer:"):
        return None
    return session.get(AnswerRecord, int(tagged.tag.split(":", 1)[1]))


def questions_leading_to(session: Session, room_id: str, question: str, limit: int = 50) -> list[str]:
    """The questions of this room's recent answers that `question` extends, shortest first, itself
    included: a follow-up's question is its thread's, the follow-up added (handlers.questions.answers)."""
    recent = session.exec(
        select(AnswerRecord.question)
        .where(AnswerRecord.room_id == room_id, col(AnswerRecord.question).is_not(None))
        .order_by(col(AnswerRecord.created_at).desc(), col(AnswerRecord.id).desc())
        .limit(limit)
    ).all()
    found = {q for q in recent if q and (q == question or question.startswith(q + " "))}
    return sorted(found | {question}, key=len)


def open_offer(session: Session, room_id: str, asker: str, since: datetime) -> ForwardOffer | None:
    """The asker's latest offer in this room still waiting for an answer."""
    return session.exec(
        select(ForwardOffer)
        .where(
            ForwardOffer.room_id == room_id,
            ForwardOffer.asker == asker,
            ForwardOffer.state == "open",
            ForwardOffer.created_at >= since,
        )
        .order_by(col(ForwardOffer.id).desc())
    ).first()


def waiting_questions(session: Session) -> list[ForwardedQuestion]:
    """The facilitators' queue: forwarded questions not answered yet, oldest first."""
    return list(
        session.exec(
            select(ForwardedQuestion).where(col(ForwardedQuestion.answer).is_(None)).order_by(col(ForwardedQuestion.id))
        )
    )


def answers_given(session: Session) -> list[AnswerRecord]:
    return list(session.exec(select(AnswerRecord).order_by(col(AnswerRecord.id))))


def forwarded_questions(session: Session) -> list[ForwardedQuestion]:
    return list(session.exec(select(ForwardedQuestion).order_by(col(ForwardedQuestion.id))))


# The bot asking which of two sections was meant (handlers/questions/choices.py): the question's text is
# tagged CHOICE_ASK_TAG<record id>, its poll CHOICE_TAG<record id>: (retagged once ended, as every poll).
CHOICE_TAG = "choice:"
CHOICE_ASK_TAG = "choice-ask:"


def open_choice(session: Session, room_id: str, asker: str) -> tuple[AnswerRecord, SentMessage] | None:
    """The asker's latest question still waiting for their choice in this room, and its poll."""
    # The open choices, few, by their tag's index; then the room's.
    polls = session.exec(
        select(SentMessage).where(tag_starts_with(session, CHOICE_TAG)).order_by(col(SentMessage.sent_at).desc())
    ).all()
    for poll in (poll for poll in polls if poll.room_id == room_id):
        record = session.get(AnswerRecord, _record_id(poll.tag))
        if record is not None and record.asker == asker:
            return record, poll
    return None


def choice_records(session: Session) -> set[int]:
    """The questions the bot asked back about: the member's choice, once made, is their heading."""
    tags = session.exec(select(SentMessage.tag).where(tag_starts_with(session, CHOICE_ASK_TAG))).all()
    return {_record_id(tag) for tag in tags}


def _record_id(tag: str) -> int:
    try:
        return int(tag.split(":")[1])
    except (IndexError, ValueError):
        return 0
