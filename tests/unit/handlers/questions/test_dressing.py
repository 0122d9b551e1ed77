"""What a member wraps around a question changes nothing of the answer (knowledge.dressing, read at the
start of handlers/questions/answers.py): the same section is cited whatever the dressing, an off-topic
question stays declined whatever is pasted around it, and the question is recorded as typed."""

from sqlmodel import col, select

from storage.questions import AnswerRecord
from tests.unit.handlers.questions.world import TRIBE
from tests.unit.running_app import RunningApp
from tests.unit.stand_ins import ANA

DRESSINGS = [
    "Bonjour, {q} Merci !",
    "Salut Bot, {q}",
    "@bot:h {q} merci d'avance",
    "{q} (n°4)",
    "https://fabrique.example.org/referentiel?page=2 {q}",
    "<img src=x> [cliquez](https://x.y) {q}",
    "**{q}**",
    "🙂 {q} 🙏",
    "{q}??!!",
]


async def ask(app: RunningApp, room: str, text: str) -> AnswerRecord:
    """The record of `text` said to the bot in `room` (its mention in the event, as clients add it)."""
    await app.say(ANA, room, text, mention=True)
    with app.db.session() as session:
        record = session.exec(select(AnswerRecord).order_by(col(AnswerRecord.id).desc())).first()
    assert record is not None, text
    return record


async def test_the_same_question_dressed_each_way_cites_the_same_section(app):
    # A tribe's room: a direct chat is confidential, its questions are not recorded.
    room = TRIBE
    for question, section in (("c'est quoi une tribu ?", "Les tribus"), ("c quoi une balize ?", None)):
        bare = await ask(app, room, question)
        assert bare.answered and bare.heading == (section or bare.heading)
        for dressing in DRESSINGS:
            text = dressing.format(q=question)
            record = await ask(app, room, text)
            assert (record.answered, record.heading) == (True, bare.heading), text
            # As typed, less the leading call to the bot, which the bot's addressing takes off first.
            assert record.question == text.removeprefix("@bot:h ")


async def test_an_off_topic_question_stays_declined_whatever_is_pasted_around_it(app):
    room = TRIBE
    question = "combien coûte un abonnement au club de ski ?"
    for dressing in ["{q}", *DRESSINGS]:
        record = await ask(app, room, dressing.format(q=question))
        assert not record.answered, dressing


async def test_a_typo_in_a_term_of_the_referentiel_finds_the_term_s_section(app):
    room = TRIBE
    assert (await ask(app, room, "c'est quoi une balise ?")).heading == (
        await ask(app, room, "c quoi une balize")
    ).heading


async def test_manners_alone_get_a_friendly_word_and_no_search(app):
    for said in ["Salut Bot !", "🙂 (n°4)", "<img src=x> [cliquez](https://x.y)"]:
        [reply] = await app.say(ANA, TRIBE, said, mention=True)
        assert app.tag(reply) == "" and "Source" not in reply.body and "transmette" not in reply.body, said
    with app.db.session() as session:
        assert session.exec(select(AnswerRecord)).first() is None  # no question was asked


async def test_off_topic_questions_near_the_threshold_stay_declined(app):
    # Each scored above the threshold once: a city read as a typo of « pairs » (a heading term), or no
    # word the référentiel uses at all (knowledge.calibration's margin).
    room = TRIBE
    for question in (
        "Quels vols partent de Paris ce soir ?",
        "Comment remplir un chèque ?",
        "Comment remplir ma feuille de soins ?",
    ):
        for dressing in ("{q}", "Bonjour, {q} Merci !"):
            record = await ask(app, room, dressing.format(q=question))
            assert not record.answered, dressing.format(q=question)
