"""Questions asked in chat: answers given, offers to forward, the facilitators' queue, reactions."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from storage.rooms import utcnow


class AnswerRecord(SQLModel, table=True):
    """One answer (or abstention) the bot gave. From a confidential room the question is not kept."""

    id: int | None = Field(default=None, primary_key=True)
    room_id: str = Field(index=True)
    asker: str
    question: str | None = None
    answered: bool
    heading: str | None = None
    source: str | None = None
    confidential: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class ForwardOffer(SQLModel, table=True):
    """The bot offered to pass an unanswered question on; it waits for the asker's « oui »."""

    id: int | None = Field(default=None, primary_key=True)
    room_id: str = Field(index=True)
    asker: str = Field(index=True)
    question: str
    event_id: str
    thread_root: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    # open | accepted | declined | expired
    state: str = "open"


class ForwardedQuestion(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    room_id: str
    room_name: str = ""
    asker: str
    question: str
    event_id: str
    thread_root: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    answered_by: str | None = None
    answer: str | None = None
    answered_at: datetime | None = None


class AnswerFeedback(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    answer_id: int = Field(index=True)
    user_id: str
    # "up" or "down"
    vote: str
    created_at: datetime = Field(default_factory=utcnow)
