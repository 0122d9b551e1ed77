"""[agenda]: recurring events (the permanence), calendar feeds, and when reminders go out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from dateutil.rrule import rrulestr

from config.reader import ConfigError, TomlReader, resolve_path
from config.rooms import room_targets

DEFAULT_REMINDERS = ("1d", "15m")
_DURATION = re.compile(r"^\s*(\d+)\s*(m|min|h|d|j)\s*$")


def parse_offset_minutes(text: str) -> int:
    """'15m', '2h', '1d' (or '1j') -> minutes. Raises ValueError on anything else."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(text)
    amount, unit = int(match.group(1)), match.group(2)
    return amount * {"m": 1, "min": 1, "h": 60, "d": 1440, "j": 1440}[unit]


@dataclass(frozen=True)
class RecurringEventConfig:
    title: str
    rrule: str
    time: str
    duration_minutes: int = 60
    link: str = ""
    rooms: tuple[str, ...] = ("tous",)
    reminders: tuple[str, ...] = DEFAULT_REMINDERS
    start_date: str | None = None
    location: str = ""


@dataclass(frozen=True)
class FeedConfig:
    url: str
    rooms: tuple[str, ...] = ("tous",)
    reminders: tuple[str, ...] = DEFAULT_REMINDERS
    # CATEGORIES value -> room targets; an event whose category matches goes there.
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)
    name: str = ""


@dataclass(frozen=True)
class AgendaConfig:
    recurring: tuple[RecurringEventConfig, ...] = ()
    feeds: tuple[FeedConfig, ...] = ()
    poll_minutes: float = 15.0
    grace_minutes: float = 30.0
    horizon_days: int = 60


def _reminder_offsets(reader: TomlReader, name: str) -> tuple[str, ...]:
    offsets = reader.strings(name, DEFAULT_REMINDERS)
    for offset in offsets:
        try:
            parse_offset_minutes(offset)
        except ValueError:
            raise reader.fail(name, f"« {offset} » n'est pas un délai comme 15m, 2h ou 1d") from None
    return offsets


def _recurring(r: TomlReader) -> RecurringEventConfig:
    time_text = r.get("time", str, required=True)
    if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", time_text):
        raise r.fail("time", f'« {time_text} » : heure locale attendue, comme "10:00"')
    rrule = r.get("rrule", str, required=True)
    try:
        rrulestr(rrule, dtstart=datetime(2000, 1, 1))
    except (ValueError, TypeError) as exc:
        raise r.fail("rrule", f"règle de récurrence RFC 5545 invalide ({exc})") from None
    config = RecurringEventConfig(
        title=r.get("title", str, required=True),
        rrule=rrule,
        time=time_text,
        duration_minutes=r.get("duration_minutes", int, RecurringEventConfig.duration_minutes),
        link=r.get("link", str, RecurringEventConfig.link),
        rooms=room_targets(r, "rooms"),
        reminders=_reminder_offsets(r, "reminders"),
        start_date=r.get("start_date", str, None),
        location=r.get("location", str, RecurringEventConfig.location),
    )
    r.no_unknown_keys()
    return config


def is_remote(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def check_local_feeds(agenda: AgendaConfig, path: Path) -> None:
    """check-config's verdict on local feed files. The bot itself starts without one (its feed
    poller says it is unreadable and keeps the last good copy): a file may come later."""
    for index, feed in enumerate(agenda.feeds):
        if not is_remote(feed.url) and not Path(feed.url).is_file():
            raise ConfigError(path, f"agenda.feeds[{index}].url", f"fichier introuvable : {feed.url}")


def _feed(f: TomlReader) -> FeedConfig:
    url = f.get("url", str, required=True)
    categories_reader = f.sub("categories")
    categories = {name: room_targets(categories_reader, name) for name in categories_reader.table}
    config = FeedConfig(
        url=url if is_remote(url) else str(resolve_path(f.base, url)),
        rooms=room_targets(f, "rooms"),
        reminders=_reminder_offsets(f, "reminders"),
        categories=categories,
        name=f.get("name", str, FeedConfig.name),
    )
    f.no_unknown_keys()
    return config


def parse_agenda(g: TomlReader) -> AgendaConfig:
    config = AgendaConfig(
        recurring=tuple(_recurring(r) for r in g.items("recurring")),
        feeds=tuple(_feed(f) for f in g.items("feeds")),
        poll_minutes=g.get("poll_minutes", float, AgendaConfig.poll_minutes),
        grace_minutes=g.get("grace_minutes", float, AgendaConfig.grace_minutes),
        horizon_days=g.get("horizon_days", int, AgendaConfig.horizon_days),
    )
    g.no_unknown_keys()
    return config
