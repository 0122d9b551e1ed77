from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.handlers.agenda.harness import PERMANENCE_START, FeedServer, Harness


@pytest.fixture
def harness(tmp_path):
    """Five days before the March permanence, with the permanence configured."""
    h = Harness(tmp_path, PERMANENCE_START - timedelta(days=5))
    yield h
    h.db.close()


@pytest.fixture
async def feed_server():
    server = FeedServer()
    await server.start()
    yield server
    await server.stop()
