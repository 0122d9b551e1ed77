"""Offers to forward an unanswered question: only the asker's yes to this very offer, in time."""

from handlers.questions.offers import OFFER_LIFETIME
from tests.unit.handlers.questions.world import FACILITATORS, OUT_OF_DOMAIN, TRIBE
from tests.unit.running_app import RunningApp
from tests.unit.stand_ins import ANA, FANNY


def nothing_forwarded(app: RunningApp) -> bool:
    return not any(sent.room_id == FACILITATORS for sent in app.sent)


async def test_declining_or_chatting_forwards_nothing(app):
    [offer] = await app.say(ANA, TRIBE, f"!q {OUT_OF_DOMAIN}")
    # « ok » said to someone else, in the room or in another thread, is conversation.
    assert await app.say(ANA, TRIBE, "ok") == []
    assert await app.say(ANA, TRIBE, "oui", thread_root="$other") == []
    # Someone else's « oui » to the offer is not the asker's consent.
    assert await app.say(FANNY, TRIBE, "oui", reply_to=offer.event_id) == []
    [declined] = await app.say(ANA, TRIBE, "non merci", reply_to=offer.event_id)
    assert "je ne la transmets pas" in declined.body
    # The offer is closed: one offer answers one question, once.
    assert await app.say(ANA, TRIBE, "oui", reply_to=offer.event_id) == []
    assert nothing_forwarded(app)


async def test_one_offer_answers_one_question_and_a_check_mark_is_a_yes(app):
    [first_offer] = await app.say(ANA, TRIBE, f"!q {OUT_OF_DOMAIN}")
    [second_offer] = await app.say(ANA, TRIBE, "!q Quel temps fera-t-il demain à Lyon ?")
    # A ✅ from someone else does nothing; the asker's ✅ on the second offer forwards the second question.
    assert await app.react(FANNY, TRIBE, second_offer.event_id, "✅") == []
    sent = await app.react(ANA, TRIBE, second_offer.event_id, "✅")
    forwarded = [s.body for s in sent if s.room_id == FACILITATORS]
    assert len(forwarded) == 1 and "Lyon" in forwarded[0] and "crêpes" not in forwarded[0]
    # The first offer is still its own: a « oui » in reply to it forwards the first question only.
    sent = await app.say(ANA, TRIBE, "oui", reply_to=first_offer.event_id)
    forwarded = [s.body for s in sent if s.room_id == FACILITATORS]
    assert len(forwarded) == 1 and "crêpes" in forwarded[0]
    # Answered offers are closed.
    assert await app.react(ANA, TRIBE, second_offer.event_id, "✅") == []


async def test_an_offer_expires(app):
    [offer] = await app.say(ANA, TRIBE, f"!q {OUT_OF_DOMAIN}")
    app.clock.now += OFFER_LIFETIME * 2
    [expired] = await app.say(ANA, TRIBE, "oui", reply_to=offer.event_id)
    assert "expiré" in expired.body
    assert nothing_forwarded(app)


async def test_in_a_direct_chat_a_plain_yes_right_after_the_offer_forwards(app):
    direct = await app.direct_chat(ANA)
    await app.say(ANA, direct, OUT_OF_DOMAIN)
    sent = await app.say(ANA, direct, "oui")
    forwarded = [s.body for s in sent if s.room_id == FACILITATORS]
    assert len(forwarded) == 1 and "crêpes" in forwarded[0]
    assert any("C'est transmis" in s.body for s in sent if s.room_id == direct)


async def test_in_a_direct_chat_a_plain_no_right_after_the_offer_declines(app):
    direct = await app.direct_chat(ANA)
    await app.say(ANA, direct, OUT_OF_DOMAIN)
    [declined] = await app.say(ANA, direct, "non")
    assert "je ne la transmets pas" in declined.body
    # The offer is closed: a later « oui » forwards nothing.
    await app.say(ANA, direct, "oui")
    assert nothing_forwarded(app)


async def test_a_yes_after_something_else_was_said_explains_how_to_answer_the_offer(app):
    direct = await app.direct_chat(ANA)
    await app.say(ANA, direct, OUT_OF_DOMAIN)
    await app.say(ANA, direct, "!aide")
    [explained] = await app.say(ANA, direct, "oui")
    assert "répondez « oui » à mon message" in explained.body
    assert nothing_forwarded(app)


async def test_in_a_shared_room_a_plain_yes_after_the_offer_still_forwards_nothing(app):
    await app.say(ANA, TRIBE, f"!q {OUT_OF_DOMAIN}")
    assert await app.say(ANA, TRIBE, "oui") == []
    assert nothing_forwarded(app)
