"""Occurrences of events in a time window, from the configuration's recurring events and from
ICS calendar feeds.

Pure and synchronous: callers run the ICS parsing in a thread (asyncio.to_thread).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import icalendar
import recurring_ical_events
import x_wr_timezone
from dateutil.rrule import rrulestr

from config import FeedConfig, RecurringEventConfig
from knowledge.folding import fold_accents

CONFIG_SOURCE = "config"
# All-day events have no time; their reminders count back from 09:00 local on the day, so a
# "1d" reminder arrives the morning before rather than at midnight.
ALL_DAY_ANCHOR = time(9, 0)
# The feeds' calendars by source ("feed:<url>"): the feed as configured, and its parsed copy.
Calendars = dict[str, tuple[FeedConfig, icalendar.Calendar]]


@dataclass(frozen=True)
class Occurrence:
    source: str
    uid: str
    # The original start of this occurrence in its series ("" for a one-off event): with the
    # source and uid, the identity that survives a move.
    recurrence_id: str
    title: str
    start: datetime  # aware, in the configured zone
    end: datetime
    all_day: bool = False
    location: str = ""
    link: str = ""
    description: str = ""
    rooms: tuple[str, ...] = ("tous",)
    reminders: tuple[str, ...] = ()
    cancelled: bool = False
    categories: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.uid}|{self.recurrence_id}" if self.recurrence_id else self.uid

    @property
    def anchor(self) -> datetime:
        """The instant reminders count back from."""
        if self.all_day:
            return datetime.combine(self.start.date(), ALL_DAY_ANCHOR, tzinfo=self.start.tzinfo)
        return self.start

    def as_json(self) -> dict[str, object]:
        return {
            "uid": self.uid,
            "recurrence_id": self.recurrence_id or None,
            "title": self.title,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "all_day": self.all_day,
            "location": self.location,
            "link": self.link,
            "rooms": list(self.rooms),
            "source": self.source,
        }


def feed_source(feed: FeedConfig) -> str:
    return f"feed:{feed.url}"


def config_uid(event: RecurringEventConfig) -> str:
    # The title names the event for the community; the rule and time may be edited and should
    # move the occurrences, not replace them.
    slug = re.sub(r"[^a-z0-9]+", "-", fold_accents(event.title)).strip("-")
    return f"config-{slug or hashlib.sha1(event.title.encode()).hexdigest()[:8]}"


def expand_recurring(event: RecurringEventConfig, tz: tzinfo, start: datetime, end: datetime) -> list[Occurrence]:
    """Occurrences of a configured event starting in [start, end).

    The rule runs on naive local wall time and the zone is attached afterwards, so "10:00" stays
    10:00 local on both sides of a DST change (a rule on aware datetimes would keep a fixed UTC
    offset instead).
    """
    hour, minute = (int(part) for part in event.time.split(":"))
    first_day = date.fromisoformat(event.start_date) if event.start_date else date(2000, 1, 1)
    dtstart = datetime.combine(first_day, time(hour, minute))
    rule = rrulestr(event.rrule, dtstart=dtstart)
    # Widen by a day on both sides: the window is aware, the rule is naive local time.
    naive_from = start.astimezone(tz).replace(tzinfo=None) - timedelta(days=1)
    naive_to = end.astimezone(tz).replace(tzinfo=None) + timedelta(days=1)
    occurrences = []
    for naive in rule.between(naive_from, naive_to, inc=True):
        local = naive.replace(tzinfo=tz)
        if not (start <= local < end):
            continue
        occurrences.append(
            Occurrence(
                source=CONFIG_SOURCE,
                uid=config_uid(event),
                recurrence_id=naive.date().isoformat(),
                title=event.title,
                start=local,
                end=local + timedelta(minutes=event.duration_minutes),
                location=event.location,
                link=event.link,
                rooms=event.rooms,
                reminders=event.reminders,
            )
        )
    return occurrences


def parse_calendar(text: str) -> icalendar.Calendar:
    """Parses ICS text; raises ValueError on anything that is not a calendar."""
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except Exception as exc:  # icalendar raises a variety of types on garbage
        raise ValueError(f"not an iCalendar document: {exc}") from None
    if calendar.name != "VCALENDAR":
        raise ValueError(f"not a VCALENDAR but {calendar.name}")
    return calendar


def _as_local(value: date | datetime, tz: tzinfo) -> datetime:
    if isinstance(value, datetime):
        # A floating time (no zone at all) is read as the community's local time.
        return value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)
    return datetime.combine(value, time(0, 0), tzinfo=tz)


def _recurrence_id(value: date | datetime, tz: tzinfo) -> str:
    if isinstance(value, datetime):
        aware = value.replace(tzinfo=tz) if value.tzinfo is None else value
        return aware.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return value.strftime("%Y%m%d")


def _series_uids(calendar: icalendar.Calendar) -> set[str]:
    """UIDs that form a series: their occurrences need the recurrence id to be told apart, whereas
    a one-off event is identified by its uid alone (so moving it keeps its identity)."""
    uids = set()
    for component in calendar.walk("VEVENT"):
        if any(name in component for name in ("RRULE", "RDATE", "RECURRENCE-ID")):
            uids.add(str(component.get("UID", "")))
    return uids


def _categories(component: icalendar.Event) -> tuple[str, ...]:
    try:
        return tuple(str(c) for c in component.categories)
    except Exception:  # a malformed CATEGORIES line should not lose the event
        return ()


def route(categories: Iterable[str], feed: FeedConfig) -> tuple[str, ...]:
    """Room targets for a feed event: the union of its matching categories, else the feed's rooms."""
    by_folded = {fold_accents(name): targets for name, targets in feed.categories.items()}
    targets: list[str] = []
    for category in categories:
        for target in by_folded.get(fold_accents(category), ()):
            if target not in targets:
                targets.append(target)
    return tuple(targets) or feed.rooms


def expand_calendar(
    calendar: icalendar.Calendar, feed: FeedConfig, tz: tzinfo, start: datetime, end: datetime
) -> list[Occurrence]:
    """Occurrences of a feed's events starting in [start, end), cancelled ones included (flagged)."""
    # Calendars that name their zone only in X-WR-TIMEZONE (Google, some Nextcloud exports) store
    # UTC or floating times; to_standard turns them into proper zoned times.
    calendar = x_wr_timezone.to_standard(calendar)
    series = _series_uids(calendar)
    source = feed_source(feed)
    occurrences = []
    for component in recurring_ical_events.of(calendar, skip_bad_series=True).between(start, end):
        dtstart = component["DTSTART"].dt
        all_day = not isinstance(dtstart, datetime)
        local_start = _as_local(dtstart, tz)
        if "DTEND" in component:
            local_end = _as_local(component["DTEND"].dt, tz)
        elif "DURATION" in component:
            local_end = local_start + component["DURATION"].dt
        else:
            local_end = local_start + (timedelta(days=1) if all_day else timedelta(0))
        if not (start <= local_start < end):
            continue  # an event overlapping the window but starting before it
        uid = str(component.get("UID", "")) or hashlib.sha1(component.to_ical()).hexdigest()[:16]
        recurrence = component.get("RECURRENCE-ID")
        recurrence_id = _recurrence_id(recurrence.dt, tz) if uid in series and recurrence is not None else ""
        categories = _categories(component)
        occurrences.append(
            Occurrence(
                source=source,
                uid=uid,
                recurrence_id=recurrence_id,
                title=str(component.get("SUMMARY", "")).strip() or "(sans titre)",
                start=local_start,
                end=local_end,
                all_day=all_day,
                location=str(component.get("LOCATION", "")).strip(),
                link=str(component.get("URL", "")).strip(),
                description=str(component.get("DESCRIPTION", "")).strip(),
                rooms=route(categories, feed),
                reminders=feed.reminders,
                cancelled=str(component.get("STATUS", "")).upper() == "CANCELLED",
                categories=categories,
            )
        )
    return occurrences


def expand_all(
    recurring: Iterable[RecurringEventConfig],
    calendars: Calendars,
    tz: tzinfo,
    start: datetime,
    end: datetime,
) -> list[Occurrence]:
    """Every occurrence in the window, sorted by start; ``calendars`` maps a source to its parsed feed."""
    occurrences: list[Occurrence] = []
    for event in recurring:
        occurrences.extend(expand_recurring(event, tz, start, end))
    for feed, calendar in calendars.values():
        occurrences.extend(expand_calendar(calendar, feed, tz, start, end))
    occurrences.sort(key=lambda o: (o.start, o.title))
    return occurrences
