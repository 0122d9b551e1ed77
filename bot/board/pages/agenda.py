"""Agenda: the coming occurrences, the reminders scheduled for each room, cancelling a facilitator's
reminder (as `!rappel annuler`), and the calendar feeds' state (last good copy, failures).

Said in words for a team that does not read ids: a reminder's rooms by their names (« Toutes les
tribus : Énergie, Alimentation » rather than « tribus », a room's name rather than « !abc:serveur »),
a feed by its name, or by its site or file name when the configuration gives none."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta, tzinfo
from pathlib import PurePath
from urllib.parse import urlsplit

from aiohttp import web
from sqlmodel import Session

from bot.board.context import BoardContext, redirect
from bot.board.params import BadRequest, number
from config import Config, FeedConfig
from handlers.agenda.occurrences import CONFIG_SOURCE, feed_source
from handlers.agenda.rows import due_time
from handlers.french import format_datetime_fr
from handlers.replies import UserError
from storage.agenda import FeedCache, ReminderRow, feed_cache
from storage.board import named_rooms
from storage.rooms import RoomRecord

DAYS = 31
EVENT_REMINDERS = 50
# The words that name groups of rooms (config/rooms.py TARGET_KINDS), said for a reader, with the
# room kinds each one reaches.
GROUPS = {
    "tous": ("Tous les salons", ("tribe", "peer_group")),
    "tribus": ("Toutes les tribus", ("tribe",)),
    "pairs": ("Tous les groupes de pairs", ("peer_group",)),
    "animation": ("L'équipe d'animation", ("facilitators",)),
}


def _due(row: ReminderRow, tz: tzinfo) -> str:
    return format_datetime_fr(due_time(row), tz)


def _feed_caches(session: Session, urls: list[str]) -> list[FeedCache]:
    return [feed_cache(session, url) for url in urls]


def feed_name(feed: FeedConfig) -> str:
    """The feed's name; without one, its site (« calendrier de nuage.exemple.org ») or its file's
    name (« calendrier rencontres »), never a whole path or address."""
    if feed.name:
        return feed.name
    if feed.url.startswith(("http://", "https://")):
        return f"Calendrier de {urlsplit(feed.url).hostname or feed.url}"
    stem = PurePath(feed.url).stem.replace("_", " ").replace("-", " ").strip()
    return f"Calendrier « {stem or feed.url} »"


def room_words(target: str, rooms: list[RoomRecord], config: Config) -> str:
    """A stored target (« tribus », « !abc:serveur », « #alias:serveur ») as the team reads it."""
    if target in GROUPS:
        label, kinds = GROUPS[target]
        names = [r.name or "salon sans nom" for r in rooms if r.kind in kinds]
        return f"{label} : {', '.join(names)}" if names else f"{label} (aucun salon pour l'instant)"
    by_id = {r.room_id: r.name for r in rooms if r.name}
    configured = {c.id: c.name for c in config.rooms if c.id} | {c.alias: c.name for c in config.rooms if c.alias}
    if target.startswith("!"):
        name = by_id.get(target) or configured.get(target)
        return f"Salon « {name} »" if name else f"Salon sans nom ({target})"
    name = configured.get(target)
    if name is None:
        # An alias the configuration does not name: the room it leads to, if the bot is in it.
        name = next((r.name for c in config.rooms if c.alias == target for r in rooms if r.room_id == c.id), None)
    return f"Salon « {name} »" if name else f"Salon {target}"


def add_routes(app: web.Application, board: BoardContext) -> None:
    services, reminders = board.services, board.reminders

    async def _show(request: web.Request, *, status: int = 200, error: str = "") -> web.Response:
        tz = services.config.bot.tz
        now = services.clock()
        # The stored copies of the feeds, not a fetch: a page never waits for a calendar server.
        occurrences = await reminders.occurrences(now, now + timedelta(days=DAYS))
        rooms = await services.units.run(named_rooms)
        config = services.config
        feed_names = {feed_source(feed): feed_name(feed) for feed in config.agenda.feeds}
        feed_names[CONFIG_SOURCE] = "Rendez-vous réguliers (configuration du bot)"

        def words(targets: list[str] | tuple[str, ...]) -> list[str]:
            return [room_words(t, rooms, config) for t in targets or ["tous"]]

        events = [
            {
                "title": o.title,
                "when": format_datetime_fr(o.start, tz),
                "location": o.location,
                "cancelled": o.cancelled,
                "rooms": words(o.rooms),
                "feed": feed_names.get(o.source, ""),
            }
            for o in occurrences
        ]
        manual, event_rows = await reminders.scheduled(limit=EVENT_REMINDERS)
        by_room: dict[str, list[dict]] = defaultdict(list)
        for row in manual:
            for target in words(row.target_list):
                by_room[target].append({"id": row.id, "when": _due(row, tz), "text": row.text, "manual": True})
        for row in event_rows:
            for target in words(row.target_list):
                by_room[target].append({"id": row.id, "when": _due(row, tz), "text": row.title, "manual": False})
        caches = await services.units.run(_feed_caches, [feed.url for feed in config.agenda.feeds])
        feeds = [
            {
                "label": feed_name(feed),
                "address": feed.url,
                "fetched": format_datetime_fr(cache.fetched_at, tz) if cache.fetched_at else "",
                "failures": cache.failures,
                "error": cache.last_error,
                "failing_since": format_datetime_fr(cache.failing_since, tz) if cache.failing_since else "",
            }
            for feed, cache in zip(config.agenda.feeds, caches, strict=True)
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
