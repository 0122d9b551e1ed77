"""Restarts: same device, no replay of what was handled, what was said meanwhile handled once."""

from __future__ import annotations

import asyncio
import json

import pytest
from nio import AsyncClient

from bot.matrix_bot import SessionRevoked
from tests.integration.conftest import bot_config
from tests.integration.silence import said_before_sentinel

pytestmark = pytest.mark.synapse


async def test_restart_keeps_the_device_and_handles_missed_messages_exactly_once(
    synapse, make_bot, bot_account, human, tmp_path
):
    config = bot_config(synapse, tmp_path / "bot", bot_account)
    async with make_bot(config) as app:
        first_device = app.client.device_id
        room_id = await human.create_room("Pairs", encrypted=True, invite=(bot_account.user_id,))
        await human.wait_joined(room_id, bot_account.user_id)
        await human.send(room_id, "!aide")
        await human.wait_for_message(room_id, bot_account.user_id, contains="Ce que je peux faire")

    # While the bot is down, two commands arrive.
    await human.send(room_id, "!aide salon")
    await human.send(room_id, "!aide aide")

    async with make_bot(config) as app:
        assert app.client.device_id == first_device
        await human.wait_for_message(room_id, bot_account.user_id, contains="salon tribu", after=1)
        await human.wait_for_message(room_id, bot_account.user_id, contains="aide [commande]", after=1)
        # Exactly three answers in all: the first !aide was not answered again.
        assert len(await said_before_sentinel(human, room_id, bot_account.user_id)) == 3
    stored = json.loads((tmp_path / "bot" / "session.json").read_text())
    assert stored["device_id"] == first_device


async def test_first_start_does_not_answer_the_rooms_history(synapse, make_bot, bot_account, human, tmp_path):
    # The bot's account is already in the room (joined from elsewhere) when it first starts.
    room_id = await human.create_room("Tribu", invite=(bot_account.user_id,))
    other = AsyncClient(synapse.url, bot_account.user_id)
    other.restore_login(bot_account.user_id, bot_account.device_id, bot_account.access_token)
    await other.join(room_id)
    await other.close()
    await human.wait_joined(room_id, bot_account.user_id)
    await human.send(room_id, "!aide")

    config = bot_config(synapse, tmp_path / "bot", bot_account)
    async with make_bot(config):
        assert await said_before_sentinel(human, room_id, bot_account.user_id) == []
        # The sentinel itself was answered once: a second round trip finds that one answer only.
        assert len(await said_before_sentinel(human, room_id, bot_account.user_id)) == 1


async def test_a_revoked_session_stops_the_sync_and_the_next_start_logs_in_again(
    synapse, make_bot, bot_account, human, tmp_path
):
    config = bot_config(synapse, tmp_path / "bot", bot_account)
    session_file = tmp_path / "bot" / "session.json"
    bot = make_bot(config)
    async with bot as app:
        first_device = app.client.device_id
        # Someone logs the bot's device out (from another client, or an admin): its token dies.
        other = AsyncClient(synapse.url, bot_account.user_id)
        other.restore_login(bot_account.user_id, first_device, app.client.access_token)
        await other.logout()
        await other.close()
        # The sync loop gives up at once instead of asking again forever, and says why.
        await asyncio.wait({bot.task}, timeout=40)
        assert bot.task.done()
        error = bot.task.exception()
        assert isinstance(error, SessionRevoked) and "mot de passe" in str(error)
        assert not session_file.exists()

    async with make_bot(config) as app:
        assert app.client.device_id != first_device
        room_id = await human.create_room("Tribu", invite=(bot_account.user_id,))
        await human.wait_joined(room_id, bot_account.user_id)
        await human.send(room_id, "!aide")
        await human.wait_for_message(room_id, bot_account.user_id, contains="Ce que je peux faire")
    assert json.loads(session_file.read_text())["device_id"] == app.client.device_id
