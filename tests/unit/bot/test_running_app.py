"""The test app itself: the whole bot answers over the fake homeserver, and is silent when it should be."""

from tests.unit.stand_ins import ANA, ROOM


async def test_the_bot_answers_help_in_a_room_and_keeps_silent_otherwise(test_app):
    [answer] = await test_app.say(ANA, ROOM, "!aide")
    assert answer.room_id == ROOM
    assert answer.relations.in_reply_to == test_app.last_event_id
    assert "!aide" in answer.body or answer.body
    assert await test_app.say(ANA, ROOM, "bonjour à tous") == []


async def test_a_direct_chat_the_bot_opens_gets_its_message_once_the_member_joined(test_app):
    sent = await test_app.say(ANA, ROOM, "!deposer")
    direct = [s for s in sent if s.room_id != ROOM]
    assert direct, [s.body for s in sent]
    room = test_app.homeserver.rooms[direct[0].room_id]
    assert room.members[ANA] == "join"
    assert test_app.app.sender.direct_chats.member_of(room.room_id) == ANA


async def test_a_refused_send_is_not_recorded(test_app):
    test_app.homeserver.refuse("send")
    assert await test_app.say(ANA, ROOM, "!aide") == []
    test_app.homeserver.lift("send")
    assert len(await test_app.say(ANA, ROOM, "!aide")) == 1
