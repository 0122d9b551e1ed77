"""A sync loop that survives what ends nio's own one.

nio's `sync_forever` stops at the first exception: two key queries racing (one from the loop,
one from `room_send` in a room whose members were not synced yet) raise LocalProtocolError, and
a homeserver that stays unreachable past nio's own retries raises a connection error. A bot must
keep going; it resumes from the client's sync token, so nothing said in the meantime is lost.
"""

from __future__ import annotations

import logging

from nio import AsyncClient
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    retry_if_not_exception_type,
    wait_exponential,
)

log = logging.getLogger(__name__)


async def sync_until_cancelled(
    client: AsyncClient, *, give_up_on: tuple[type[Exception], ...] = (), first_wait: float = 0.5, **sync_options
) -> None:
    """Runs `client.sync_forever(**sync_options)` again after any error but those of `give_up_on`,
    waiting longer each time from `first_wait` seconds (up to a minute). Returns only if nio's loop is
    stopped on purpose."""
    retrying = AsyncRetrying(
        wait=wait_exponential(multiplier=first_wait, max=60),
        reraise=True,
        # Exception, not BaseException: a cancelled task must end, not sync again.
        retry=retry_if_exception_type(Exception) & retry_if_not_exception_type(give_up_on),
        before_sleep=_log_interruption,
    )
    async for attempt in retrying:
        with attempt:
            await client.sync_forever(**sync_options)


def _log_interruption(state: RetryCallState) -> None:
    # Called only after a failed attempt: there is an outcome, and it is an exception.
    assert state.outcome is not None
    error = state.outcome.exception()
    # One line for the operator; the traceback only when debugging (a key-query race is routine).
    log.warning(
        "Sync interrupted (attempt %d: %s: %s); resuming in %.1f s",
        state.attempt_number,
        type(error).__name__,
        error,
        state.upcoming_sleep,
    )
    log.debug("Sync interruption", exc_info=error)
