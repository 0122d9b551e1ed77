"""The agenda as one calendar: the configuration's recurring events and the feeds (fetched, or
their stored copies), expanded into occurrences over a time window.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from handlers.agenda.feeds import FeedPoller, cached_calendars
from handlers.agenda.occurrences import Calendars, Occurrence, expand_all, feed_source
from handlers.context import Services
from storage.unit_of_work import UnitOfWork


async def read_calendars(
    services: Services, feeds: FeedPoller, *, refresh: bool, work: UnitOfWork | None = None
) -> tuple[Calendars, dict[str, str]]:
    """The feeds' calendars by source, and the error of each feed that could not be fetched.
    Without ``refresh``, the stored copies only (no network), read in ``work`` if given."""
    if not refresh:
        return await cached_calendars(services, work), {}
    calendars: Calendars = {}
    errors: dict[str, str] = {}
    states = await asyncio.gather(*(feeds.refresh(feed) for feed in services.config.agenda.feeds))
    for state in states:
        if state.error:
            errors[feed_source(state.feed)] = state.error
        if state.calendar is not None:
            calendars[feed_source(state.feed)] = (state.feed, state.calendar)
    return calendars, errors


async def expand(services: Services, calendars: Calendars, start: datetime, end: datetime) -> list[Occurrence]:
    """Occurrences in [start, end) of the recurring events and of ``calendars``, cancelled ones included."""
    return await asyncio.to_thread(
        expand_all, services.config.agenda.recurring, calendars, services.config.bot.tz, start, end
    )
