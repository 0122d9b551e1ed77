"""The retention purge (issue 20): each kind of record is deleted once its purpose is over, as
[retention] says (config/retention.py), by a daily job (handlers/retention.py) or `manufacture-bot purge`.

Deletes go in batches of at most `BATCH` rows, each its own short transaction: a million rows to go
neither hold SQLite's write lock for long (events keep being handled between two batches) nor load
more than a batch in memory. Questions and votes are counted per week into usage_week before they
go, so the usage page keeps its figures without anyone's id.

Portable SQL only (SQLAlchemy constructs): the same queries run on PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, literal
from sqlalchemy.sql import ColumnElement
from sqlmodel import Field, Session, SQLModel, col, delete, func, select

from config import RetentionConfig
from storage.agenda import CANCELLED, FAILED, SENT, SKIPPED, FeedCache, ReminderRow
from storage.board import BoardLinkUse, BoardSession, UsageWeek, week_start
from storage.deposits import DRAFT_OPEN_STATUSES, DepositDraft
from storage.messages import HandledEvent, SentMessage
from storage.questions import AnswerFeedback, AnswerRecord, ForwardedQuestion, ForwardOffer
from storage.time import utc_field, utcnow

# Rows per transaction: a few milliseconds of SQLite's write lock each.
BATCH = 5000


class PurgeRun(SQLModel, table=True):
    """When the purge last ran, and how many rows it deleted: the daily job is planned from the latest
    one at every start.

    Personal data: none. How long: [retention] sent_messages_days (90 days)."""

    __tablename__ = "purge_run"

    id: int | None = Field(default=None, primary_key=True)
    ran_at: datetime = utc_field(utcnow, index=True)
    deleted: int = 0


@dataclass(frozen=True)
class Cutoffs:
    """What the purge deletes at one moment: rows older than each moment here."""

    now: datetime
    handled_events: datetime
    sent_messages: datetime
    questions: datetime
    drafts: datetime
    reminders: datetime
    # A used login link's nonce is kept while the link could still be replayed.
    board_links: datetime
    # The calendar feeds still configured: the copies of the others go.
    feed_urls: frozenset[str]
    # Tags of the bot's messages kept for good (its introduction in a room: once per room, ever).
    kept_tags: frozenset[str] = frozenset()
    # The deposit recap's tag prefix: a recap stays while its form waits for a « oui » or a ✅ on it.
    recap_tag: str = ""

    @classmethod
    def of(
        cls,
        retention: RetentionConfig,
        now: datetime,
        *,
        feed_urls: Iterable[str] = (),
        link_keep: timedelta = timedelta(0),
        kept_tags: Iterable[str] = (),
        recap_tag: str = "",
    ) -> Cutoffs:
        return cls(
            now=now,
            handled_events=now - timedelta(days=retention.handled_events_days),
            sent_messages=now - timedelta(days=retention.sent_messages_days),
            questions=now - timedelta(days=retention.questions_days),
            drafts=now - timedelta(days=retention.drafts_days),
            reminders=now - timedelta(days=retention.reminders_days),
            board_links=now - link_keep,
            feed_urls=frozenset(feed_urls),
            kept_tags=frozenset(kept_tags),
            recap_tag=recap_tag,
        )


@dataclass(frozen=True)
class _Table:
    """A table whose old rows simply go: `old` says which, `key` is its primary key."""

    model: type[SQLModel]
    key: Any
    old: Callable[[Cutoffs], ColumnElement[bool]]

    def count(self, session: Session, cut: Cutoffs) -> Counter[str]:
        return Counter({_name(self.model): session.exec(select(func.count()).where(self.old(cut))).one()})

    def purge_batch(self, session: Session, cut: Cutoffs, limit: int) -> Counter[str]:
        batch = select(self.key).where(self.old(cut)).limit(limit)
        result = session.exec(delete(self.model).where(col(self.key).in_(batch)))
        return Counter({_name(self.model): result.rowcount or 0})


def _sent_is_old(cut: Cutoffs) -> ColumnElement[bool]:
    old = col(SentMessage.sent_at) < cut.sent_messages
    if cut.kept_tags:
        old &= col(SentMessage.tag).not_in(tuple(cut.kept_tags))
    if cut.recap_tag:
        waiting = select(literal(f"{cut.recap_tag}:") + cast(DepositDraft.id, String)).where(
            DepositDraft.status == "recap"
        )
        old &= col(SentMessage.tag).not_in(waiting)
    return old


_FINISHED_REMINDERS = (SENT, SKIPPED, CANCELLED, FAILED)

_SIMPLE = (
    # Only done events: a pending one is the inbox's work (bot/inbox.py), handled at the next start.
    _Table(
        HandledEvent,
        HandledEvent.event_id,
        lambda cut: col(HandledEvent.done).is_(True) & (col(HandledEvent.handled_at) < cut.handled_events),
    ),
    _Table(SentMessage, SentMessage.event_id, _sent_is_old),
    # An offer expires within the hour; it goes with its message.
    _Table(ForwardOffer, ForwardOffer.id, lambda cut: col(ForwardOffer.created_at) < cut.sent_messages),
    # Abandoned, cancelled or confirmed (the deposit holds the answers); a form in progress stays.
    _Table(
        DepositDraft,
        DepositDraft.id,
        lambda cut: col(DepositDraft.status).not_in(DRAFT_OPEN_STATUSES) & (col(DepositDraft.updated_at) < cut.drafts),
    ),
    _Table(
        ReminderRow,
        ReminderRow.id,
        lambda cut: col(ReminderRow.status).in_(_FINISHED_REMINDERS) & (col(ReminderRow.due_at) < cut.reminders),
    ),
    _Table(BoardLinkUse, BoardLinkUse.nonce, lambda cut: col(BoardLinkUse.used_at) < cut.board_links),
    _Table(BoardSession, BoardSession.id_hash, lambda cut: col(BoardSession.expires_at) < cut.now),
    _Table(FeedCache, FeedCache.url, lambda cut: col(FeedCache.url).not_in(tuple(cut.feed_urls))),
    _Table(PurgeRun, PurgeRun.id, lambda cut: col(PurgeRun.ran_at) < cut.sent_messages),
)


class _Answers:
    """Answers older than `questions` go with every vote on them, counted per week into usage_week first."""

    def count(self, session: Session, cut: Cutoffs) -> Counter[str]:
        old = select(AnswerRecord.id).where(col(AnswerRecord.created_at) < cut.questions)
        return Counter(
            {
                "answerrecord": session.exec(select(func.count()).where(col(AnswerRecord.id).in_(old))).one(),
                "answerfeedback": session.exec(
                    select(func.count()).where(col(AnswerFeedback.answer_id).in_(old))
                ).one(),
            }
        )

    def purge_batch(self, session: Session, cut: Cutoffs, limit: int) -> Counter[str]:
        batch = (
            select(AnswerRecord.id)
            .where(col(AnswerRecord.created_at) < cut.questions)
            .order_by(col(AnswerRecord.id))
            .limit(limit)
        )
        weeks: dict[datetime, Counter[str]] = {}
        for created_at, answered in session.exec(
            select(AnswerRecord.created_at, AnswerRecord.answered).where(col(AnswerRecord.id).in_(batch))
        ).all():
            week = weeks.setdefault(week_start(created_at), Counter())
            week["asked"] += 1
            week["answered"] += bool(answered)
        # A person's vote on an answer is their latest reaction (storage.questions.current_votes).
        latest: dict[tuple[int, str], tuple[int, str, datetime]] = {}
        for feedback in session.exec(select(AnswerFeedback).where(col(AnswerFeedback.answer_id).in_(batch))).all():
            key, order = (feedback.answer_id, feedback.user_id), feedback.id or 0
            if key not in latest or latest[key][0] < order:
                latest[key] = (order, feedback.vote, feedback.created_at)
        for _, vote, created_at in latest.values():
            if vote in ("up", "down"):
                weeks.setdefault(week_start(created_at), Counter())[vote] += 1
        _add_to_weeks(session, weeks)
        votes = session.exec(delete(AnswerFeedback).where(col(AnswerFeedback.answer_id).in_(batch))).rowcount or 0
        answers = session.exec(delete(AnswerRecord).where(col(AnswerRecord.id).in_(batch))).rowcount or 0
        return Counter({"answerrecord": answers, "answerfeedback": votes})


class _Forwarded:
    """Forwarded questions the facilitators answered, older than `questions`; one still waiting stays
    (the queue's work), whatever its age."""

    @staticmethod
    def _old(cut: Cutoffs) -> ColumnElement[bool]:
        return col(ForwardedQuestion.answer).is_not(None) & (col(ForwardedQuestion.created_at) < cut.questions)

    def count(self, session: Session, cut: Cutoffs) -> Counter[str]:
        return Counter({"forwardedquestion": session.exec(select(func.count()).where(self._old(cut))).one()})

    def purge_batch(self, session: Session, cut: Cutoffs, limit: int) -> Counter[str]:
        batch = select(ForwardedQuestion.id).where(self._old(cut)).order_by(col(ForwardedQuestion.id)).limit(limit)
        weeks: dict[datetime, Counter[str]] = {}
        for created_at in session.exec(
            select(ForwardedQuestion.created_at).where(col(ForwardedQuestion.id).in_(batch))
        ).all():
            weeks.setdefault(week_start(created_at), Counter())["forwarded"] += 1
        _add_to_weeks(session, weeks)
        deleted = session.exec(delete(ForwardedQuestion).where(col(ForwardedQuestion.id).in_(batch))).rowcount or 0
        return Counter({"forwardedquestion": deleted})


def _add_to_weeks(session: Session, weeks: dict[datetime, Counter[str]]) -> None:
    for week, counts in weeks.items():
        row = session.get(UsageWeek, week) or UsageWeek(week=week)
        row.asked += counts["asked"]
        row.answered += counts["answered"]
        row.forwarded += counts["forwarded"]
        row.up += counts["up"]
        row.down += counts["down"]
        session.add(row)


RULES: tuple[_Table | _Answers | _Forwarded, ...] = (*_SIMPLE, _Answers(), _Forwarded())
# Every table the purge deletes from, as /metrics labels them.
PURGED_TABLES = (
    "handledevent",
    "sentmessage",
    "forwardoffer",
    "depositdraft",
    "agenda_reminder",
    "board_link_use",
    "board_session",
    "agenda_feed_cache",
    "purge_run",
    "answerrecord",
    "answerfeedback",
    "forwardedquestion",
)


def _name(model: type[SQLModel]) -> str:
    return str(model.__tablename__)


def purgeable(session: Session, cut: Cutoffs) -> Counter[str]:
    """How many rows of each table the purge would delete now (`purge --dry-run`): deletes nothing."""
    counts: Counter[str] = Counter(dict.fromkeys(PURGED_TABLES, 0))
    for rule in RULES:
        counts.update(rule.count(session, cut))
    return counts


def purge_batch(session: Session, rule: int, cut: Cutoffs, limit: int = BATCH) -> tuple[Counter[str], bool]:
    """One batch of RULES[rule]: the rows deleted by table, and whether the rule has more to delete."""
    deleted = RULES[rule].purge_batch(session, cut, limit)
    return deleted, _first_count(deleted, rule) >= limit


def _first_count(deleted: Counter[str], rule: int) -> int:
    # The rule's own table decides whether a batch was full (votes go with their answers, uncounted).
    target = RULES[rule]
    if isinstance(target, _Table):
        return deleted[_name(target.model)]
    return deleted["answerrecord" if isinstance(target, _Answers) else "forwardedquestion"]


def purge(session: Session, cut: Cutoffs, limit: int = BATCH) -> Counter[str]:
    """Every rule to the end, one committed transaction per batch (the command line and the bench;
    the bot's job runs the same batches through its unit of work)."""
    total: Counter[str] = Counter(dict.fromkeys(PURGED_TABLES, 0))
    for rule in range(len(RULES)):
        more = True
        while more:
            deleted, more = purge_batch(session, rule, cut, limit)
            session.commit()
            total.update(deleted)
    return total


def last_purge(session: Session) -> datetime | None:
    return session.exec(select(func.max(PurgeRun.ran_at))).one()


def record_purge(session: Session, ran_at: datetime, deleted: int) -> None:
    session.add(PurgeRun(ran_at=ran_at, deleted=deleted))
