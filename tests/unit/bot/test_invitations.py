"""The bot joins a room it is invited to by an allowed inviter, even when the inviter's homeserver is
slow to store the invitation (federation: the bot's own server shows it first, and refuses the join
until then)."""

from __future__ import annotations

import asyncio

import pytest
from nio import InviteMemberEvent, MatrixRoom

import bot.matrix_bot
from bot.devtools.fake_homeserver import Refusal
from tests.unit.stand_ins import BOT

REMOTE, LOCAL = "@zoe:ailleurs.example", "@ana:h"
ROOM = "!invited:ailleurs.example"


def invitation(inviter: str) -> InviteMemberEvent:
    return InviteMemberEvent(
        source={"type": "m.room.member", "sender": inviter, "state_key": BOT},
        sender=inviter,
        state_key=BOT,
        membership="invite",
        prev_membership="leave",
        content={"membership": "invite"},
    )


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(bot.matrix_bot, "JOIN_FIRST_WAIT", 0.01)


async def joined(app, room_id: str) -> bool:
    for _ in range(500):
        if app.homeserver.rooms[room_id].members.get(BOT) == "join":
            return True
        await asyncio.sleep(0.01)
    return False


@pytest.mark.parametrize("refused", [0, 3])
async def test_an_invitation_from_another_homeserver_is_joined_once_it_is_known_there(make_test_app, refused):
    async with make_test_app(members={ROOM: [REMOTE]}, access={"allowed_inviters": ["@*:*"]}) as app:
        app.homeserver.rooms[ROOM].members[BOT] = "invite"
        if refused:
            app.homeserver.refuse("join", Refusal(error="You are not invited to this room.", times=refused))
        await app.app.matrix._on_invite(MatrixRoom(ROOM, BOT), invitation(REMOTE))
        assert await joined(app, ROOM)
        assert app.homeserver.asked.count("JoinResponse") == refused + 1


async def test_a_refusal_on_the_bots_own_homeserver_is_not_asked_again(make_test_app, caplog):
    room = "!local:h"
    async with make_test_app(members={room: [LOCAL]}, access={"allowed_inviters": ["@*:*"]}) as app:
        app.homeserver.rooms[room].members[BOT] = "invite"
        app.homeserver.refuse("join", Refusal(times=None))
        await app.app.matrix._on_invite(MatrixRoom(room, BOT), invitation(LOCAL))
        for _ in range(100):
            if "Could not join" in caplog.text:
                break
            await asyncio.sleep(0.01)
        assert "Could not join" in caplog.text
        assert app.homeserver.asked.count("JoinResponse") == 1
