"""A sync: the calendars read, their occurrences over the next horizon_days, and the reminder rows
brought in line with them (planning.py says how).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from handlers.agenda.calendars import expand, read_calendars
from handlers.agenda.feeds import FeedPoller
from handlers.agenda.occurrences import CONFIG_SOURCE, feed_source
from handlers.agenda.planning import SyncReport, apply_occurrences
from handlers.context import Services

log = logging.getLogger(__name__)

# Occurrences are matched a little beyond the horizon, so an occurrence moved just past it is seen
# as moved rather than removed (which would send a cancellation notice).
MATCH_MARGIN = timedelta(days=31)


async def sync_reminder_rows(services: Services, feeds: FeedPoller, *, refresh: bool) -> SyncReport:
    """Upserts one row per occurrence × reminder offset for the next horizon_days. Idempotent.

    New occurrences get pending rows (only for reminders still ahead); a moved occurrence moves
    its pending rows, and re-arms a reminder that already went out if its new time is ahead;
    a removed or cancelled occurrence cancels its pending rows and, if a reminder already went
    out, gets one cancellation notice. A feed with no copy at all is left alone.
    """
    now = services.clock()
    agenda = services.config.agenda
    calendars, errors = await read_calendars(services, feeds, refresh=refresh)
    horizon_end = now + timedelta(days=agenda.horizon_days)
    occurrences = await expand(services, calendars, now, horizon_end + MATCH_MARGIN)
    live_sources = {CONFIG_SOURCE, *calendars}
    configured = {CONFIG_SOURCE, *(feed_source(f) for f in agenda.feeds)}
    report = SyncReport(feed_errors=errors)
    await services.units.run(apply_occurrences, occurrences, live_sources, configured, now, horizon_end, report)
    if report.created or report.moved or report.cancelled or report.notices:
        log.info(
            "agenda sync: %d created, %d moved, %d cancelled, %d cancellation notices",
            report.created,
            report.moved,
            report.cancelled,
            report.notices,
        )
    return report
