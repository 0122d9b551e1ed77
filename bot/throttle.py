"""Spacing out requests a homeserver asks bots to send slowly: invitations, and the direct chats the
bot opens (each one invites its member). Tchap asks bots to keep bulk invites near one a second; a
busy moment (a broadcast, many members starting a form at once) then queues instead of bursting."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable


class Throttle:
    """At most one pass every `interval` seconds, callers let through in the order they came. The
    first pass after a quiet spell goes at once; a pass never waits longer than its place in line."""

    def __init__(
        self,
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.interval, self.clock, self.sleep = interval, clock, sleep
        self._lock = asyncio.Lock()
        self._next = -math.inf

    async def wait(self) -> None:
        """Returns when the caller may send its request."""
        if self.interval <= 0:
            return
        async with self._lock:
            now = self.clock()
            if now < self._next:
                await self.sleep(self._next - now)
            self._next = max(now, self._next) + self.interval
