"""Votes on the bot's answers: one per person (their latest 👍/👎), withdrawn when the reaction is redacted."""

import itertools

import pytest

from bot.dispatcher import Dispatcher
from handlers import questions
from handlers.context import Reaction
from handlers.feedback_cli import build_report
from handlers.questions.votes import vote_of
from handlers.registry import CommandRegistry
from storage.messages import SentMessage
from storage.questions import AnswerRecord, current_votes
from tests.unit.handlers.questions.harness import ANA, FANNY, TRIBE


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


class Votes:
    """The real dispatcher and question handlers over a database holding two tagged answers."""

    def __init__(self, services):
        self.db = services.db
        with self.db.session() as session:
            for number in (1, 2):
                session.add(
                    AnswerRecord(
                        id=number,
                        room_id=TRIBE.room_id,
                        asker=ANA,
                        question=f"question {number}",
                        answered=True,
                        heading=f"Section {number}",
                    )
                )
                session.add(
                    SentMessage(
                        event_id=f"$answer{number}", room_id=TRIBE.room_id, tag=f"answer:{number}", addressee=ANA
                    )
                )

        async def send(replies, trigger, work=None):
            assert replies == [], "a vote is silent"
            return []

        registry = CommandRegistry()
        questions.register(registry)
        self.dispatcher = Dispatcher(services, registry, send, is_facilitator=lambda user: False)
        self._ids = itertools.count()

    async def react(self, sender: str, key: str, answer: int = 1) -> str:
        event_id = f"$reaction{next(self._ids)}"
        await self.dispatcher.on_reaction(TRIBE, event_id, sender, key, f"$answer{answer}")
        return event_id

    async def redact(self, sender: str, event_id: str) -> None:
        await self.dispatcher.on_redaction(TRIBE, f"$redaction{next(self._ids)}", sender, event_id)

    def totals(self) -> tuple[int, int]:
        report = build_report(self.db)
        return report["up"], report["down"]

    def votes_on(self, answer: int) -> dict[str, str]:
        with self.db.session() as session:
            return {v.user_id: v.vote for v in current_votes(session) if v.answer_id == answer}


@pytest.fixture
def votes(make_services):
    return Votes(make_services())


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
    await votes.redact("@moderator:t", first)
    assert votes.votes_on(1) == {FANNY: "up"}
    assert votes.totals() == (1, 0)
    # Redacting something that was no vote (a message, a 🎉) changes nothing.
    await votes.redact(ANA, "$some-message")
    assert votes.totals() == (1, 0)


async def test_follow_up_in_the_answer_thread_and_votes(bot):
    [(answer, _)], _question_event = await bot.say(ANA, "!q à quoi sert une tribu ?")
    # The sender records the tagged answer; here we stand in for it with the same table.
    with bot.db.session() as session:
        session.add(
            SentMessage(event_id="$answer", room_id=TRIBE.room_id, tag=answer.tag, thread_root=None, addressee=ANA)
        )
    # In the answer's thread a message is addressed to the bot (bot/addressing.py decides that).
    [(follow, _)], _ = await bot.say(ANA, "et comment en rejoindre une ?", thread_root="$answer", addressed=True)
    assert follow.tag.startswith("answer:")
    assert (await bot.say(ANA, "merci !", thread_root="$other", addressed=False))[0] == []

    for key, user in (("👍", ANA), ("👎", FANNY), ("🎉", ANA)):
        async with bot.services.units.open() as work:
            reaction = Reaction(
                room=TRIBE,
                event_id=f"$r{key}",
                sender=user,
                key=key,
                target_event_id="$answer",
                target_tag=answer.tag,
                target_addressee=ANA,
                work=work,
            )
            for handler in bot.registry.reaction_handlers(answer.tag):
                await handler(reaction, bot.services)
    report = build_report(bot.db)
    assert (report["up"], report["down"]) == (1, 1)
    assert report["disliked"][0]["question"] == "à quoi sert une tribu ?"
