"""A real Synapse on 127.0.0.1 for the whole session, a fresh bot account and person per test."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from bot.app import BotApp, build_app
from bot.devtools.local_synapse import LocalSynapse, start_federating_pair
from bot.devtools.person import ScriptedPerson
from config import KnowledgeConfig, parse_config
from knowledge.embedders import build_embedder
from knowledge.search import INDEX_FOLDER, SearchService
from storage.database import DATABASE_FILE, Database

pytestmark = pytest.mark.synapse
_names = itertools.count()


@pytest.fixture(scope="session")
def synapse(tmp_path_factory):
    server = LocalSynapse(tmp_path_factory.mktemp("synapse")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def federating_pair(tmp_path_factory):
    """(home, remote): two Synapses federating with each other on loopback, each named after its own
    address, for the tests of members on another homeserver. A pair of its own rather than the session's
    server made to federate: that one is named `localhost` (its ids fill the other tests), and a name that
    is not an IP needs DNS or .well-known, and port 8448 of 127.0.0.1, shared by parallel sessions."""
    home, remote = start_federating_pair(tmp_path_factory.mktemp("federation"))
    yield home, remote
    home.stop()
    remote.stop()


def unique(prefix: str) -> str:
    return f"{prefix}{os.getpid()}x{next(_names)}"


def bot_config(
    synapse: LocalSynapse,
    data_dir: Path,
    bot_account,
    *,
    rooms: list[dict] | None = None,
    facilitators: tuple[str, ...] = (),
    extra: dict | None = None,
):
    raw: dict[str, Any] = {
        "matrix": {"homeserver": synapse.url, "user_id": bot_account.user_id, "password": bot_account.password},
        "bot": {"data_dir": str(data_dir), "log_level": "DEBUG"},
        "access": {"allowed_inviters": ["@human*:localhost", "@fac*:localhost"], "facilitators": list(facilitators)},
        "rooms": rooms or [],
    }
    for key, value in (extra or {}).items():
        if isinstance(value, dict):
            raw.setdefault(key, {}).update(value)
        else:
            raw[key] = value
    return parse_config(raw, data_dir / "config.toml")


class RunningBot:
    """Starts the bot in this event loop, as `manufacture-bot run` would, and stops it cleanly."""

    def __init__(self, app: BotApp) -> None:
        self.app = app
        self.task: asyncio.Task | None = None

    async def __aenter__(self) -> BotApp:
        await self.app.start()
        self.task = asyncio.create_task(self.app.matrix.sync_forever())
        return self.app

    async def __aexit__(self, *exc) -> None:
        assert self.task is not None, "__aenter__ starts the sync"
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task
        await self.app.close()


@pytest.fixture(scope="session")
def embedder():
    """The default offline model, loaded once for the whole session."""
    return build_embedder(KnowledgeConfig())


@pytest.fixture(scope="session")
def indexed_database(tmp_path_factory, embedder) -> Path:
    """A database with the référentiel already indexed, copied into each bot's data_dir:
    the bot still checks every chunk's hash at start, but embeds nothing again."""
    directory = tmp_path_factory.mktemp("index")
    db = Database.in_dir(directory)
    # With its saved search index, which holds the sentence vectors (knowledge.index): copied along
    # (install_indexed_pack), a bot starts without embedding the pack's sentences again.
    SearchService(db, embedder, index_dir=directory / INDEX_FOLDER).start_sync()
    db.close()
    return directory / DATABASE_FILE


def install_indexed_pack(indexed_database: Path, data_dir: Path) -> None:
    """The indexed référentiel (database and saved search index) into a bot's data_dir."""
    shutil.copy(indexed_database, data_dir / DATABASE_FILE)
    shutil.copytree(indexed_database.parent / INDEX_FOLDER, data_dir / INDEX_FOLDER, dirs_exist_ok=True)


@pytest.fixture
def make_bot(indexed_database, embedder):
    """make_bot(config) -> async context manager running the bot."""

    def make(config) -> RunningBot:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        if not (config.data_dir / DATABASE_FILE).exists():
            install_indexed_pack(indexed_database, config.data_dir)
        return RunningBot(build_app(config, embedder=embedder))

    return make


@pytest.fixture
def bot_account(synapse):
    return synapse.register(unique("bot"))


@contextlib.asynccontextmanager
async def person(synapse, store: Path, prefix: str):
    """A freshly registered person with a running Matrix client, stopped afterwards."""
    user = await ScriptedPerson(synapse.url, synapse.register(unique(prefix)), store).start()
    try:
        yield user
    finally:
        await user.stop()


@pytest.fixture
async def human(synapse, tmp_path):
    async with person(synapse, tmp_path / "human-store", "human") as user:
        yield user


@pytest.fixture
async def facilitator(synapse, tmp_path):
    async with person(synapse, tmp_path / "fac-store", "fac") as user:
        yield user


@pytest.fixture
async def member(synapse, tmp_path):
    """A second, ordinary member of the same rooms: the seat from which privacy is tested."""
    async with person(synapse, tmp_path / "member-store", "human") as user:
        yield user
