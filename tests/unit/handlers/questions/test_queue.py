"""The facilitators' queue: !questions, !repondre, and the answer that feeds the FAQ."""
from tests.unit.handlers.questions.harness import ANA, FACILITATORS, FANNY, OUT_OF_DOMAIN, TRIBE
from handlers.replies import Post, Reply


async def test_out_of_domain_abstains_offers_to_forward_and_the_loop_feeds_the_faq(bot):
    [(_, text)], question_event = await bot.say(ANA, f"!question {OUT_OF_DOMAIN}")
    assert "pas trouvé de réponse fiable" in text and "transmette" in text
    replies, _ = await bot.say(ANA, "Oui", addressed=True, in_reply_to=bot.last_id())
    [(to_asker, confirm), (to_fac, notice)] = replies
    assert "transmis" in confirm
    assert to_fac.room_id == FACILITATORS.room_id and OUT_OF_DOMAIN in notice and "n°1" in notice

    [(_, queue)], _ = await bot.say(FANNY, "!questions", room=FACILITATORS)
    assert OUT_OF_DOMAIN in queue
    answer_text = "Mélangez farine, œufs et lait, puis laissez reposer une heure."
    [(back, back_text), (ack, ack_text)], _ = await bot.say(FANNY, f"!repondre 1 --faq {answer_text}",
                                                             room=FACILITATORS)
    assert back.to == Post(TRIBE.room_id, reply_to=question_event) and back.mentions == (ANA,)
    assert answer_text in back_text and "FAQ" in ack_text
    [(_, queue)], _ = await bot.say(FANNY, "!questions", room=FACILITATORS)
    assert "Aucune question en attente" in queue

    # From now on the FAQ answers the same question, in other words too.
    [(reply, text)], _ = await bot.say(ANA, "!q comment on fait la pâte à crêpes ?")
    assert reply.tag.startswith("answer:") and "farine" in text and "FAQ" in text
    assert "Voir aussi" not in text  # no unrelated référentiel section under a cooking answer


async def test_usage_errors_are_explained(bot):
    [(_, text)], _ = await bot.say(FANNY, "!repondre trois", room=FACILITATORS)
    assert "Utilisation" in text
    [(_, text)], _ = await bot.say(FANNY, "!repondre 42 réponse", room=FACILITATORS)
    assert "pas de question n°42" in text


async def test_an_answer_stays_out_of_the_faq_unless_the_facilitator_asks(bot):
    [(_, question)], question_event = await bot.say(ANA, f"!question {OUT_OF_DOMAIN}")
    await bot.say(ANA, "oui", addressed=True, in_reply_to=bot.last_id())
    recipe = "Mélangez farine, œufs et lait, puis laissez reposer une heure."
    [(back, back_text), (_, ack_text)], _ = await bot.say(FANNY, f"!repondre 1 {recipe}", room=FACILITATORS)
    assert back.to == Post(TRIBE.room_id, reply_to=question_event) and recipe in back_text
    assert "pas ajoutée à la FAQ" in ack_text and "--faq" in ack_text
    [(reply, text)], _ = await bot.say(ANA, "!q comment on fait la pâte à crêpes ?")
    assert "farine" not in text


async def test_help_and_the_forwarded_notice_say_how_to_add_to_the_faq(bot):
    command = bot.registry.find("repondre")
    help_text = bot.renderer.render(Reply(template="help/command.md.j2",
                                          context={"prefix": "!", "command": command})).plain
    assert "!repondre <n°> [--faq] <réponse>" in help_text and "à elle seule" in help_text and "--faq" in help_text
    await bot.say(ANA, f"!question {OUT_OF_DOMAIN}")
    [_, (_, notice)], _ = await bot.say(ANA, "oui", addressed=True, in_reply_to=bot.last_id())
    assert "!repondre 1 --faq <votre réponse>" in notice
