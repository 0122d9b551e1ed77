"""Addressed means addressed, through a real Synapse: the bot, named « Manufacture » like the community,
stays quiet when people merely name it, and answers a call by name, a pill, a reply and its own thread."""

from __future__ import annotations

import pytest

from tests.integration.conftest import bot_config
from tests.integration.silence import said_before_sentinel

pytestmark = pytest.mark.synapse


async def test_the_bot_answers_when_called_and_not_when_merely_named(
    synapse, make_bot, bot_account, human, member, tmp_path
):
    bot_id = bot_account.user_id
    tribe = await human.create_room("Tribu Alimentation", encrypted=True, invite=(bot_id, member.user_id))
    config = bot_config(
        synapse, tmp_path / "bot", bot_account, rooms=[{"id": tribe, "kind": "tribe", "name": "Alimentation"}]
    )
    async with make_bot(config) as app:
        await human.wait_joined(tribe, bot_id)
        await human.wait_joined(tribe, member.user_id)
        await member.wait_joined(tribe, bot_id)
        await app.client.set_displayname("Manufacture")
        await human.wait_until(
            # The member sees the bot join before the bot's own sync brings the room.
            lambda: (
                tribe in app.client.rooms
                and app.client.rooms[tribe].user_name(bot_id) == "Manufacture"
                and human.client.rooms[tribe].user_name(bot_id) == "Manufacture"
            ),
            what="the bot's new display name",
        )

        # People naming their community: not a word from the bot.
        for chat in (
            "On se retrouve à la manufacture jeudi ?",
            "Manufacture jeudi, on y va ?",
            "La Manufacture : quelle aventure !",
        ):
            await member.send(tribe, chat)
        assert await said_before_sentinel(human, tribe, bot_id) == []

        # A call by name, as older clients write it.
        await human.send(tribe, "Manufacture : c'est quand la permanence ?", mentions=None)
        called = await human.wait_for_message(tribe, bot_id, contains="Source :")
        # A pill without m.mentions.
        pill = f'<a href="https://matrix.to/#/{bot_id}">Manufacture</a> à quoi sert une tribu ?'
        await human.send(tribe, "Manufacture à quoi sert une tribu ?", mentions=None, formatted_body=pill)
        # (`after` counts the sentinel's answer too.)
        await human.wait_for_message(tribe, bot_id, contains="Source :", after=2)
        # A reply to one of its answers, and a message in a thread started on it.
        await human.send(tribe, "et comment la rejoindre ?", reply_to=called.event_id, mentions=None)
        await human.wait_for_message(tribe, bot_id, contains="Source :", after=3)
        await member.send(tribe, "et elle dure combien de temps ?", thread_root=called.event_id, mentions=None)
        in_thread = await member.wait_for_message(tribe, bot_id, contains="Source :", after=4)
        assert in_thread.source["content"]["m.relates_to"]["event_id"] == called.event_id
        # Four answers besides the sentinel's, and nothing else.
        assert len(await said_before_sentinel(human, tribe, bot_id)) == 5
