"""The board's queries: nonces used once, sessions that expire, deposits filtered and paged, the
queue paged, and usage counted per week (portable SQL: the same run on PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.board import (
    DepositFilter,
    deposit_tribes,
    deposits_by_tribe_and_status,
    deposits_page,
    filtered_deposits,
    live_session,
    open_session,
    use_link_nonce,
    waiting_page,
    weekly_usage,
)
from storage.questions import AnswerFeedback, AnswerRecord, ForwardedQuestion
from tests.unit.bot.board.conftest import make_deposit

NOW = datetime(2027, 3, 10, 12, tzinfo=UTC)  # a Wednesday


def test_a_nonce_is_used_once(db):
    with db.session() as session:
        assert use_link_nonce(session, "n1", "@a:x", NOW)
    with db.session() as session:
        assert not use_link_nonce(session, "n1", "@a:x", NOW)
        assert use_link_nonce(session, "n2", "@a:x", NOW)


def test_a_session_lives_until_it_expires(db):
    with db.session() as session:
        open_session(session, "h", "@a:x", "csrf", NOW, timedelta(hours=10))
    with db.session() as session:
        assert live_session(session, "h", NOW + timedelta(hours=9)).csrf_token == "csrf"
        assert live_session(session, "h", NOW + timedelta(hours=10)) is None
        # Opening another one clears the expired.
        open_session(session, "h2", "@b:x", "c2", NOW + timedelta(hours=11), timedelta(hours=10))
    with db.session() as session:
        assert live_session(session, "h", NOW) is None


def test_deposits_filtered_paged_newest_first(db):
    with db.session() as session:
        for n in range(1, 8):
            session.add(
                make_deposit(
                    n,
                    tribe="Énergie" if n % 2 else "Mobilité",
                    status="clos" if n > 5 else "nouveau",
                    created=NOW - timedelta(days=n),
                    shared=n != 3,
                )
            )
    with db.session() as session:
        rows, total = deposits_page(session, DepositFilter(), offset=0, limit=3)
        assert total == 7 and [d.sequence for d in rows] == [1, 2, 3]
        rows, _ = deposits_page(session, DepositFilter(), offset=6, limit=3)
        assert [d.sequence for d in rows] == [7]
        # n° 3 kept its content: not listed under its tribe.
        assert [d.sequence for d in filtered_deposits(session, DepositFilter(tribe="Énergie"))] == [1, 5, 7]
        assert deposits_page(session, DepositFilter(status="clos"))[1] == 2
        window = DepositFilter(since=NOW - timedelta(days=4, hours=1), until=NOW - timedelta(days=1, hours=1))
        assert [d.sequence for d in filtered_deposits(session, window)] == [2, 3, 4]
        assert deposit_tribes(session) == sorted(["Mobilité", "Énergie"])
        counts = {(t, s): c for t, s, c in deposits_by_tribe_and_status(session)}
        assert counts == {
            ("Énergie", "nouveau"): 2,
            ("Énergie", "clos"): 1,
            ("Mobilité", "nouveau"): 2,
            ("Mobilité", "clos"): 1,
            (None, "nouveau"): 1,
        }


def test_the_queue_is_paged_oldest_first(db):
    with db.session() as session:
        for n in range(5):
            session.add(
                ForwardedQuestion(
                    room_id="!r:x", asker="@a:x", question=f"q{n}", event_id=f"$e{n}", answer="oui" if n == 1 else None
                )
            )
    with db.session() as session:
        rows, total = waiting_page(session, offset=1, limit=2)
    assert total == 4 and [q.question for q in rows] == ["q2", "q3"]


def test_usage_is_counted_per_week(db):
    monday = datetime(2027, 3, 8, tzinfo=UTC)
    with db.session() as session:
        for days, answered in ((0, True), (1, False), (2, True), (-3, True), (-40, True)):
            session.add(
                AnswerRecord(room_id="!r:x", asker="@a:x", answered=answered, created_at=monday + timedelta(days=days))
            )
        session.add(
            ForwardedQuestion(
                room_id="!r:x", asker="@a:x", question="q", event_id="$e", created_at=monday + timedelta(days=1)
            )
        )
        # Two reactions by one person on one answer: only the latest counts.
        session.add(AnswerFeedback(answer_id=1, user_id="@a:x", vote="down", created_at=monday))
        session.add(AnswerFeedback(answer_id=1, user_id="@a:x", vote="up", created_at=monday + timedelta(hours=1)))
        session.add(AnswerFeedback(answer_id=2, user_id="@b:x", vote="down", created_at=monday - timedelta(days=2)))
    with db.session() as session:
        weeks = weekly_usage(session, NOW, 4)
    assert [w.week for w in weeks] == [monday - timedelta(weeks=i) for i in (3, 2, 1, 0)]
    this, last = weeks[-1], weeks[-2]
    assert (this.asked, this.answered, this.abstained, this.forwarded, this.up, this.down) == (3, 2, 1, 1, 1, 0)
    assert (last.asked, last.answered, last.down) == (1, 1, 1)
    assert sum(w.asked for w in weeks) == 4  # the one 40 days back is outside the window
