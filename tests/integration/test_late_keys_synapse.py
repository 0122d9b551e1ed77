"""A message that reaches the bot before its room key is answered when the key comes, exactly once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import uuid4

import pytest
from nio.api import Api

from storage.undecryptable import UndecryptableEvent
from tests.integration.conftest import bot_config

pytestmark = pytest.mark.synapse

HELP = "Ce que je peux faire"


async def send_with_late_key(human, room_id: str, body: str):
    """Sends body in a new Megolm session whose key the room's devices get only when release() is
    awaited: from the bot's side, exactly a key delayed in transit."""
    client = human.client
    missing = client.get_missing_sessions(room_id)
    if missing:
        await client.keys_claim(missing)
    held = [
        messages
        for _, messages in client.olm.share_group_session_parallel(
            room_id, list(client.rooms[room_id].users), ignore_unverified_devices=True
        )
    ]
    assert held, "nobody to share the key with"
    client.olm.outbound_group_sessions[room_id].shared = True
    event_id = await human.send(room_id, body)

    async def release() -> None:
        for messages in held:
            method, path, data = Api.to_device(client.access_token, "m.room.encrypted", messages, uuid4())
            response = await client.send(method, path, data, headers={"Content-Type": "application/json"})
            assert response.status == 200, await response.text()

    return event_id, release


def kept(app, event_id: str) -> bool:
    with app.db.session() as session:
        return session.get(UndecryptableEvent, event_id) is not None


async def wait_kept(app, event_id: str) -> None:
    deadline = asyncio.get_running_loop().time() + 20.0
    while not kept(app, event_id):
        assert asyncio.get_running_loop().time() < deadline, f"the bot never kept {event_id}"
        await asyncio.sleep(0.1)


def replied_to(event) -> str | None:
    return event.source["content"].get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")


async def settled_count(human, room_id: str, sender: str, settle: float = 2.0) -> int:
    await asyncio.sleep(settle)
    return len(human.messages(room_id, sender))


async def encrypted_room_with_bot(human, bot_user: str) -> str:
    room_id = await human.create_room("Pairs", encrypted=True, invite=(bot_user,))
    await human.wait_joined(room_id, bot_user)
    return room_id


async def test_a_message_whose_key_comes_late_is_answered_once(synapse, make_bot, bot_account, human, tmp_path):
    bot = bot_account.user_id
    async with make_bot(bot_config(synapse, tmp_path / "bot", bot_account)) as app:
        room_id = await encrypted_room_with_bot(human, bot)
        event_id, release = await send_with_late_key(human, room_id, "!aide")
        await wait_kept(app, event_id)
        assert human.messages(room_id, bot) == []

        await release()
        answer = await human.wait_for_message(room_id, bot, contains=HELP)
        assert replied_to(answer) == event_id
        assert await settled_count(human, room_id, bot) == 1
        assert not kept(app, event_id)


async def test_a_key_that_comes_while_the_bot_is_stopped_is_used_at_restart_and_nothing_twice(
    synapse, make_bot, bot_account, human, tmp_path
):
    bot = bot_account.user_id
    config = bot_config(synapse, tmp_path / "bot", bot_account)
    async with make_bot(config) as app:
        room_id = await encrypted_room_with_bot(human, bot)
        event_id, release = await send_with_late_key(human, room_id, "!aide")
        await wait_kept(app, event_id)

    await release()
    async with make_bot(config):
        answer = await human.wait_for_message(room_id, bot, contains=HELP)
        assert replied_to(answer) == event_id
    async with make_bot(config) as app:
        assert await settled_count(human, room_id, bot) == 1
        assert not kept(app, event_id)


async def test_still_unreadable_its_sender_is_told_once_and_it_is_answered_when_the_key_comes(
    synapse, make_bot, bot_account, human, tmp_path
):
    bot = bot_account.user_id
    async with make_bot(bot_config(synapse, tmp_path / "bot", bot_account)) as app:
        app.late_keys.notice_after = timedelta(0)
        room_id = await encrypted_room_with_bot(human, bot)
        event_id, release = await send_with_late_key(human, room_id, "!aide")
        await wait_kept(app, event_id)

        await app.late_keys.sweep()
        notice = await human.wait_for_message(room_id, bot, contains="pas pu lire votre message chiffré")
        assert replied_to(notice) == event_id
        assert notice.source["content"]["m.mentions"] == {"user_ids": [human.user_id]}
        await app.late_keys.sweep()
        assert await settled_count(human, room_id, bot) == 1

        await release()
        answer = await human.wait_for_message(room_id, bot, contains=HELP)
        assert replied_to(answer) == event_id
        assert await settled_count(human, room_id, bot) == 2
