"""Invitations and direct-chat openings at about one a second (Tchap asks bots for that pace on bulk
invitations); the direct chats the bot opens are direct (is_direct) and never named, as Tchap's
`direct` access rule requires. Time here is the test's: a fake monotonic clock that a fake sleep moves."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import build_app
from bot.direct_chats import DirectChats
from bot.room_directory import RoomDirectory
from bot.throttle import Throttle
from tests.unit.bot.test_direct_chats import Homeserver
from tests.unit.stand_ins import ANA, FANNY, ROOM


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_a_burst_goes_out_one_a_second_and_a_quiet_spell_lets_the_next_one_through_at_once():
    time = FakeTime()
    throttle = Throttle(1.0, clock=time.clock, sleep=time.sleep)
    passed: list[float] = []
    for _ in range(3):
        await throttle.wait()
        passed.append(time.now)
    assert passed == [100.0, 101.0, 102.0] and time.slept == [1.0, 1.0]
    # Something else took 0.4 s: the next pass waits only what is left of its second.
    time.now += 0.4
    await throttle.wait()
    assert time.slept[-1] == pytest.approx(0.6) and time.now == pytest.approx(103.0)
    time.now += 30
    await throttle.wait()
    assert len(time.slept) == 3 and time.now == pytest.approx(133.0)


async def test_callers_at_the_same_moment_go_in_the_order_they_came():
    time = FakeTime()
    throttle = Throttle(1.0, clock=time.clock, sleep=time.sleep)
    order: list[tuple[str, float]] = []

    async def caller(name: str) -> None:
        await throttle.wait()
        order.append((name, time.now))

    await asyncio.gather(*(caller(name) for name in "abcd"))
    assert order == [("a", 100.0), ("b", 101.0), ("c", 102.0), ("d", 103.0)]


async def test_no_interval_never_waits():
    time = FakeTime()
    throttle = Throttle(0, clock=time.clock, sleep=time.sleep)
    for _ in range(5):
        await throttle.wait()
    assert time.slept == []


async def test_each_direct_chat_the_bot_opens_waits_its_turn_before_inviting(make_config, units):
    """The pace applies where the invitation leaves: before each room creation, never after it."""
    events: list[str] = []

    class RecordingThrottle(Throttle):
        async def wait(self) -> None:
            events.append("wait")

    class Server(Homeserver):
        async def room_create(self, **kwargs):
            events.append(f"create {kwargs['invite'][0]}")
            return await super().room_create(**kwargs)

    server = Server()
    chats = DirectChats(server, units, RoomDirectory(make_config(), units, server), RecordingThrottle(1.0))
    await chats.room_for("@ana:h")
    await chats.room_for("@carl:h")
    assert events == ["wait", "create @ana:h", "wait", "create @carl:h"]


def test_the_bot_keeps_one_invitation_a_second_unless_configured(make_config):
    assert build_app(make_config(knowledge={"enabled": False})).matrix.direct_chats.invitations.interval == 1.0
    config = make_config(knowledge={"enabled": False}, matrix={"invite_interval_seconds": 0.25})
    assert build_app(config).matrix.direct_chats.invitations.interval == 0.25


async def test_a_direct_chat_is_opened_as_direct_encrypted_with_the_member_only_and_no_name(test_app):
    await test_app.say(ANA, ROOM, "!deposer")
    [created] = test_app.homeserver.created
    assert created["is_direct"] is True and created["invite"] == [ANA]
    assert created["preset"] == "trusted_private_chat"
    assert "name" not in created and "topic" not in created
    state_types = {event["type"] for event in created.get("initial_state", [])}
    assert state_types == {"m.room.encryption"}
    assert FANNY not in created["invite"]
