"""`manufacture-bot agenda`: the occurrences of every configured event and feed in a date window."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date, datetime, time, timedelta, tzinfo

from config import Config
from config.cli import add_config_option, config_from
from handlers.agenda.feeds import feed_label, fetch_text
from handlers.agenda.occurrences import Calendars, Occurrence, expand_all, feed_source, parse_calendar
from handlers.french import format_date_fr, format_time_fr
from storage.agenda import feed_cache
from storage.database import DATABASE_FILE, open_database


def register_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "agenda",
        help="Liste les rendez-vous (événements récurrents et calendriers).",
        description="Liste les occurrences de chaque événement configuré et de chaque "
        "calendrier entre deux dates (annulations exclues).",
    )
    add_config_option(parser)
    parser.add_argument(
        "--from", dest="date_from", type=_day, default=None, help="premier jour, AAAA-MM-JJ (défaut : aujourd'hui)"
    )
    parser.add_argument(
        "--to",
        dest="date_to",
        type=_day,
        default=None,
        help="dernier jour inclus, AAAA-MM-JJ (défaut : dans horizon_days jours)",
    )
    parser.add_argument("--json", action="store_true", help="sortie JSON (une liste d'objets)")
    parser.set_defaults(func=run)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"« {text} » : date attendue au format AAAA-MM-JJ") from None


def _cached_body(config: Config, url: str) -> str:
    """The bot's stored copy of a feed, without creating a SQLite database that does not exist."""
    if not config.database.url and not (config.data_dir / DATABASE_FILE).exists():
        return ""
    database = open_database(config.data_dir, config.database)
    try:
        with database.session() as session:
            return feed_cache(session, url).body
    finally:
        database.close()


async def _read_feeds(config: Config) -> Calendars:
    calendars: Calendars = {}
    for feed in config.agenda.feeds:
        try:
            calendars[feed_source(feed)] = (feed, parse_calendar(await fetch_text(feed.url)))
            continue
        except Exception as exc:
            problem = str(exc) or type(exc).__name__
        body = _cached_body(config, feed.url)
        if body:
            print(
                f"Calendrier « {feed_label(feed)} » illisible ({problem}) : copie enregistrée utilisée.",
                file=sys.stderr,
            )
            calendars[feed_source(feed)] = (feed, parse_calendar(body))
        else:
            print(
                f"Calendrier « {feed_label(feed)} » illisible ({problem}) et aucune copie enregistrée : ignoré.",
                file=sys.stderr,
            )
    return calendars


def _text_line(occurrence: Occurrence, tz: tzinfo) -> str:
    when = format_date_fr(occurrence.start, tz)
    if not occurrence.all_day:
        when += f" {format_time_fr(occurrence.start, tz)}–{format_time_fr(occurrence.end, tz)}"
    else:
        when += " (toute la journée)"
    extra = f", {occurrence.location}" if occurrence.location else ""
    return f"{when} — {occurrence.title}{extra} → {', '.join(occurrence.rooms)}"


def run(args: argparse.Namespace) -> int:
    config = config_from(args)
    tz = config.bot.tz
    first = args.date_from or datetime.now(tz).date()
    last = args.date_to or first + timedelta(days=config.agenda.horizon_days)
    if last < first:
        print("--to doit être postérieur ou égal à --from.", file=sys.stderr)
        return 2
    start = datetime.combine(first, time(0, 0), tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time(0, 0), tzinfo=tz)
    calendars = asyncio.run(_read_feeds(config))
    occurrences = [o for o in expand_all(config.agenda.recurring, calendars, tz, start, end) if not o.cancelled]
    if args.json:
        print(json.dumps([o.as_json() for o in occurrences], ensure_ascii=False, indent=2))
    elif not occurrences:
        print("Aucun rendez-vous entre ces dates.")
    else:
        for occurrence in occurrences:
            print(_text_line(occurrence, tz))
    return 0
