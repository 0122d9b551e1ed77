"""The bot in real rooms of a real Synapse: invites, commands, encryption, restarts, failures."""
from __future__ import annotations

import asyncio

import pytest
from nio import RoomMessageNotice

from handlers.replies import Reply
from tests.integration.conftest import bot_config

pytestmark = pytest.mark.synapse


async def test_joins_on_allowed_invite_and_answers_help_in_a_plain_room(synapse, make_bot, bot_account, human, tmp_path):
    config = bot_config(synapse, tmp_path / "bot", bot_account)
    async with make_bot(config):
        room_id = await human.create_room("Tribu alimentation", invite=(bot_account.user_id,))
        await human.wait_joined(room_id, bot_account.user_id)
        question = await human.send(room_id, "!aide")
        reply = await human.wait_for_message(room_id, bot_account.user_id, contains="Ce que je peux faire")
        assert isinstance(reply, RoomMessageNotice)
        content = reply.source["content"]
        assert content["format"] == "org.matrix.custom.html"
        assert "<strong>" in content["formatted_body"] and "**" not in content["body"].split("\n")[0][:3]
        assert content["m.relates_to"]["m.in_reply_to"]["event_id"] == question
        assert content["m.mentions"] == {"user_ids": [human.user_id]}
        assert "!aide" in content["body"]


async def test_declines_invite_from_a_stranger(synapse, make_bot, bot_account, tmp_path):
    from tests.integration.conftest import unique
    from tests.integration.matrix_user import MatrixUser

    stranger = await MatrixUser(synapse.url, synapse.register(unique("stranger")), tmp_path / "s").start()
    try:
        config = bot_config(synapse, tmp_path / "bot", bot_account)
        async with make_bot(config) as app:
            room_id = await stranger.create_room("Pas pour le bot", invite=(bot_account.user_id,))
            # The bot leaves the invite: its membership becomes "leave" and it never joins.
            await stranger.wait_until(lambda: bot_account.user_id not in stranger.client.rooms[room_id].invited_users,
                                      what="the invite to be declined")
            assert room_id not in app.client.rooms
            assert bot_account.user_id not in stranger.client.rooms[room_id].users
    finally:
        await stranger.stop()


async def test_help_in_an_encrypted_room_is_decrypted_by_the_person(synapse, make_bot, bot_account, human, tmp_path):
    config = bot_config(synapse, tmp_path / "bot", bot_account)
    async with make_bot(config):
        room_id = await human.create_room("Pairs agents", encrypted=True, invite=(bot_account.user_id,))
        await human.wait_joined(room_id, bot_account.user_id)
        await human.send(room_id, "!aide")
        reply = await human.wait_for_message(room_id, bot_account.user_id, contains="Ce que je peux faire")
        assert reply.decrypted and isinstance(reply, RoomMessageNotice)


async def test_unknown_command_gets_a_suggestion(synapse, make_bot, bot_account, human, tmp_path):
    config = bot_config(synapse, tmp_path / "bot", bot_account)
    async with make_bot(config):
        room_id = await human.create_room("Tribu", invite=(bot_account.user_id,))
        await human.wait_joined(room_id, bot_account.user_id)
        await human.send(room_id, "!aidr")
        reply = await human.wait_for_message(room_id, bot_account.user_id, contains="Je ne connais pas")
        assert "!aide" in reply.body and "Vouliez-vous dire" in reply.body


async def test_a_failing_handler_gets_an_apology_and_the_bot_keeps_serving(synapse, make_bot, bot_account, human, tmp_path, caplog):
    config = bot_config(synapse, tmp_path / "bot", bot_account)
    running = make_bot(config)

    async def explode(ctx):
        raise RuntimeError("secret internal detail")

    running.app.registry.command("panne", usage="panne", help="échoue exprès")(explode)
    async with running:
        room_id = await human.create_room("Tribu", invite=(bot_account.user_id,))
        await human.wait_joined(room_id, bot_account.user_id)
        await human.send(room_id, "!panne")
        apology = await human.wait_for_message(room_id, bot_account.user_id, contains="Désolé")
        assert "secret internal detail" not in apology.body and "RuntimeError" not in apology.body
        assert any("secret internal detail" in (r.exc_text or "") for r in caplog.records)
        await human.send(room_id, "!aide")
        await human.wait_for_message(room_id, bot_account.user_id, contains="Ce que je peux faire")
