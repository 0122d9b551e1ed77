"""The bot introduces itself once in a room it joins on an invitation: never again, restarts and re-joins included."""

from __future__ import annotations

import pytest
from nio import RoomMessageNotice

from bot.sender import INTRODUCTION_FIELD
from tests.integration.conftest import bot_config
from tests.integration.test_deposits_synapse import PrivateForm

pytestmark = pytest.mark.synapse


async def test_a_member_invited_with_the_bot_sees_one_introduction_and_none_after_a_restart_or_a_rejoin(
    synapse, make_bot, bot_account, human, member, tmp_path
):
    bot_id = bot_account.user_id
    tribe = await human.create_room("Tribu Énergie", invite=(bot_id, member.user_id))
    await human.wait_joined(tribe, member.user_id)
    config = bot_config(
        synapse, tmp_path / "bot", bot_account, rooms=[{"id": tribe, "kind": "tribe", "name": "Énergie"}]
    )
    async with make_bot(config):
        intro = await member.wait_for_introduction(tribe, bot_id)
        assert isinstance(intro, RoomMessageNotice) and intro.source["content"][INTRODUCTION_FIELD] is True
        assert "tribu « Énergie »" in intro.body and "!aide" in intro.body and "!deposer" in intro.body
        # Messages to a room go out in order: once the answer is here, a second introduction would be too.
        await member.send(tribe, "!aide")
        await member.wait_for_message(tribe, bot_id, contains="Ce que je peux faire")
        assert len(member.introductions_in(tribe, bot_id)) == 1
        assert len(human.introductions_in(tribe, bot_id)) == 1

    # While the bot is down it is put out of the room and invited again: it re-joins on its next start.
    await human.client.room_kick(tribe, bot_id)
    await human.wait_until(lambda: bot_id not in human.client.rooms[tribe].users, what="the bot to leave")
    await human.client.room_invite(tribe, bot_id)
    async with make_bot(config):
        await human.wait_joined(tribe, bot_id)
        await member.send(tribe, "!aide")
        await member.wait_for_message(tribe, bot_id, contains="Ce que je peux faire", after=1)
        assert len(member.introductions_in(tribe, bot_id)) == 1
        assert [e.body for e in member.messages(tribe, bot_id) if "Bonjour, je suis" in e.body] == []


async def test_a_direct_chat_the_member_opened_gets_an_introduction_and_one_the_bot_opened_none(
    synapse, make_bot, bot_account, human, member, tmp_path
):
    bot_id = bot_account.user_id
    async with make_bot(bot_config(synapse, tmp_path / "bot", bot_account)):
        opened = await member.create_room("", encrypted=True, invite=(bot_id,), is_direct=True)
        intro = await member.wait_for_introduction(opened, bot_id)
        assert intro.decrypted and "conversation privée" in intro.body and "sans commande" in intro.body

        # A direct chat the bot opens itself starts with what it had to say, not an introduction.
        tribe = await human.create_room("Tribu Eau", invite=(bot_id,))
        await human.wait_for_introduction(tribe, bot_id)
        form = PrivateForm(human, tribe, bot_id)
        await form.open()
        await form.answer("Jardin partagé des Lilas", "Question 2 —")
        assert human.introductions_in(form.direct, bot_id) == []
        assert len(form.bot_messages()) == 2
