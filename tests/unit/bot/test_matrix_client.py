"""The client's view of power levels is the room's current state, not nio's merge of every past one;
and a room the bot has just joined is waited for until a sync brings it."""

from __future__ import annotations

import asyncio

import pytest
from nio import MatrixRoom, PowerLevelsEvent
from nio.responses import RoomInfo, Timeline

from bot.matrix_client import BotClient

BOT, ROOM = "@bot:h", "!fac:h"


def levels_event(users: dict[str, int], n: int) -> PowerLevelsEvent:
    return PowerLevelsEvent.from_dict(
        {
            "type": "m.room.power_levels",
            "event_id": f"$pl{n}",
            "sender": "@admin:h",
            "state_key": "",
            "origin_server_ts": n,
            "content": {"users": users, "users_default": 0},
        }
    )


def client_in_room() -> tuple[BotClient, MatrixRoom]:
    client = BotClient("http://127.0.0.1:1", BOT)
    room = MatrixRoom(ROOM, BOT)
    for user_id in ("@admin:h", "@mod:h", "@ana:h"):
        room.add_member(user_id, None, None)
    client.rooms[ROOM] = room
    return client, room


def test_a_user_removed_from_the_power_levels_in_the_timeline_loses_their_level():
    client, room = client_in_room()
    client._handle_timeline_event(levels_event({"@admin:h": 100, "@mod:h": 50, "@ana:h": 50}, 1), ROOM, room, set())
    assert room.power_levels.get_user_level("@mod:h") == 50
    client._handle_timeline_event(levels_event({"@admin:h": 100, "@ana:h": 20}, 2), ROOM, room, set())
    # nio alone would have kept @mod:h at 50 (it merges `users`).
    assert room.power_levels.get_user_level("@mod:h") == 0
    assert room.power_levels.get_user_level("@ana:h") == 20
    assert room.users["@mod:h"].power_level == 0 and room.users["@ana:h"].power_level == 20


def test_a_power_levels_change_in_a_sync_s_state_block_replaces_too():
    client, room = client_in_room()
    client._handle_timeline_event(levels_event({"@admin:h": 100, "@mod:h": 50}, 1), ROOM, room, set())
    # A gappy sync brings the newer state in its state block, before the timeline.
    info = RoomInfo(
        timeline=Timeline([], False, None), state=[levels_event({"@admin:h": 100}, 2)], ephemeral=[], account_data=[]
    )
    client._handle_joined_state(ROOM, info, set())
    assert room.power_levels.get_user_level("@mod:h") == 0
    assert room.power_levels.get_user_level("@admin:h") == 100


def joined_info() -> RoomInfo:
    return RoomInfo(timeline=Timeline([], False, None), state=[], ephemeral=[], account_data=[])


async def test_a_room_waited_for_is_there_as_soon_as_a_sync_brings_it():
    client = BotClient("http://127.0.0.1:1", BOT)
    waiting = asyncio.create_task(client.room_appearing(ROOM, 10.0))
    await asyncio.sleep(0)
    assert not waiting.done()
    client._handle_joined_state(ROOM, joined_info(), set())
    room = await asyncio.wait_for(waiting, 1.0)
    assert room is client.rooms[ROOM]
    # Once there, it is answered at once.
    assert await asyncio.wait_for(client.room_appearing(ROOM, 10.0), 1.0) is room


async def test_a_room_no_sync_brings_is_none_after_the_wait():
    client = BotClient("http://127.0.0.1:1", BOT)
    assert await client.room_appearing(ROOM, 0.05) is None


def test_the_sync_token_committed_is_the_one_read_at_start(tmp_path):
    from nio.crypto import OlmAccount

    from bot.matrix_client import BotStore

    store = BotStore(BOT, "DEVICE", str(tmp_path))
    store.save_account(OlmAccount())
    store.save_sync_token("s1")  # nio's own call, before the sync's events are recorded: ignored
    assert store.load_sync_token() is None
    for token in ("s2", "s3"):
        store.commit_sync_token(token)
    assert store.load_sync_token() == "s3"


def test_a_commit_from_a_second_connection_breaks_a_transaction_of_nio_so_the_inbox_commits_on_the_loop(tmp_path):
    """Why bot/inbox.py commits the token on the loop's thread: nio's transactions read, then write; a
    commit from another thread's connection in between makes SQLite refuse the write at once."""
    import threading

    from nio.crypto import OlmAccount
    from peewee import OperationalError

    from bot.matrix_client import BotStore

    store = BotStore(BOT, "DEVICE", str(tmp_path))
    store.save_account(OlmAccount())
    write = "INSERT OR REPLACE INTO synctokens (token, account_id) SELECT 'nio', id FROM accounts"
    with store.database.atomic():
        store.database.execute_sql("SELECT * FROM accounts").fetchall()
        store.commit_sync_token("same connection")
        store.database.execute_sql(write)  # fine: one connection
    with store.database.atomic():
        store.database.execute_sql("SELECT * FROM accounts").fetchall()
        other = threading.Thread(target=store.commit_sync_token, args=("other connection",))
        other.start()
        other.join()
        with pytest.raises(OperationalError, match="locked"):
            store.database.execute_sql(write)


def test_only_rooms_found_encrypted_are_saved_and_they_are_read_at_start(tmp_path):
    from nio.crypto import OlmAccount

    from bot.matrix_client import BotStore

    store = BotStore(BOT, "DEVICE", str(tmp_path))
    store.save_account(OlmAccount())
    statements: list[str] = []
    store.database.execute_sql = lambda sql, *args, **kwargs: statements.append(sql)
    store.save_encrypted_rooms(set())  # what nio saves after a sync that found no new encrypted room
    assert statements == []
    del store.database.execute_sql
    store.save_encrypted_rooms({ROOM})
    assert BotStore(BOT, "DEVICE", str(tmp_path)).load_encrypted_rooms() == {ROOM}
