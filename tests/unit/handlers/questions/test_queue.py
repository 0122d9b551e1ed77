"""The facilitators' queue: !questions, !repondre, where the answer goes, and the answer that feeds the FAQ."""

import dataclasses

import pytest

from handlers.delivery import NotDelivered
from handlers.questions.queue import answer_question
from handlers.replies import Post, Reply, UserError
from storage.questions import ForwardedQuestion
from tests.unit.handlers.questions.harness import ANA, ANA_DIRECT, FACILITATORS, FANNY, OUT_OF_DOMAIN, TRIBE

RECIPE = "Mélangez farine, œufs et lait, puis laissez reposer une heure."
IN_ROOM = "dans le salon « Alimentation », en réponse à la question : tous les membres du salon la lisent"
IN_PRIVATE = "en privé, dans la conversation privée de @ana:t avec le bot : personne d'autre ne la lit"


async def forward(bot, room=TRIBE) -> str:
    """Ana asks what the référentiel does not know, and says yes to forwarding it; the question's event id."""
    _, question_event = await bot.say(ANA, f"!question {OUT_OF_DOMAIN}", room=room)
    await bot.say(ANA, "oui", room=room, addressed=True, in_reply_to=bot.last_id())
    return question_event


async def test_out_of_domain_abstains_offers_to_forward_and_the_loop_feeds_the_faq(bot):
    [(_, text)], question_event = await bot.say(ANA, f"!question {OUT_OF_DOMAIN}")
    assert "pas trouvé de réponse fiable" in text and "transmette" in text
    # Before saying yes, the asker knows that an answer in the room is read by the room.
    assert "où les membres du salon liront aussi sa réponse, ou bien en privé" in text
    replies, _ = await bot.say(ANA, "Oui", addressed=True, in_reply_to=bot.last_id())
    [(_to_asker, confirm), (to_fac, notice)] = replies
    assert "transmis" in confirm
    # The asker is told where the answer will come, including that it may come privately.
    assert "arrivera ici, en réponse à votre question" in confirm and "en privé" in confirm
    assert to_fac.room_id == FACILITATORS.room_id and OUT_OF_DOMAIN in notice and "n°1" in notice

    [(_, queue)], _ = await bot.say(FANNY, "!questions", room=FACILITATORS)
    assert OUT_OF_DOMAIN in queue and f"Réponse {IN_ROOM}." in queue
    [(back, back_text), (ack, ack_text)], _ = await bot.say(FANNY, f"!repondre 1 --faq {RECIPE}", room=FACILITATORS)
    assert back in bot.posted  # posted by the handler itself, before it acknowledged anything
    assert back.to == Post(TRIBE.room_id, reply_to=question_event) and back.mentions == (ANA,)
    assert RECIPE in back_text
    assert ack.to != back.to and f"publiée {IN_ROOM}." in ack_text and "ajoutée à la FAQ" in ack_text
    [(_, queue)], _ = await bot.say(FANNY, "!questions", room=FACILITATORS)
    assert "Aucune question en attente" in queue

    # From now on the FAQ answers the same question, in other words too.
    [(reply, text)], _ = await bot.say(ANA, "!q comment on fait la pâte à crêpes ?")
    assert reply.tag.startswith("answer:") and "farine" in text and "FAQ" in text
    assert "Voir aussi" not in text  # no unrelated référentiel section under a cooking answer


async def test_usage_errors_are_explained(bot):
    [(_, text)], _ = await bot.say(FANNY, "!repondre trois", room=FACILITATORS)
    assert "Utilisation" in text and "--prive" in text
    [(_, text)], _ = await bot.say(FANNY, "!repondre 42 réponse", room=FACILITATORS)
    assert "pas de question n°42" in text
    [(_, text)], _ = await bot.say(FANNY, "!repondre 99999999999999999999 réponse", room=FACILITATORS)
    assert "pas de question n°99999999999999999999" in text
    await forward(bot)
    [(_, text)], _ = await bot.say(FANNY, "!repondre 1 --partout Bonjour", room=FACILITATORS)
    assert "Je ne connais pas l'option « --partout »" in text and bot.posted == []
    [(_, text)], _ = await bot.say(FANNY, "!repondre 1 --faq --prive", room=FACILITATORS)
    assert "La réponse est vide" in text and bot.posted == []


async def test_an_answer_stays_out_of_the_faq_unless_the_facilitator_asks(bot):
    question_event = await forward(bot)
    [(back, back_text), (_, ack_text)], _ = await bot.say(FANNY, f"!repondre 1 {RECIPE}", room=FACILITATORS)
    assert back.to == Post(TRIBE.room_id, reply_to=question_event) and RECIPE in back_text
    assert "Elle n'est pas ajoutée à la FAQ" in ack_text
    [(_reply, text)], _ = await bot.say(ANA, "!q comment on fait la pâte à crêpes ?")
    assert "farine" not in text


@pytest.mark.parametrize("options", ["--prive", "--privé", "--prive --faq", "--faq --privé"])
async def test_an_answer_in_private_goes_to_the_askers_direct_chat_only(bot, options):
    await forward(bot)
    [(back, back_text), (_, ack_text)], _ = await bot.say(FANNY, f"!repondre 1 {options} {RECIPE}", room=FACILITATORS)
    assert back.to == Post("!dm-ana:t") and back.mentions == (ANA,) and RECIPE in back_text
    assert not any(r.room_id == TRIBE.room_id for r in bot.posted)
    assert f"envoyée {IN_PRIVATE}." in ack_text
    assert ("Elle est aussi ajoutée à la FAQ" in ack_text) == ("--faq" in options)
    assert options.split()[0] not in back_text  # the options are no part of the answer


async def test_a_question_asked_in_a_direct_chat_is_answered_there(bot):
    question_event = await forward(bot, room=ANA_DIRECT)
    [(_, queue)], _ = await bot.say(FANNY, "!questions", room=FACILITATORS)
    assert "@ana:t en message privé" in queue and "où la question a été posée : personne d'autre ne la lit" in queue
    [(back, _), (_, ack_text)], _ = await bot.say(FANNY, f"!repondre 1 {RECIPE}", room=FACILITATORS)
    assert back.to == Post(ANA_DIRECT.room_id, reply_to=question_event)
    assert "en privé, dans la conversation privée de @ana:t avec le bot, où la question a été posée" in ack_text


async def test_a_question_asked_in_private_never_enters_the_faq(bot):
    await forward(bot, room=ANA_DIRECT)
    [(_, text)], _ = await bot.say(FANNY, f"!repondre 1 --faq {RECIPE}", room=FACILITATORS)
    assert "a été posée en privé" in text and "rien n'a été envoyé" in text
    assert bot.posted == []
    [(_reply, answer)], _ = await bot.say(ANA, "!q comment on fait la pâte à crêpes ?")
    assert "farine" not in answer  # nothing of it reached the FAQ


async def test_an_answer_the_homeserver_refuses_changes_nothing(bot):
    await forward(bot)
    bot.refuse = True
    [(_, text)], _ = await bot.say(FANNY, f"!repondre 1 --faq {RECIPE}", room=FACILITATORS)
    assert "n'a pas pu être envoyée" in text and "Rien n'a changé" in text and "la FAQ est inchangée" in text
    assert "Réessayez dans un moment" in text
    bot.refuse = False
    [(_, queue)], _ = await bot.say(FANNY, "!questions", room=FACILITATORS)
    assert OUT_OF_DOMAIN in queue  # still waiting
    [(_reply, text)], _ = await bot.say(ANA, "!q comment on fait la pâte à crêpes ?")
    assert "farine" not in text  # and not in the FAQ


async def test_an_answer_longer_than_a_message_is_refused_before_anything(bot):
    await forward(bot)
    with pytest.raises(UserError, match="La réponse est trop longue : 5\u202f000 caractères"):
        await answer_question(bot.services, FANNY, 1, "x" * 5000, to_faq=True)
    assert bot.posted == []
    [(_, queue)], _ = await bot.say(FANNY, "!questions", room=FACILITATORS)
    assert OUT_OF_DOMAIN in queue


async def test_two_facilitators_answering_at_once_are_told(bot):
    await forward(bot)
    post = bot.services.post

    async def meanwhile(reply):
        # Another facilitator's answer is recorded while this one is on its way.
        with bot.db.session() as session:
            question = session.get(ForwardedQuestion, 1)
            question.answer, question.answered_by = "Autre réponse", "@paul:t"
            session.add(question)
        return await post(reply)

    ack = await answer_question(dataclasses.replace(bot.services, post=meanwhile), FANNY, 1, RECIPE)
    assert "@paul:t y a répondu au même moment" in bot.renderer.render(ack).plain
    with bot.db.session() as session:
        assert session.get(ForwardedQuestion, 1).answer == "Autre réponse"


async def test_a_refusal_is_not_delivered_an_error(bot):
    await forward(bot)
    bot.refuse = True
    with pytest.raises(NotDelivered):
        await answer_question(bot.services, FANNY, 1, RECIPE)


async def test_help_and_the_forwarded_notice_say_where_the_answer_goes(bot):
    command = bot.registry.find("repondre")
    help_text = bot.renderer.render(
        Reply(template="help/command.md.j2", context={"prefix": "!", "command": command})
    ).plain
    assert "!repondre <n°> [--prive] [--faq] <réponse>" in help_text
    assert "tous les membres du salon la lisent" in help_text and "--prive" in help_text and "--faq" in help_text
    assert "à elle seule" not in help_text
    await bot.say(ANA, f"!question {OUT_OF_DOMAIN}")
    [_, (_, notice)], _ = await bot.say(ANA, "oui", addressed=True, in_reply_to=bot.last_id())
    assert "!repondre 1 --faq <votre réponse>" in notice and "!repondre 1 --prive <votre réponse>" in notice
    assert "tous les membres du salon liront la réponse" in notice


async def test_the_notice_of_a_question_asked_privately_says_it_is_answered_privately(bot):
    [(_, offer)], _ = await bot.say(ANA, f"!question {OUT_OF_DOMAIN}", room=ANA_DIRECT)
    assert "L'équipe vous répondra ici, dans notre conversation privée." in offer
    [(_, told), (_, notice)], _ = await bot.say(ANA, "oui", room=ANA_DIRECT, addressed=True, in_reply_to=bot.last_id())
    assert "arrivera ici, dans notre conversation privée" in told
    assert "en message privé" in notice and "en privé, dans la conversation où elle a été posée" in notice
    assert "--prive" not in notice and "tous les membres" not in notice
