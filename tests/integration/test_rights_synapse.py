"""A facilitator's rights follow the facilitators' room as it is now, on a real Synapse: kicked, banned,
gone, taken out of the power levels or lowered, they lose the chat commands and the board within one sync
(their next message is refused, their board session is closed), while the others keep theirs."""

from __future__ import annotations

import contextlib
import re
import socket

import aiohttp
import pytest
from nio import RoomGetStateEventResponse, RoomPutStateResponse
from sqlmodel import select

from storage.board import BoardSession
from tests.integration.conftest import bot_config, person

pytestmark = pytest.mark.synapse

LINK = re.compile(r"http://127\.0\.0\.1:\d+/connexion\?jeton=[\w.\-]+")
REFUSED = "réservée à l'équipe d'animation"
HOW = ("kick", "ban", "leave", "removed", "lowered")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def set_levels(admin, room_id: str, change) -> None:
    """The room's power levels, changed as a client does: the whole content read, changed, put back."""
    current = await admin.client.room_get_state_event(room_id, "m.room.power_levels")
    assert isinstance(current, RoomGetStateEventResponse), current
    content = dict(current.content)
    content["users"] = change(dict(content.get("users", {})))
    answer = await admin.client.room_put_state(room_id, "m.room.power_levels", content)
    assert isinstance(answer, RoomPutStateResponse), answer


async def ask_for_board(someone, animation: str, bot_id: str) -> str:
    """`!tableau` in the facilitators' room; the link comes in the direct chat the bot opens."""
    await someone.send(animation, "!tableau")
    direct = await someone.wait_direct_room(bot_id)
    message = await someone.wait_for_message(direct, bot_id, contains="/connexion?jeton=")
    return LINK.findall(message.body)[-1]


async def log_in(http: aiohttp.ClientSession, link: str) -> str:
    base, token = link.split("/connexion?jeton=")
    async with http.post(f"{base}/connexion", data={"jeton": token}, allow_redirects=False) as answer:
        assert answer.status == 303, await answer.text()
    return base


async def board_status(http: aiohttp.ClientSession, base: str) -> int:
    async with http.get(f"{base}/depots", allow_redirects=False) as answer:
        return answer.status


async def test_a_facilitator_kicked_banned_gone_removed_or_lowered_loses_chat_and_board_at_once(
    synapse, make_bot, bot_account, facilitator, tmp_path
):
    admin, bot_id = facilitator, bot_account.user_id
    async with contextlib.AsyncExitStack() as stack:
        people = {
            how: await stack.enter_async_context(person(synapse, tmp_path / f"store-{how}", "fac")) for how in HOW
        }
        animation = await admin.create_room(
            "Animation", encrypted=True, invite=(bot_id, *(p.user_id for p in people.values()))
        )
        for someone in people.values():
            await admin.wait_joined(animation, someone.user_id)
        await set_levels(admin, animation, lambda users: {**users, **{p.user_id: 50 for p in people.values()}})
        config = bot_config(
            synapse,
            tmp_path / "bot",
            bot_account,
            rooms=[{"id": animation, "kind": "facilitators", "name": "Animation"}],
            extra={"board": {"listen": f"127.0.0.1:{free_port()}"}},
        )
        async with make_bot(config) as app:
            await admin.wait_joined(animation, bot_id)
            sessions = {}
            for how, someone in people.items():
                http = await stack.enter_async_context(aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)))
                base = await log_in(http, await ask_for_board(someone, animation, bot_id))
                assert await board_status(http, base) == 200
                sessions[how] = (http, base)

            revoke = {
                "kick": lambda: admin.client.room_kick(animation, people["kick"].user_id, reason="départ"),
                "ban": lambda: admin.client.room_ban(animation, people["ban"].user_id),
                "leave": lambda: people["leave"].client.room_leave(animation),
                "removed": lambda: set_levels(
                    admin,
                    animation,
                    lambda users: {u: level for u, level in users.items() if u != people["removed"].user_id},
                ),
                "lowered": lambda: set_levels(admin, animation, lambda users: {**users, people["lowered"].user_id: 10}),
            }
            for index, how in enumerate(HOW):
                someone = people[how]
                direct = someone.direct_room_with(bot_id)
                await revoke[how]()
                # Their very next message, sent after the change: refused, and no link.
                before = len(someone.messages(direct, bot_id))
                await someone.send(direct, "!tableau")
                answer = await someone.wait_for_message(direct, bot_id, after=before)
                assert REFUSED in answer.body and "jeton" not in answer.body, (how, answer.body)
                http, base = sessions[how]
                assert await board_status(http, base) == 401, how
                with app.db.session() as session:
                    holders = set(session.exec(select(BoardSession.user_id)).all())
                assert someone.user_id not in holders, how
                # Those not touched yet keep the board.
                for other in HOW[index + 1 :]:
                    assert people[other].user_id in holders, (how, other)
                    http, base = sessions[other]
                    assert await board_status(http, base) == 200, (how, other)
