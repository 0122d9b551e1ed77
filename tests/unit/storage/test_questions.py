"""Questions in the database: the facilitators' queue, offers still open, votes per person."""

from datetime import UTC, datetime, timedelta

from storage.questions import (
    AnswerFeedback,
    AnswerRecord,
    ForwardedQuestion,
    ForwardOffer,
    answers_given,
    current_votes,
    forwarded_questions,
    open_offer,
    waiting_questions,
    withdraw_vote,
)

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def forwarded(number: int, answer: str | None = None) -> ForwardedQuestion:
    return ForwardedQuestion(
        id=number, room_id="!r:t", asker="@ana:t", question=f"question {number}", event_id=f"$q{number}", answer=answer
    )


def test_the_queue_holds_the_unanswered_questions_oldest_first(db):
    with db.session() as session:
        session.add_all([forwarded(3), forwarded(1), forwarded(2, answer="Oui.")])
    with db.session() as session:
        assert [q.id for q in waiting_questions(session)] == [1, 3]
        assert sorted(q.id for q in forwarded_questions(session)) == [1, 2, 3]


def test_every_answer_given_counts_abstentions_included(db):
    with db.session() as session:
        session.add_all(
            [
                AnswerRecord(room_id="!r:t", asker="@ana:t", answered=True),
                AnswerRecord(room_id="!p:t", asker="@ana:t", answered=False, confidential=True),
            ]
        )
    with db.session() as session:
        assert sorted(a.answered for a in answers_given(session)) == [False, True]


def offer(
    number: int, asker: str = "@ana:t", room_id: str = "!r:t", state: str = "open", at: datetime = T0
) -> ForwardOffer:
    return ForwardOffer(
        id=number, room_id=room_id, asker=asker, question="?", event_id=f"$e{number}", state=state, created_at=at
    )


def test_the_open_offer_is_the_askers_latest_in_the_room_still_in_time(db):
    with db.session() as session:
        session.add_all(
            [offer(1), offer(2), offer(3, state="declined"), offer(4, asker="@bob:t"), offer(5, room_id="!other:t")]
        )
    with db.session() as session:
        assert open_offer(session, "!r:t", "@ana:t", since=T0 - timedelta(minutes=30)).id == 2
        assert open_offer(session, "!r:t", "@ana:t", since=T0 + timedelta(seconds=1)) is None
        assert open_offer(session, "!r:t", "@cleo:t", since=T0 - timedelta(minutes=30)) is None


def test_a_persons_vote_is_their_latest_until_they_withdraw_it(db):
    with db.session() as session:
        session.add_all(
            [
                AnswerFeedback(answer_id=1, user_id="@ana:t", vote="up", event_id="$up"),
                AnswerFeedback(answer_id=1, user_id="@ana:t", vote="down", event_id="$down"),
                AnswerFeedback(answer_id=1, user_id="@bob:t", vote="up", event_id="$bob"),
            ]
        )
    with db.session() as session:
        assert sorted((v.user_id, v.vote) for v in current_votes(session)) == [("@ana:t", "down"), ("@bob:t", "up")]
        withdraw_vote(session, "$down")
        withdraw_vote(session, "$not-a-vote")
    with db.session() as session:
        assert sorted((v.user_id, v.vote) for v in current_votes(session)) == [("@ana:t", "up"), ("@bob:t", "up")]
