"""The facilitators' queue: !questions, !repondre, where the answer goes, and the answer that feeds the FAQ."""

import dataclasses

import pytest

from bot.devtools.fake_homeserver import Refusal
from bot.relations import Relations
from handlers.delivery import NotDelivered
from handlers.questions.queue import answer_question
from handlers.replies import UserError
from storage.questions import ForwardedQuestion
from tests.unit.handlers.questions.world import FACILITATORS, OUT_OF_DOMAIN, TRIBE
from tests.unit.running_app import RunningApp
from tests.unit.stand_ins import ANA, FANNY

RECIPE = "Mélangez farine, œufs et lait, puis laissez reposer une heure."
IN_ROOM = "dans le salon « Alimentation », en réponse à la question : tous les membres du salon la lisent"
IN_PRIVATE = "en privé, dans la conversation privée de @ana:h avec le bot : personne d'autre ne la lit"


async def forward(app: RunningApp, room: str = TRIBE) -> str:
    """Ana asks what the référentiel does not know, and says yes to forwarding it; the question's event id."""
    [offer] = await app.say(ANA, room, f"!question {OUT_OF_DOMAIN}")
    question_event = app.last_event_id
    await app.say(ANA, room, "oui", reply_to=offer.event_id)
    return question_event


async def test_out_of_domain_abstains_offers_to_forward_and_the_loop_feeds_the_faq(app):
    [offer] = await app.say(ANA, TRIBE, f"!question {OUT_OF_DOMAIN}")
    question_event = app.last_event_id
    text = offer.body
    assert "pas trouvé de réponse fiable" in text and "transmette" in text
    # Before saying yes, the asker knows that an answer in the room is read by the room.
    assert "où les membres du salon liront aussi sa réponse, ou bien en privé" in text
    [to_asker, to_fac] = await app.say(ANA, TRIBE, "Oui", reply_to=offer.event_id)
    confirm, notice = to_asker.body, to_fac.body
    assert "transmis" in confirm
    # The asker is told where the answer will come, including that it may come privately.
    assert "arrivera ici, en réponse à votre question" in confirm and "en privé" in confirm
    assert to_fac.room_id == FACILITATORS and OUT_OF_DOMAIN in notice and "n°1" in notice

    [queue] = await app.say(FANNY, FACILITATORS, "!questions")
    assert OUT_OF_DOMAIN in queue.body and f"Réponse {IN_ROOM}." in queue.body
    [back, ack] = await app.say(FANNY, FACILITATORS, f"!repondre 1 --faq {RECIPE}")
    command = app.last_event_id
    # Posted by the handler itself (a reply to the question, not to the command), before the
    # dispatcher's acknowledgement, which replies to the command.
    assert back.relations.in_reply_to != command and ack.relations.in_reply_to == command
    assert back.room_id == TRIBE and back.relations == Relations(thread_root=None, in_reply_to=question_event)
    assert back.mentions == [ANA] and RECIPE in back.body
    assert ack.room_id == FACILITATORS and f"publiée {IN_ROOM}." in ack.body and "ajoutée à la FAQ" in ack.body
    [queue] = await app.say(FANNY, FACILITATORS, "!questions")
    assert "Aucune question en attente" in queue.body

    # From now on the FAQ answers the same question, in other words too.
    [answer] = await app.say(ANA, TRIBE, "!q comment on fait la pâte à crêpes ?")
    assert app.tag(answer).startswith("answer:") and "farine" in answer.body and "FAQ" in answer.body
    assert "Voir aussi" not in answer.body  # no unrelated référentiel section under a cooking answer


async def test_usage_errors_are_explained(app):
    [error] = await app.say(FANNY, FACILITATORS, "!repondre trois")
    assert "Utilisation" in error.body and "--prive" in error.body
    [error] = await app.say(FANNY, FACILITATORS, "!repondre 42 réponse")
    assert "pas de question n°42" in error.body
    [error] = await app.say(FANNY, FACILITATORS, "!repondre 99999999999999999999 réponse")
    assert "pas de question n°99999999999999999999" in error.body
    await forward(app)
    # Only the explanation, in the facilitators' room: nothing was posted to Ana.
    [error] = await app.say(FANNY, FACILITATORS, "!repondre 1 --partout Bonjour")
    assert "Je ne connais pas l'option « --partout »" in error.body and error.room_id == FACILITATORS
    [error] = await app.say(FANNY, FACILITATORS, "!repondre 1 --faq --prive")
    assert "La réponse est vide" in error.body and error.room_id == FACILITATORS


async def test_an_answer_stays_out_of_the_faq_unless_the_facilitator_asks(app):
    question_event = await forward(app)
    [back, ack] = await app.say(FANNY, FACILITATORS, f"!repondre 1 {RECIPE}")
    assert back.room_id == TRIBE and back.relations.in_reply_to == question_event and RECIPE in back.body
    assert "Elle n'est pas ajoutée à la FAQ" in ack.body
    [answer] = await app.say(ANA, TRIBE, "!q comment on fait la pâte à crêpes ?")
    assert "farine" not in answer.body


@pytest.mark.parametrize("options", ["--prive", "--privé", "--prive --faq", "--faq --privé"])
async def test_an_answer_in_private_goes_to_the_askers_direct_chat_only(app, options):
    direct = await app.direct_chat(ANA)
    await forward(app)
    [back, ack] = await app.say(FANNY, FACILITATORS, f"!repondre 1 {options} {RECIPE}")
    assert back.room_id == direct and back.relations == Relations(thread_root=None, in_reply_to=None)
    assert back.mentions == [ANA] and RECIPE in back.body
    assert ack.room_id == FACILITATORS and f"envoyée {IN_PRIVATE}." in ack.body
    assert ("Elle est aussi ajoutée à la FAQ" in ack.body) == ("--faq" in options)
    assert options.split()[0] not in back.body  # the options are no part of the answer


async def test_a_question_asked_in_a_direct_chat_is_answered_there(app):
    direct = await app.direct_chat(ANA)
    question_event = await forward(app, room=direct)
    [queue] = await app.say(FANNY, FACILITATORS, "!questions")
    assert "@ana:h en message privé" in queue.body
    assert "où la question a été posée : personne d'autre ne la lit" in queue.body
    [back, ack] = await app.say(FANNY, FACILITATORS, f"!repondre 1 {RECIPE}")
    assert back.room_id == direct and back.relations.in_reply_to == question_event
    assert "en privé, dans la conversation privée de @ana:h avec le bot, où la question a été posée" in ack.body


async def test_a_question_asked_in_private_never_enters_the_faq(app):
    await forward(app, room=await app.direct_chat(ANA))
    [refused] = await app.say(FANNY, FACILITATORS, f"!repondre 1 --faq {RECIPE}")
    assert "a été posée en privé" in refused.body and "rien n'a été envoyé" in refused.body
    assert refused.room_id == FACILITATORS
    [answer] = await app.say(ANA, TRIBE, "!q comment on fait la pâte à crêpes ?")
    assert "farine" not in answer.body  # nothing of it reached the FAQ


async def test_an_answer_the_homeserver_refuses_changes_nothing(app):
    await forward(app)
    # The answer to Ana is refused; the explanation to Fanny goes through.
    app.homeserver.refuse("send", Refusal(times=1))
    [error] = await app.say(FANNY, FACILITATORS, f"!repondre 1 --faq {RECIPE}")
    assert error.room_id == FACILITATORS
    assert "n'a pas pu être envoyée" in error.body and "Rien n'a changé" in error.body
    assert "la FAQ est inchangée" in error.body and "Réessayez dans un moment" in error.body
    [queue] = await app.say(FANNY, FACILITATORS, "!questions")
    assert OUT_OF_DOMAIN in queue.body  # still waiting
    [answer] = await app.say(ANA, TRIBE, "!q comment on fait la pâte à crêpes ?")
    assert "farine" not in answer.body  # and not in the FAQ


async def test_an_answer_longer_than_a_message_is_refused_before_anything(app):
    await forward(app)
    before = len(app.sent)
    with pytest.raises(UserError, match="La réponse est trop longue : 5\u202f000 caractères"):
        await answer_question(app.services, FANNY, 1, "x" * 5000, to_faq=True)
    assert len(app.sent) == before
    [queue] = await app.say(FANNY, FACILITATORS, "!questions")
    assert OUT_OF_DOMAIN in queue.body


async def test_two_facilitators_answering_at_once_are_told(app):
    await forward(app)
    post = app.services.post

    async def meanwhile(reply):
        # Another facilitator's answer is recorded while this one is on its way.
        with app.db.session() as session:
            question = session.get(ForwardedQuestion, 1)
            question.answer, question.answered_by = "Autre réponse", "@paul:h"
            session.add(question)
        return await post(reply)

    ack = await answer_question(dataclasses.replace(app.services, post=meanwhile), FANNY, 1, RECIPE)
    assert "@paul:h y a répondu au même moment" in app.app.sender.renderer.render(ack).plain
    with app.db.session() as session:
        assert session.get(ForwardedQuestion, 1).answer == "Autre réponse"


async def test_a_refusal_is_not_delivered_an_error(app):
    await forward(app)
    app.homeserver.refuse("send")
    with pytest.raises(NotDelivered):
        await answer_question(app.services, FANNY, 1, RECIPE)


async def test_help_and_the_forwarded_notice_say_where_the_answer_goes(app):
    [help_text] = await app.say(FANNY, FACILITATORS, "!aide repondre")
    assert "!repondre <n°> [--prive] [--faq] <réponse>" in help_text.body
    assert "tous les membres du salon la lisent" in help_text.body
    assert "--prive" in help_text.body and "--faq" in help_text.body
    assert "à elle seule" not in help_text.body
    [offer] = await app.say(ANA, TRIBE, f"!question {OUT_OF_DOMAIN}")
    [_, notice] = await app.say(ANA, TRIBE, "oui", reply_to=offer.event_id)
    assert "!repondre 1 --faq <votre réponse>" in notice.body and "!repondre 1 --prive <votre réponse>" in notice.body
    assert "tous les membres du salon liront la réponse" in notice.body


async def test_the_notice_of_a_question_asked_privately_says_it_is_answered_privately(app):
    direct = await app.direct_chat(ANA)
    [offer] = await app.say(ANA, direct, f"!question {OUT_OF_DOMAIN}")
    assert "L'équipe vous répondra ici, dans notre conversation privée." in offer.body
    [told, notice] = await app.say(ANA, direct, "oui", reply_to=offer.event_id)
    assert "arrivera ici, dans notre conversation privée" in told.body
    assert "en message privé" in notice.body and "en privé, dans la conversation où elle a été posée" in notice.body
    assert "--prive" not in notice.body and "tous les membres" not in notice.body
