"""The sync loop outlives the errors that end nio's own loop."""

from __future__ import annotations

import asyncio

import pytest
from nio import AsyncClient, LocalProtocolError

from bot.sync_loop import sync_until_cancelled


class FlakyClient(AsyncClient):
    """nio's client whose sync loop fails the way two racing key queries make it fail."""

    def __init__(self, failures: int) -> None:
        super().__init__("http://127.0.0.1:1", "@bot:example.org")
        self.failures, self.calls = failures, 0
        # Set by a test to end the loop the way nio's stop_sync_forever would.
        self.release = asyncio.Event()

    async def sync_forever(self, *args, **kwargs) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise LocalProtocolError("No key query required.")
        await self.release.wait()  # a healthy loop runs until stopped


async def test_the_sync_loop_starts_again_after_an_error_and_stays_up(caplog):
    client = FlakyClient(failures=2)
    # Waits of 10 then 20 ms between attempts (0.5 then 1 s in production).
    task = asyncio.create_task(sync_until_cancelled(client, first_wait=0.01, timeout=30000))
    try:
        for _ in range(100):
            if client.calls == 3:
                break
            await asyncio.sleep(0.05)
        assert client.calls == 3
        assert not task.done()
        assert "Sync interrupted (attempt 2: LocalProtocolError: No key query required.)" in caplog.text
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.close()
    assert task.cancelled()


class Revoked(Exception):
    pass


class RevokedClient(FlakyClient):
    async def sync_forever(self, *args, **kwargs) -> None:
        self.calls += 1
        raise Revoked()


async def test_the_sync_loop_gives_up_on_what_no_retry_can_fix():
    client = RevokedClient(failures=0)
    try:
        with pytest.raises(Revoked):
            await asyncio.wait_for(sync_until_cancelled(client, give_up_on=(Revoked,)), 5)
        assert client.calls == 1
    finally:
        await client.close()


async def test_a_cancelled_sync_loop_ends_even_when_it_retries_everything():
    client = FlakyClient(failures=0)
    task = asyncio.create_task(sync_until_cancelled(client))
    try:
        await asyncio.sleep(0.1)
        assert client.calls == 1
        task.cancel()
        await asyncio.wait({task}, timeout=2)
        assert task.cancelled() and client.calls == 1
    finally:
        client.release.set()  # were the cancellation swallowed, the loop still ends and the test fails
        await asyncio.wait({task}, timeout=5)
        await client.close()
