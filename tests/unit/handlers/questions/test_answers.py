"""Answers from the référentiel, cited; the permanence's date from the agenda; honest abstention."""

import asyncio
from datetime import UTC, datetime

from handlers.context import CommandContext, Message, RoomInfo
from handlers.feedback_cli import build_report
from handlers.questions.answers import answer_question
from knowledge.search import SearchResponse
from tests.unit.conftest import loose_unit
from tests.unit.handlers.questions.world import OUT_OF_DOMAIN, PEERS, TRIBE
from tests.unit.stand_ins import ANA


async def test_an_answer_cites_its_section_and_is_tagged_for_votes(app):
    [answer] = await app.say(ANA, TRIBE, "!q c'est quand la permanence ?")
    assert app.tag(answer).startswith("answer:")
    text = answer.body
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


async def test_a_question_about_the_permanence_gets_its_date_and_link_from_the_agenda(make_app, clock):
    # Tuesday 1 December 2026, 11:00 in Paris: this month's permanence (10:00) is over.
    clock.now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    async with make_app(agenda=PERMANENCE) as app:
        [answer] = await app.say(ANA, TRIBE, "!q c'est quand la prochaine perm ?")
        assert (
            "Prochaine permanence : mardi 5 janvier 2027 de 10h00 à 11h30 — https://visio.example.org/permanence"
            in answer.body
        )
        assert "Source :" in answer.body  # still the référentiel's answer, cited
        # A question that does not name it gets no date.
        [other] = await app.say(ANA, TRIBE, "!q comment garder nos bénévoles motivés ?")
        assert "Prochaine permanence" not in other.body
        # In a confidential room, no answer means: ask at the permanence, which is then.
        [abstained] = await app.say(ANA, PEERS, f"!q {OUT_OF_DOMAIN}")
        assert "je ne transmets rien" in abstained.body
        assert (
            "la prochaine a lieu mardi 5 janvier 2027 de 10h00 à 11h30, https://visio.example.org/permanence"
            in abstained.body
        )


async def test_a_confidential_question_never_leaves_its_room(app):
    [abstained] = await app.say(ANA, PEERS, f"!q {OUT_OF_DOMAIN}")
    text = abstained.body
    assert "confidentiel" in text and "permanence" in text and "transmette" not in text
    await app.say(ANA, PEERS, "oui")
    assert app.sent and all(sent.room_id == PEERS for sent in app.sent)
    # Nor does it reach the feedback report: its text was never stored.
    await app.say(ANA, PEERS, "!q comment garder nos bénévoles motivés ?")
    report = build_report(app.db)
    assert report["questions"] == 2 and report["disliked"] == []
    assert all(OUT_OF_DOMAIN not in str(v) for v in report.values())


async def test_a_question_command_without_a_question_explains_itself(app):
    [explained] = await app.say(ANA, TRIBE, "!q")
    assert "Posez votre question" in explained.body


async def test_with_search_disabled_questions_get_a_polite_answer(make_app):
    async with make_app(embedder=None, data_dir=None) as app:
        assert app.services.search is None
        [answer] = await app.say(ANA, TRIBE, "!q c'est quand la permanence ?")
        assert "n'est pas disponible" in answer.body


async def test_greetings_thanks_and_emoji_get_a_friendly_word_not_a_search_or_an_offer(app):
    for said, reads in [
        ("bonjour", "Bonjour !"),
        ("Merci beaucoup !", "Avec plaisir"),
        ("bonne journée", "À bientôt"),
        ("🎉🎉", "pas trouvé de question"),
    ]:
        [reply] = await app.say(ANA, TRIBE, said, mention=True)
        text = reply.body
        assert reads in text and "!aide" in text
        assert app.tag(reply) == "" and "transmette" not in text and "Source" not in text
    # Manners with a question in them are a question.
    [reply] = await app.say(ANA, TRIBE, "bonjour, c'est quand la permanence ?", mention=True)
    assert app.tag(reply).startswith("answer:") and "Source :" in reply.body
    # Nothing was recorded as a question asked.
    assert build_report(app.db)["questions"] == 1


def source(text: str) -> str:
    """The section an answer cites (or nothing, for an abstention)."""
    return text.split("Source :")[1].split("\n")[0] if "Source :" in text else ""


FOLLOW_UP = "et elle dure combien de temps ?"


async def test_a_follow_up_is_read_with_the_question_it_follows(app):
    [alone] = await app.say(ANA, TRIBE, FOLLOW_UP, mention=True)
    [first] = await app.say(ANA, TRIBE, "!q c'est quand la permanence ?")
    assert "Répondez à ce message" in first.body  # not in a thread: a reply is where a follow-up goes
    [in_reply] = await app.say(ANA, TRIBE, FOLLOW_UP, reply_to=first.event_id)
    assert app.tag(in_reply).startswith("answer:") and "permanence" in source(in_reply.body).lower()
    assert source(in_reply.body) != source(alone.body)
    # In a thread, the thread's earlier answer gives the question; the answer says to go on in the thread.
    assert await app.say(ANA, TRIBE, "Une question sur la permanence") == []
    root = app.last_event_id
    [threaded] = await app.say(ANA, TRIBE, "!q c'est quand la permanence ?", thread_root=root)
    assert "Répondez dans ce fil" in threaded.body
    [in_thread] = await app.say(ANA, TRIBE, FOLLOW_UP, thread_root=root)
    assert source(in_thread.body) == source(in_reply.body)


async def test_a_follow_up_in_a_confidential_room_is_read_alone(app):
    [alone] = await app.say(ANA, PEERS, FOLLOW_UP, mention=True)
    [answer] = await app.say(ANA, PEERS, "!q c'est quand la permanence ?")
    [after] = await app.say(ANA, PEERS, FOLLOW_UP, reply_to=answer.event_id)
    assert source(after.body) == source(alone.body)  # its question was never kept, so nothing joins them


class SlowSearch:
    """Takes the time a cold model would, and knows nothing."""

    SECONDS = 0.05

    async def search(self, question, collections, work=None):
        await asyncio.sleep(self.SECONDS)
        return SearchResponse(question=question, answered=False)


async def test_the_search_timer_measures_the_search(make_services):
    services = make_services(search=SlowSearch())
    ctx = CommandContext(
        message=Message(room=RoomInfo("!r:h", "tribe", "Nord"), event_id="$q", sender=ANA, body="!q agora"),
        services=services,
        is_facilitator=False,
        work=loose_unit(services.units.db),
        command="q",
        args="agora",
    )
    await answer_question(ctx, ctx.args, None)
    timings = services.metrics.registry
    assert timings.get_sample_value("manufacture_search_seconds_count") == 1
    assert timings.get_sample_value("manufacture_search_seconds_sum") >= SlowSearch.SECONDS
