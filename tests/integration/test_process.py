"""The bot as an operator runs it: `manufacture-bot run`, SIGTERM, a second process, rate limits."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys

import pytest

from bot.devtools.local_synapse import LocalSynapse
from bot.devtools.person import ScriptedPerson
from storage.database import DATABASE_FILE
from tests.integration.conftest import bot_config, install_indexed_pack, unique
from tests.integration.processes import BotProcess, write_toml
from tests.integration.silence import said_before_sentinel

pytestmark = pytest.mark.synapse


def test_second_process_refuses_and_sigterm_stops_cleanly(synapse, bot_account, tmp_path, indexed_database):
    config_path = tmp_path / "config.toml"
    write_toml(config_path, synapse, bot_account, tmp_path / "data")
    # An already indexed référentiel: this test is about the process, not about embedding the pack.
    (tmp_path / "data").mkdir()
    install_indexed_pack(indexed_database, tmp_path / "data")
    first = BotProcess(config_path)
    try:
        first.wait_for_line("Ready as")
        second = subprocess.run(
            [sys.executable, "-m", "bot", "run", "--config", str(config_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 2
        assert "Un autre processus du bot" in second.stderr
        assert first.terminate() == 0
    finally:
        first.kill_if_running()
    # The lock went with the process: a new start is accepted.
    third = BotProcess(config_path)
    try:
        third.wait_for_line("Ready as")
        assert third.terminate() == 0
    finally:
        third.kill_if_running()


def test_bad_config_names_the_key_and_the_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[matrix]\nhomeserver = "matrix.example.org"\nuser_id = "@bot:example.org"\n')
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check-config", "--config", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "matrix.homeserver" in result.stderr and str(path) in result.stderr


async def test_oversized_message_gets_a_clear_answer(synapse, make_bot, bot_account, human, tmp_path):
    config = bot_config(synapse, tmp_path / "bot", bot_account)
    async with make_bot(config):
        room_id = await human.create_room("Tribu", invite=(bot_account.user_id,))
        await human.wait_joined(room_id, bot_account.user_id)
        await human.send(room_id, "!aide " + "x" * 5000)
        reply = await human.wait_for_message(room_id, bot_account.user_id, contains="trop long")
        assert "5006 caractères" in reply.body


@pytest.fixture(scope="module")
def strict_synapse(tmp_path_factory):
    """Synapse with its default rate limits, to prove the bot copes with M_LIMIT_EXCEEDED."""
    server = LocalSynapse(tmp_path_factory.mktemp("strict"), lift_rate_limits=False).start()
    yield server
    server.stop()


async def test_default_rate_limits_delay_but_never_lose_or_duplicate_replies(make_bot, strict_synapse, tmp_path):
    bot_account = strict_synapse.register(unique("bot"))
    human = await ScriptedPerson(strict_synapse.url, strict_synapse.register(unique("human")), tmp_path / "h").start()
    try:
        config = bot_config(strict_synapse, tmp_path / "bot", bot_account)
        async with make_bot(config):
            room_id = await human.create_room("Tribu", invite=(bot_account.user_id,))
            await human.wait_joined(room_id, bot_account.user_id)
            count = 13  # Synapse's default burst is 10 messages: the last ones are rate limited.
            sent = [await human.send(room_id, f"!aide aide {n}") for n in range(count)]
            await human.wait_until(
                lambda: len(human.messages(room_id, bot_account.user_id)) >= count, timeout=120, what=f"{count} replies"
            )
            replies = await said_before_sentinel(human, room_id, bot_account.user_id)
            assert len(replies) == count
            # Messages to one room keep their order.
            replied_to = [r.source["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] for r in replies]
            assert replied_to == sent
    finally:
        await human.stop()


def run_without_homeserver(tmp_path, extra: str = "") -> subprocess.CompletedProcess:
    """`manufacture-bot run` stopped by its database before it ever reaches a homeserver."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'[matrix]\nhomeserver = "http://127.0.0.1:9"\nuser_id = "@bot:localhost"\n'
        f'[bot]\ndata_dir = "{tmp_path / "data"}"\n[knowledge]\nenabled = false\n{extra}'
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", "run", "--config", str(path)], capture_output=True, text=True, timeout=120
    )


def test_a_database_of_a_newer_release_stops_run_with_a_french_message_and_no_traceback(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with sqlite3.connect(data_dir / DATABASE_FILE) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        connection.execute("INSERT INTO alembic_version VALUES ('0099_from_the_future')")
    result = run_without_homeserver(tmp_path)
    assert result.returncode == 2
    assert (
        "Erreur : La base" in result.stderr
        and "« 0099_from_the_future », que cette version du bot ne connaît pas" in result.stderr
    )
    assert "Traceback" not in result.stderr
    with sqlite3.connect(data_dir / DATABASE_FILE) as connection:  # left as it was
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [("0099_from_the_future",)]


def test_a_postgresql_server_out_of_reach_stops_run_naming_it_without_its_password(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the probe is: nothing listens there
    result = run_without_homeserver(
        tmp_path, f'[database]\nurl = "postgresql+psycopg://manufacture:s3cret@127.0.0.1:{port}/manufacture"\n'
    )
    assert result.returncode == 2
    assert (
        f"Impossible d'ouvrir la base postgresql+psycopg://manufacture:***@127.0.0.1:{port}/manufacture"
        in result.stderr
    )
    assert "Traceback" not in result.stderr and "s3cret" not in result.stderr + result.stdout
