"""Agenda: the coming occurrences, the reminders scheduled for each room, cancelling a facilitator's
reminder (as `!rappel annuler`), and the calendar feeds' state (last good copy, failures)."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta, tzinfo

from aiohttp import web
from sqlmodel import Session

from bot.board.context import BoardContext, redirect
from bot.board.params import BadRequest, number
from handlers.agenda.feeds import feed_label
from handlers.agenda.rows import due_time
from handlers.french import format_datetime_fr
from handlers.replies import UserError
from storage.agenda import FeedCache, ReminderRow, feed_cache

DAYS = 31
EVENT_REMINDERS = 50


def _due(row: ReminderRow, tz: tzinfo) -> str:
    return format_datetime_fr(due_time(row), tz)


def _feed_caches(session: Session, urls: list[str]) -> list[FeedCache]:
    return [feed_cache(session, url) for url in urls]


def add_routes(app: web.Application, board: BoardContext) -> None:
    services, reminders = board.services, board.reminders

    async def _show(request: web.Request, *, status: int = 200, error: str = "") -> web.Response:
        tz = services.config.bot.tz
        now = services.clock()
        # The stored copies of the feeds, not a fetch: a page never waits for a calendar server.
        occurrences = await reminders.occurrences(now, now + timedelta(days=DAYS))
        events = [
            {
                "title": o.title,
                "when": format_datetime_fr(o.start, tz),
                "location": o.location,
                "cancelled": o.cancelled,
                "rooms": ", ".join(o.rooms) if o.rooms else "tous",
            }
            for o in occurrences
        ]
        manual, event_rows = await reminders.scheduled(limit=EVENT_REMINDERS)
        by_room: dict[str, list[dict]] = defaultdict(list)
        for row in manual:
            for target in row.target_list or ["tous"]:
                by_room[target].append({"id": row.id, "when": _due(row, tz), "text": row.text, "manual": True})
        for row in event_rows:
            for target in row.target_list or ["tous"]:
                by_room[target].append({"id": row.id, "when": _due(row, tz), "text": row.title, "manual": False})
        caches = await services.units.run(_feed_caches, [feed.url for feed in services.config.agenda.feeds])
        feeds = [
            {
                "label": feed_label(feed),
                "fetched": format_datetime_fr(cache.fetched_at, tz) if cache.fetched_at else "",
                "failures": cache.failures,
                "error": cache.last_error,
                "failing_since": format_datetime_fr(cache.failing_since, tz) if cache.failing_since else "",
            }
            for feed, cache in zip(services.config.agenda.feeds, caches, strict=True)
        ]
        return board.page(
            request,
            "agenda.html.j2",
            section="agenda",
            status=status,
            error=error,
            days=DAYS,
            events=events,
            rooms=sorted(by_room.items()),
            feeds=feeds,
        )

    async def page(request: web.Request) -> web.Response:
        return await _show(request)

    async def cancel(request: web.Request) -> web.Response:
        try:
            row = await reminders.cancel_manual(number(request.match_info["row_id"], "rappel"))
        except BadRequest as bad:
            return await _show(request, status=400, error=bad.text)
        except UserError as error:
            return await _show(request, status=400, error=board.plain(error.message))
        board.flash(request, f"Rappel du {_due(row, services.config.bot.tz)} annulé.")
        return redirect("/agenda")

    app.router.add_get("/agenda", page)
    app.router.add_post("/agenda/rappels/{row_id}/annuler", cancel)
