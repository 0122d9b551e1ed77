"""Faults in the middle of a burst of questions, on a real Synapse: the process killed (SIGKILL) or
stopped (SIGTERM), the homeserver down for a minute, PostgreSQL down for half a minute, the SQLite
file locked by another process. Counted from the members' side: every question answered, none twice."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
import time

import aiohttp
import pytest
from nio import MegolmEvent, RoomMessagesResponse

from bot.devtools.local_synapse import LocalSynapse
from storage.database import DATABASE_FILE
from tests.integration.conftest import bot_config, install_indexed_pack, person, unique
from tests.integration.processes import BotProcess, write_toml
from tests.postgres import PostgresCluster

pytestmark = [pytest.mark.synapse, pytest.mark.slow]

QUESTION = "!q c'est quoi une balise ? (question {n})"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def history(member, room_id: str) -> list:
    """The room as the member's client reads it back from the homeserver, every event (a client's sync
    after an outage shows only the last few, « limited »), decrypted when it can be."""
    events, token = [], member.client.next_batch
    while True:
        answer = await member.client.room_messages(room_id, start=token, limit=100)
        assert isinstance(answer, RoomMessagesResponse), answer
        events.extend(answer.chunk)
        if not answer.chunk or not answer.end or answer.end == token:
            return events
        token = answer.end


class Burst:
    """Three members of one room asking in turn; their clients count the bot's replies to each question."""

    def __init__(self, members, room_id: str, bot_id: str) -> None:
        self.members, self.room_id, self.bot_id = members, room_id, bot_id
        self.asked: list[str] = []  # question event ids, in the order asked

    async def ask(self, count: int, start: int = 0) -> None:
        for n in range(start, start + count):
            member = self.members[n % len(self.members)]
            self.asked.append(await member.send(self.room_id, QUESTION.format(n=n)))

    async def replies(self, *also: str) -> dict[str, int]:
        """For each question (and `also`), how many of the bot's messages reply to it; an unreadable one fails."""
        counts = dict.fromkeys([*self.asked, *also], 0)
        for event in await history(self.members[-1], self.room_id):
            if event.sender != self.bot_id:
                continue
            assert not isinstance(event, MegolmEvent), f"the members cannot read {event.event_id}"
            target = (event.source.get("content", {}).get("m.relates_to") or {}).get("m.in_reply_to", {})
            if target.get("event_id") in counts:
                counts[target["event_id"]] += 1
        return counts

    async def answered(self) -> int:
        return sum(1 for n in (await self.replies()).values() if n)

    async def wait_answered(self, count: int, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while (answered := await self.answered()) < count:
            assert time.monotonic() < deadline, f"{answered} of {count} questions answered in {timeout:.0f} s"
            await asyncio.sleep(0.5)
        return answered

    async def settle(self) -> dict[str, int]:
        """Once every question is answered: one more message, answered after all of them (the bot
        handles a room's events in order), so that a reply sent twice would be in by then."""
        last = await self.members[0].send(self.room_id, "!aide")
        deadline = time.monotonic() + 60
        while not (counts := await self.replies(last))[last]:
            assert time.monotonic() < deadline, "the last message was never answered"
            await asyncio.sleep(0.5)
        del counts[last]
        return counts


async def members_in_room(stack, synapse, tmp_path, bot_id: str, *, encrypted: bool = True):
    members = [await stack.enter_async_context(person(synapse, tmp_path / f"m{n}", "human")) for n in range(3)]
    room_id = await members[0].create_room(
        "Tribu Alimentation", encrypted=encrypted, invite=(bot_id, *(m.user_id for m in members[1:]))
    )
    for member in members[1:]:
        await members[0].wait_joined(room_id, member.user_id)
    return members, room_id


def bot_process(stack, synapse, bot_account, tmp_path, indexed_database, room_id: str) -> tuple:
    """`manufacture-bot run` for the tribe room, ready; returns its configuration file and the process."""
    data_dir = tmp_path / "data"
    if not data_dir.exists():
        data_dir.mkdir()
        install_indexed_pack(indexed_database, data_dir)
    config_path = tmp_path / "config.toml"
    write_toml(
        config_path,
        synapse,
        bot_account,
        data_dir,
        f'[[rooms]]\nid = "{room_id}"\nkind = "tribe"\nname = "Alimentation"\n',
    )
    return config_path, started(stack, config_path)


def started(stack, config_path) -> BotProcess:
    process = BotProcess(config_path)
    stack.callback(process.kill_if_running)
    process.wait_for_line("Ready as")
    return process


def tribe(room_id: str) -> list[dict]:
    return [{"id": room_id, "kind": "tribe", "name": "Alimentation"}]


def assert_once(counts: dict[str, int], expected: int) -> None:
    assert len(counts) == expected
    never = [q for q, n in counts.items() if n == 0]
    twice = [q for q, n in counts.items() if n > 1]
    assert (len(never), len(twice)) == (0, 0), f"{len(never)} never answered, {len(twice)} answered twice"


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
async def test_a_process_stopped_mid_burst_answers_every_question_once_after_its_restart(
    synapse, bot_account, tmp_path, indexed_database, how
):
    bot_id = bot_account.user_id
    async with contextlib.AsyncExitStack() as stack:
        members, room_id = await members_in_room(stack, synapse, tmp_path, bot_id)
        config_path, first = bot_process(stack, synapse, bot_account, tmp_path, indexed_database, room_id)
        await members[0].wait_joined(room_id, bot_id)
        burst = Burst(members, room_id, bot_id)
        asking = asyncio.create_task(burst.ask(100))
        await burst.wait_answered(20, timeout=120)
        if how == "SIGKILL":
            first.process.kill()
            first.process.wait()
        else:
            stopping = time.monotonic()
            assert first.terminate(timeout=40) == 0, first.output()
            assert time.monotonic() - stopping < 40
        stopped_at = await burst.answered()
        await asking  # the members go on asking while the bot is down
        assert stopped_at < 100, "the stop came too late to prove anything"

        second = started(stack, config_path)
        await burst.wait_answered(100, timeout=240)
        assert_once(await burst.settle(), 100)
        assert second.terminate() == 0


async def test_questions_among_150_messages_said_while_the_bot_was_stopped_are_all_answered(
    synapse, bot_account, tmp_path, indexed_database
):
    """More happened than a sync gives (100 events a room): the gap is read back, nothing is skipped."""
    bot_id = bot_account.user_id
    async with contextlib.AsyncExitStack() as stack:
        members, room_id = await members_in_room(stack, synapse, tmp_path, bot_id)
        config_path, first = bot_process(stack, synapse, bot_account, tmp_path, indexed_database, room_id)
        await members[0].wait_joined(room_id, bot_id)
        burst = Burst(members, room_id, bot_id)
        await burst.ask(1)
        await burst.wait_answered(1, timeout=60)
        assert first.terminate() == 0
        for n in range(150):
            if n % 15 == 7:
                await burst.ask(1, start=len(burst.asked))
            else:
                await members[n % 3].send(room_id, f"On se retrouve jeudi pour le jardin ? ({n})")
        second = started(stack, config_path)
        await burst.wait_answered(11, timeout=120)
        assert_once(await burst.settle(), 11)
        assert any("a limited sync left out" in line for line in second.lines)
        assert second.terminate() == 0


async def test_the_homeserver_down_for_a_minute_delays_answers_and_loses_none(make_bot, tmp_path):
    server = LocalSynapse(tmp_path / "synapse").start()
    try:
        bot_account = server.register(unique("bot"))
        async with contextlib.AsyncExitStack() as stack:
            members, room_id = await members_in_room(stack, server, tmp_path, bot_account.user_id)
            config = bot_config(server, tmp_path / "bot", bot_account, rooms=tribe(room_id))
            async with make_bot(config) as app:
                await members[0].wait_joined(room_id, bot_account.user_id)
                burst = Burst(members, room_id, bot_account.user_id)
                await burst.ask(40)
                down_at = await burst.wait_answered(1, timeout=60)
                server.stop()
                await asyncio.sleep(60)
                server.start()
                await burst.wait_answered(40, timeout=240)
                counts = await burst.settle()
                retries = app.metrics.registry.get_sample_value(
                    "manufacture_event_retries_total", {"cause": "homeserver"}
                )
        assert down_at < 40, "the homeserver went down too late to prove anything"
        assert_once(counts, 40)
        assert retries and retries > 0
    finally:
        server.stop()


async def healthz(port: int) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as answer:
        return answer.status, await answer.text()


async def test_postgresql_down_half_a_minute_delays_answers_loses_none_and_health_says_why(
    synapse, make_bot, bot_account, tmp_path
):
    cluster = PostgresCluster.start()
    try:
        url = cluster.database_at_head()
        metrics_port = free_port()
        async with contextlib.AsyncExitStack() as stack:
            members, room_id = await members_in_room(stack, synapse, tmp_path, bot_account.user_id)
            config = bot_config(
                synapse,
                tmp_path / "bot",
                bot_account,
                rooms=tribe(room_id),
                extra={
                    "database": {"url": url.render_as_string(hide_password=False)},
                    "metrics": {"listen": f"127.0.0.1:{metrics_port}"},
                },
            )
            async with make_bot(config) as app:
                await members[0].wait_joined(room_id, bot_account.user_id)
                burst = Burst(members, room_id, bot_account.user_id)
                await burst.ask(30)
                await burst.wait_answered(1, timeout=60)
                cluster.stop_server()
                down_at = await burst.answered()
                # While it is down: asked all the same, and the operator's probe says why.
                await burst.ask(10, start=30)
                status, reason = await healthz(metrics_port)
                for _ in range(100):
                    if status == 503:
                        break
                    await asyncio.sleep(0.1)
                    status, reason = await healthz(metrics_port)
                assert (status, reason) == (503, "base de données injoignable\n")
                await asyncio.sleep(30)
                cluster.start_server()
                await burst.wait_answered(40, timeout=180)
                counts = await burst.settle()
                assert (await healthz(metrics_port))[0] == 200
                retries = app.metrics.registry.get_sample_value(
                    "manufacture_event_retries_total", {"cause": "database"}
                )
        assert down_at < 30, "the database went down too late to prove anything"
        assert_once(counts, 40)
        assert retries and retries > 0
    finally:
        cluster.stop()


async def test_a_sqlite_file_locked_by_another_process_delays_answers_and_loses_none(
    synapse, make_bot, bot_account, tmp_path
):
    async with contextlib.AsyncExitStack() as stack:
        members, room_id = await members_in_room(stack, synapse, tmp_path, bot_account.user_id)
        config = bot_config(synapse, tmp_path / "bot", bot_account, rooms=tribe(room_id))
        async with make_bot(config) as app:
            await members[0].wait_joined(room_id, bot_account.user_id)
            burst = Burst(members, room_id, bot_account.user_id)
            await burst.ask(5)
            await burst.wait_answered(5, timeout=60)
            # Another process takes the write lock (a long transaction) while members ask.
            holder = sqlite3.connect(config.data_dir / DATABASE_FILE, isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")
            holder.execute("CREATE TABLE held (x)")
            try:
                await burst.ask(10, start=5)
                await members[0].wait_until(
                    lambda: app.metrics.database_down_since is not None, 60, "the bot to find the database locked"
                )
                answered_while_locked = await burst.answered()
            finally:
                holder.rollback()
                holder.close()
            await burst.wait_answered(15, timeout=120)
            counts = await burst.settle()
    assert answered_while_locked < 15
    assert_once(counts, 15)
