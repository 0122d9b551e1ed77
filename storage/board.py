"""Tables and queries of the facilitators' web board: used login links, sessions, and the
listings and counts its pages show (filtered, paginated, cheap on thousands of rows).

Portable SQL only (SQLAlchemy constructs, no SQLite function): the same queries run on PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Case, Column, case, exc
from sqlalchemy.orm import Mapped
from sqlmodel import Field, Session, SQLModel, col, delete, func, select
from sqlmodel.sql.expression import SelectOfScalar

from storage.deposits import Deposit
from storage.questions import AnswerFeedback, AnswerRecord, ForwardedQuestion
from storage.rooms import RoomRecord
from storage.time import UTCDateTime, utc_field, utcnow

_T = TypeVar("_T")


class BoardLinkUse(SQLModel, table=True):
    """A login link's nonce, recorded when the link logs someone in: it never works twice.

    Personal data: the facilitator's id and when they logged in. How long: while the link could be replayed
    (twice its 10 minutes), by the login itself and the purge."""

    __tablename__ = "board_link_use"

    nonce: str = Field(primary_key=True)
    user_id: str
    used_at: datetime = utc_field(utcnow)


class BoardSession(SQLModel, table=True):
    """A facilitator logged in on the board. The cookie holds a random id; only its hash is kept.

    Personal data: the facilitator's id. How long: until it expires ([board] session_hours) or its holder loses
    their rights; purged at expiry."""

    __tablename__ = "board_session"

    id_hash: str = Field(primary_key=True)
    user_id: str = Field(index=True)
    csrf_token: str
    created_at: datetime = utc_field(utcnow)
    expires_at: datetime = utc_field(utcnow, index=True)


# ---------------------------------------------------------------- login links and sessions


def use_link_nonce(session: Session, nonce: str, user_id: str, now: datetime) -> bool:
    """Records the nonce; False when it was already used (a replayed link)."""
    if session.get(BoardLinkUse, nonce) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(BoardLinkUse(nonce=nonce, user_id=user_id, used_at=now))
    except exc.IntegrityError:
        return False
    return True


def link_used(session: Session, nonce: str) -> bool:
    return session.get(BoardLinkUse, nonce) is not None


def forget_old_link_uses(session: Session, before: datetime) -> None:
    """A link past its expiry is refused anyway: its nonce need not be kept."""
    session.execute(delete(BoardLinkUse).where(col(BoardLinkUse.used_at) < before))


def open_session(
    session: Session, id_hash: str, user_id: str, csrf_token: str, now: datetime, lasts: timedelta
) -> BoardSession:
    row = BoardSession(id_hash=id_hash, user_id=user_id, csrf_token=csrf_token, created_at=now, expires_at=now + lasts)
    session.add(row)
    # Expired sessions go as new ones come: the table stays as small as the team.
    session.execute(delete(BoardSession).where(col(BoardSession.expires_at) < now))
    return row


def live_session(session: Session, id_hash: str, now: datetime) -> BoardSession | None:
    row = session.get(BoardSession, id_hash)
    return row if row is not None and row.expires_at > now else None


def close_session(session: Session, id_hash: str) -> None:
    session.execute(delete(BoardSession).where(col(BoardSession.id_hash) == id_hash))


def session_holders(session: Session) -> list[str]:
    """Everyone with a session on the board, expired or not."""
    return list(session.exec(select(BoardSession.user_id).distinct()).all())


def close_sessions_of(session: Session, user_ids: list[str]) -> int:
    """Closes every session of these users; how many were closed."""
    if not user_ids:
        return 0
    result = session.exec(delete(BoardSession).where(col(BoardSession.user_id).in_(user_ids)))
    return result.rowcount or 0


# ---------------------------------------------------------------- deposits


@dataclass(frozen=True)
class DepositFilter:
    status: str | None = None
    tribe: str | None = None
    # Created on or after `since`, before `until` (UTC moments).
    since: datetime | None = None
    until: datetime | None = None


def _filtered(query: SelectOfScalar[_T], wanted: DepositFilter) -> SelectOfScalar[_T]:
    if wanted.status:
        query = query.where(Deposit.status == wanted.status)
    if wanted.tribe:
        # A deposit whose author kept its content to themselves is not listed under its tribe: that
        # would tell what they chose not to share (the chat's !depots does the same).
        query = query.where(Deposit.tribe == wanted.tribe, col(Deposit.content_shared).is_(True))
    if wanted.since:
        query = query.where(col(Deposit.created_at) >= wanted.since)
    if wanted.until:
        query = query.where(col(Deposit.created_at) < wanted.until)
    return query


def deposits_page(
    session: Session, wanted: DepositFilter, *, offset: int = 0, limit: int = 50
) -> tuple[list[Deposit], int]:
    """One page of deposits, newest first, and how many match in all."""
    total = session.exec(_filtered(select(func.count()).select_from(Deposit), wanted)).one()
    rows = session.exec(
        _filtered(select(Deposit), wanted)
        .order_by(col(Deposit.created_at).desc(), col(Deposit.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), total


def filtered_deposits(session: Session, wanted: DepositFilter) -> list[Deposit]:
    """Every matching deposit, oldest first (the CSV export)."""
    return list(
        session.exec(_filtered(select(Deposit), wanted).order_by(col(Deposit.year), col(Deposit.sequence))).all()
    )


def deposit_tribes(session: Session) -> list[str]:
    """Tribes named by shared deposits, for the filter's choices."""
    return sorted(
        t
        for t in session.exec(
            select(Deposit.tribe)
            .where(col(Deposit.tribe).is_not(None), col(Deposit.content_shared).is_(True))
            .distinct()
        ).all()
        if t
    )


def deposits_by_tribe_and_status(session: Session) -> list[tuple[str | None, str, int]]:
    """(tribe, status, count); a deposit kept confidential counts under no tribe."""
    shared = session.exec(
        select(Deposit.tribe, Deposit.status, func.count())
        .where(col(Deposit.content_shared).is_(True))
        .group_by(Deposit.tribe, Deposit.status)
    ).all()
    kept = session.exec(
        select(Deposit.status, func.count()).where(col(Deposit.content_shared).is_(False)).group_by(Deposit.status)
    ).all()
    counts: Counter[tuple[str | None, str]] = Counter()
    for tribe, status, count in shared:
        counts[(tribe, status)] += count
    for status, count in kept:
        counts[(None, status)] += count
    return [(tribe, status, count) for (tribe, status), count in counts.items()]


# ---------------------------------------------------------------- questions


def waiting_page(session: Session, *, offset: int = 0, limit: int = 50) -> tuple[list[ForwardedQuestion], int]:
    """The facilitators' queue, oldest first, one page, and its length."""
    waiting = col(ForwardedQuestion.answer).is_(None)
    total = session.exec(select(func.count()).select_from(ForwardedQuestion).where(waiting)).one()
    rows = session.exec(
        select(ForwardedQuestion).where(waiting).order_by(col(ForwardedQuestion.id)).offset(offset).limit(limit)
    ).all()
    return list(rows), total


def waiting_rank(session: Session, question_id: int) -> int | None:
    """How many waiting questions come before this one in the queue; None when it waits no more."""
    waiting = col(ForwardedQuestion.answer).is_(None)
    if session.exec(select(ForwardedQuestion.id).where(ForwardedQuestion.id == question_id, waiting)).first() is None:
        return None
    return session.exec(
        select(func.count()).select_from(ForwardedQuestion).where(waiting, col(ForwardedQuestion.id) < question_id)
    ).one()


def answered_questions(session: Session) -> list[ForwardedQuestion]:
    """The answered questions still kept ([retention] questions_days), last answered first: the board's
    history. All of them: the page filters them by words folded as the bot folds them (accents, case),
    which no portable SQL does, and the purge keeps them to a year of a community's questions."""
    return list(
        session.exec(
            select(ForwardedQuestion)
            .where(col(ForwardedQuestion.answer).is_not(None))
            .order_by(col(ForwardedQuestion.answered_at).desc(), col(ForwardedQuestion.id).desc())
        ).all()
    )


# ---------------------------------------------------------------- agenda


def named_rooms(session: Session) -> list[RoomRecord]:
    """The rooms the bot is in and knows the kind of (never a direct chat), in the configuration's
    order: the agenda names a reminder's rooms with them instead of « tous » or an id."""
    return list(
        session.exec(
            select(RoomRecord)
            .where(col(RoomRecord.kind).is_not(None), col(RoomRecord.is_direct).is_(False))
            .order_by(col(RoomRecord.recorded_order), col(RoomRecord.room_id))
        ).all()
    )


# ---------------------------------------------------------------- usage


class UsageWeek(SQLModel, table=True):
    """The usage page's weekly counts of questions, answers, forwarded questions and votes whose rows
    the retention purge deleted (storage/retention.py): numbers only, no id, no text, kept for good.

    Personal data: none (a week and numbers). How long: for good."""

    __tablename__ = "usage_week"

    # Monday 00:00 UTC.
    week: datetime = Field(sa_column=Column(UTCDateTime(), primary_key=True))
    asked: int = 0
    answered: int = 0
    forwarded: int = 0
    up: int = 0
    down: int = 0


@dataclass
class WeekUsage:
    week: datetime  # Monday 00:00 UTC
    asked: int = 0
    answered: int = 0
    abstained: int = 0
    forwarded: int = 0
    up: int = 0
    down: int = 0


def week_start(moment: datetime) -> datetime:
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def _week_of(column: Mapped[datetime], first: datetime, weeks: int) -> Case[int]:
    """The week number (0 = the oldest of the window) of a moment, as one portable CASE expression:
    every SQL dialect spells its date functions its own way, comparisons are the same everywhere."""
    bounds = [first + timedelta(weeks=i) for i in range(weeks)]
    return case(*[(column >= bound, i) for i, bound in reversed(list(enumerate(bounds)))], else_=-1)


def weekly_usage(session: Session, now: datetime, weeks: int) -> list[WeekUsage]:
    """Questions asked (answered or abstained), forwarded, and 👍/👎 per week, for the last `weeks`
    weeks, oldest first. Counted by the database, grouped by week."""
    first = week_start(now) - timedelta(weeks=weeks - 1)
    usage = [WeekUsage(first + timedelta(weeks=i)) for i in range(weeks)]
    week = _week_of(col(AnswerRecord.created_at), first, weeks)
    answered = func.sum(case((col(AnswerRecord.answered).is_(True), 1), else_=0))
    for index, asked, yes in session.exec(
        select(week, func.count(), answered).where(col(AnswerRecord.created_at) >= first).group_by(week)
    ).all():
        if 0 <= index < weeks:
            usage[index].asked, usage[index].answered, usage[index].abstained = asked, yes or 0, asked - (yes or 0)
    week = _week_of(col(ForwardedQuestion.created_at), first, weeks)
    for index, count in session.exec(
        select(week, func.count()).where(col(ForwardedQuestion.created_at) >= first).group_by(week)
    ).all():
        if 0 <= index < weeks:
            usage[index].forwarded = count
    # A person's vote on an answer is their latest reaction (storage.questions.current_votes).
    latest = (
        select(func.max(AnswerFeedback.id))
        .where(col(AnswerFeedback.created_at) >= first)
        .group_by(col(AnswerFeedback.answer_id), col(AnswerFeedback.user_id))
    )
    week = _week_of(col(AnswerFeedback.created_at), first, weeks)
    for index, vote, count in session.exec(
        select(week, AnswerFeedback.vote, func.count())
        .where(col(AnswerFeedback.id).in_(latest))
        .group_by(week, AnswerFeedback.vote)
    ).all():
        if 0 <= index < weeks:
            if vote == "up":
                usage[index].up = count
            elif vote == "down":
                usage[index].down = count
    # The weeks whose rows were purged (or partly purged) keep their counts in usage_week.
    for kept in session.exec(select(UsageWeek).where(col(UsageWeek.week) >= first)).all():
        index = (kept.week - first).days // 7
        if 0 <= index < weeks:
            week_usage = usage[index]
            week_usage.asked += kept.asked
            week_usage.answered += kept.answered
            week_usage.abstained += kept.asked - kept.answered
            week_usage.forwarded += kept.forwarded
            week_usage.up += kept.up
            week_usage.down += kept.down
    return usage
