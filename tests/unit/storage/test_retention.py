"""The retention purge: each table loses exactly its rows past their period, what still serves stays
(pending events, a form in progress, a recap awaiting its ✅, a question the facilitators have not
answered, the bot's introductions), the usage page's weekly counts survive the questions, and a dry run
deletes nothing. On SQLite and PostgreSQL (the `db` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, SQLModel, func, select

from config import RetentionConfig
from storage.agenda import PENDING, SENT, FeedCache, ReminderRow
from storage.board import BoardLinkUse, BoardSession, UsageWeek, weekly_usage
from storage.deposits import DepositDraft
from storage.messages import HandledEvent, SentMessage
from storage.questions import AnswerFeedback, AnswerRecord, ForwardedQuestion, ForwardOffer
from storage.retention import Cutoffs, PurgeRun, last_purge, purge, purgeable, record_purge

NOW = datetime(2027, 6, 16, 12, tzinfo=UTC)  # a Wednesday
RETENTION = RetentionConfig(
    handled_events_days=30, sent_messages_days=90, questions_days=365, drafts_days=183, reminders_days=365
)
FEED = "https://agenda.example.org/feed.ics"


def cutoffs(now: datetime = NOW, retention: RetentionConfig = RETENTION) -> Cutoffs:
    return Cutoffs.of(
        retention,
        now,
        feed_urls=[FEED],
        link_keep=timedelta(minutes=20),
        kept_tags=["introduction"],
        recap_tag="deposit-recap",
    )


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def count(session: Session, model: type[SQLModel]) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def keys(session: Session, model: type[SQLModel], key: str) -> set:
    return {getattr(row, key) for row in session.exec(select(model)).all()}


def fill(session: Session) -> None:
    """For each table, a row just past its period (named old…) and one just within it (kept…)."""
    session.add(HandledEvent(event_id="$old", handled_at=ago(30.01), done=True))
    session.add(HandledEvent(event_id="$kept", handled_at=ago(29.99), done=True))
    # Pending: the inbox's work, however old.
    session.add(HandledEvent(event_id="$pending", handled_at=ago(400), done=False))
    session.add(SentMessage(event_id="$s-old", room_id="!r", tag="answer:1", sent_at=ago(90.01)))
    session.add(SentMessage(event_id="$s-kept", room_id="!r", tag="answer:2", sent_at=ago(89.99)))
    session.add(SentMessage(event_id="$s-intro", room_id="!r", tag="introduction", sent_at=ago(400)))
    session.add(SentMessage(event_id="$s-recap-waits", room_id="!dm", tag="deposit-recap:1", sent_at=ago(100)))
    session.add(SentMessage(event_id="$s-recap-done", room_id="!dm", tag="deposit-recap:2", sent_at=ago(100)))
    session.add(ForwardOffer(id=1, room_id="!r", asker="@a", question="q", event_id="$q", created_at=ago(90.01)))
    session.add(ForwardOffer(id=2, room_id="!r", asker="@a", question="q", event_id="$q", created_at=ago(89.99)))
    session.add(DepositDraft(id=1, room_id="!dm", user_id="@a", state="{}", status="recap", updated_at=ago(400)))
    session.add(DepositDraft(id=2, room_id="!dm", user_id="@a", state="{}", status="abandoned", updated_at=ago(184)))
    session.add(DepositDraft(id=3, room_id="!dm", user_id="@a", state="{}", status="cancelled", updated_at=ago(182)))
    session.add(DepositDraft(id=4, room_id="!dm", user_id="@a", state="{}", status="filling", updated_at=ago(400)))
    session.add(ReminderRow(id=1, occurrence_key="a", status=SENT, due_at=ago(365.01)))
    session.add(ReminderRow(id=2, occurrence_key="b", status=SENT, due_at=ago(364.99)))
    session.add(ReminderRow(id=3, occurrence_key="c", status=PENDING, due_at=ago(400)))
    session.add(BoardLinkUse(nonce="n-old", user_id="@f", used_at=NOW - timedelta(minutes=21)))
    session.add(BoardLinkUse(nonce="n-kept", user_id="@f", used_at=NOW - timedelta(minutes=19)))
    session.add(BoardSession(id_hash="h-old", user_id="@f", csrf_token="c", expires_at=NOW - timedelta(seconds=1)))
    session.add(BoardSession(id_hash="h-kept", user_id="@f", csrf_token="c", expires_at=NOW + timedelta(hours=1)))
    session.add(FeedCache(url=FEED, body="BEGIN:VCALENDAR"))
    session.add(FeedCache(url="https://removed.example.org/feed.ics", body="BEGIN:VCALENDAR"))
    session.add(PurgeRun(ran_at=ago(90.01)))
    session.add(PurgeRun(ran_at=ago(1)))
    session.add(AnswerRecord(id=1, room_id="!r", asker="@a", question="q", answered=True, created_at=ago(365.01)))
    session.add(AnswerRecord(id=2, room_id="!r", asker="@a", question="q", answered=True, created_at=ago(364.99)))
    # A vote newer than its answer still goes with it.
    session.add(AnswerFeedback(answer_id=1, user_id="@b", vote="up", created_at=ago(300)))
    session.add(AnswerFeedback(answer_id=2, user_id="@b", vote="up", created_at=ago(300)))
    forwarded: dict[str, Any] = {"room_id": "!r", "asker": "@a", "question": "q", "event_id": "$q"}
    session.add(ForwardedQuestion(id=1, **forwarded, created_at=ago(365.01), answer="a", answered_by="@f"))
    session.add(ForwardedQuestion(id=2, **forwarded, created_at=ago(364.99), answer="a", answered_by="@f"))
    # Still waiting for the facilitators: the queue's work, however old.
    session.add(ForwardedQuestion(id=3, **forwarded, created_at=ago(400)))


EXPECTED = {
    "handledevent": 1,
    "sentmessage": 2,
    "forwardoffer": 1,
    "depositdraft": 1,
    "agenda_reminder": 1,
    "board_link_use": 1,
    "board_session": 1,
    "agenda_feed_cache": 1,
    "purge_run": 1,
    "answerrecord": 1,
    "answerfeedback": 1,
    "forwardedquestion": 1,
}


def test_each_table_loses_exactly_its_rows_past_their_period(db):
    with db.session() as session:
        fill(session)
    with db.session() as session:
        deleted = purge(session, cutoffs(), limit=1)
    assert dict(deleted) == EXPECTED
    with db.session() as session:
        assert keys(session, HandledEvent, "event_id") == {"$kept", "$pending"}
        assert keys(session, SentMessage, "event_id") == {"$s-kept", "$s-intro", "$s-recap-waits"}
        assert keys(session, ForwardOffer, "id") == {2}
        assert keys(session, DepositDraft, "id") == {1, 3, 4}
        assert keys(session, ReminderRow, "id") == {2, 3}
        assert keys(session, BoardLinkUse, "nonce") == {"n-kept"}
        assert keys(session, BoardSession, "id_hash") == {"h-kept"}
        assert keys(session, FeedCache, "url") == {FEED}
        assert keys(session, AnswerRecord, "id") == {2}
        assert keys(session, AnswerFeedback, "answer_id") == {2}
        assert keys(session, ForwardedQuestion, "id") == {2, 3}
        assert count(session, PurgeRun) == 1


def test_a_dry_run_counts_what_would_go_and_deletes_nothing(db):
    with db.session() as session:
        fill(session)
    with db.session() as session:
        before = {model: count(session, model) for model in (HandledEvent, SentMessage, AnswerRecord, DepositDraft)}
        counted = purgeable(session, cutoffs())
    assert dict(counted) == EXPECTED
    with db.session() as session:
        assert {model: count(session, model) for model in before} == before


def test_a_purge_with_nothing_past_its_period_deletes_nothing(db):
    with db.session() as session:
        fill(session)
    with db.session() as session:
        deleted = purge(session, cutoffs(NOW - timedelta(days=500)))
    # Only what the moment alone decides: none of the periods has passed yet, but the removed feed's copy goes.
    assert {table: n for table, n in deleted.items() if n} == {"agenda_feed_cache": 1}


def test_the_usage_page_shows_the_same_weeks_once_the_questions_are_gone(db):
    monday = datetime(2027, 5, 3, tzinfo=UTC)
    with db.session() as session:
        for day, answered in ((0, True), (1, False), (2, True), (7, True), (20, False)):
            session.add(
                AnswerRecord(
                    room_id="!r", asker="@a", question="q", answered=answered, created_at=monday + timedelta(days=day)
                )
            )
        session.flush()
        session.add(AnswerFeedback(answer_id=1, user_id="@b", vote="down", created_at=monday))
        session.add(AnswerFeedback(answer_id=1, user_id="@b", vote="up", created_at=monday + timedelta(hours=2)))
        session.add(AnswerFeedback(answer_id=3, user_id="@c", vote="down", created_at=monday + timedelta(days=8)))
        session.add(
            ForwardedQuestion(
                room_id="!r", asker="@a", question="q", event_id="$q", created_at=monday + timedelta(days=1), answer="a"
            )
        )
    now = datetime(2027, 5, 28, tzinfo=UTC)
    with db.session() as session:
        before = weekly_usage(session, now, 6)
    # Questions are kept 7 days: all but the last week's go, mid-week included.
    short = RetentionConfig(questions_days=7, sent_messages_days=7)
    with db.session() as session:
        deleted = purge(session, cutoffs(now, short), limit=2)
    assert (deleted["answerrecord"], deleted["answerfeedback"], deleted["forwardedquestion"]) == (4, 3, 1)
    with db.session() as session:
        after = weekly_usage(session, now, 6)
        weeks = session.exec(select(UsageWeek).order_by(UsageWeek.week)).all()
        assert count(session, AnswerRecord) == 1
    assert after == before
    assert sum(w.asked for w in after) == 5 and sum(w.up for w in after) == 1 and sum(w.down for w in after) == 1
    # Counts only: a week, numbers, nobody's id.
    assert [(w.week, w.asked, w.answered, w.forwarded, w.up, w.down) for w in weeks] == [
        (monday, 3, 2, 1, 1, 0),
        (monday + timedelta(weeks=1), 1, 1, 0, 0, 1),
    ]


def test_a_second_purge_adds_to_the_weeks_already_counted(db):
    monday = datetime(2027, 5, 3, tzinfo=UTC)
    with db.session() as session:
        session.add(AnswerRecord(room_id="!r", asker="@a", answered=True, created_at=monday))
    with db.session() as session:
        purge(session, cutoffs(monday + timedelta(days=8), RetentionConfig(questions_days=7)))
    with db.session() as session:
        session.add(AnswerRecord(room_id="!r", asker="@a", answered=False, created_at=monday + timedelta(days=3)))
    with db.session() as session:
        purge(session, cutoffs(monday + timedelta(days=11), RetentionConfig(questions_days=7)))
    with db.session() as session:
        week = session.get(UsageWeek, monday)
        assert (week.asked, week.answered) == (2, 1)


def test_the_last_purge_is_read_back(db):
    with db.session() as session:
        assert last_purge(session) is None
        record_purge(session, ago(2), 10)
        record_purge(session, ago(1), 3)
    with db.session() as session:
        assert last_purge(session) == ago(1)


def test_every_table_says_what_personal_data_it_keeps_why_and_how_long():
    import storage.models  # noqa: F401  (every table registered)

    models = {
        mapper.class_
        for mapper in SQLModel._sa_registry.mappers
        if hasattr(mapper.class_, "__table__") and mapper.class_.__module__.startswith("storage.")
    }
    # The bot's every table, the one added later too.
    assert {model.__table__.name for model in models} >= {"handledevent", "deposit", "usage_week", "purge_run"}
    assert len(models) == 20
    for model in models:
        doc = " ".join((model.__doc__ or "").split())
        assert "Personal data:" in doc and "How long:" in doc, f"{model.__name__} does not say what it keeps"
