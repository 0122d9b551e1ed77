"""The sync loop outlives the errors that end nio's own loop."""
from __future__ import annotations

import asyncio

from nio import AsyncClient, LocalProtocolError

from bot.sync_loop import sync_until_cancelled


class FlakyClient(AsyncClient):
    """nio's client whose sync loop fails the way two racing key queries make it fail."""

    def __init__(self, failures: int) -> None:
        super().__init__("http://127.0.0.1:1", "@bot:example.org")
        self.failures, self.calls = failures, 0

    async def sync_forever(self, *args, **kwargs) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise LocalProtocolError("No key query required.")
        await asyncio.Event().wait()  # a healthy loop never returns


async def test_the_sync_loop_starts_again_after_an_error_and_stays_up(caplog):
    client = FlakyClient(failures=2)
    task = asyncio.create_task(sync_until_cancelled(client, timeout=30000))
    try:
        for _ in range(100):
            if client.calls == 3:
                break
            await asyncio.sleep(0.05)
        assert client.calls == 3
        assert not task.done()
        assert "Sync interrupted (attempt 2)" in caplog.text and "No key query required" in caplog.text
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.close()
    assert task.cancelled()
