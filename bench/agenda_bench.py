"""Agenda benchmark: feed expansion at scale, and planning 1,000 reminders due in the same minute.

Run: .venv/bin/python -m bench.agenda_bench
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from config import AccessConfig, AgendaConfig, BotConfig, Config, FeedConfig, MatrixConfig
from handlers.agenda import ReminderService
from handlers.agenda.occurrences import expand_calendar, parse_calendar
from handlers.context import Services
from storage.database import Database
from storage.rooms import RoomRecord
from storage.unit_of_work import UnitsOfWork

PARIS = ZoneInfo("Europe/Paris")
FEEDS, EVENTS_PER_FEED = 200, 50
REMINDERS, ROOMS = 1000, 100
VTIMEZONE = """BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r
BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nTZOFFSETFROM:+0100\r
TZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"""
RULES = [
    "RRULE:FREQ=WEEKLY;BYDAY=TU",
    "RRULE:FREQ=MONTHLY;BYDAY=1TU",
    "RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=20",
    "RRULE:FREQ=DAILY;COUNT=10",
    "",
    "",
    "",
]


def feed_text(feed: int, rng: random.Random) -> str:
    events = []
    for number in range(EVENTS_PER_FEED):
        start = datetime(2027, 1, 4, 8, 0) + timedelta(days=rng.randrange(330), hours=rng.randrange(10))
        rule = rng.choice(RULES)
        lines = [
            f"UID:f{feed}-e{number}@bench",
            f"DTSTART;TZID=Europe/Paris:{start:%Y%m%dT%H%M%S}",
            f"DTEND;TZID=Europe/Paris:{start + timedelta(hours=2):%Y%m%dT%H%M%S}",
            f"SUMMARY:Événement {number} du calendrier {feed}",
            "CATEGORIES:Tribus",
        ]
        if rule:
            lines.append(rule)
            if rng.random() < 0.3:  # an exception date on some series
                lines.append(f"EXDATE;TZID=Europe/Paris:{start + timedelta(days=14):%Y%m%dT%H%M%S}")
        events.append("BEGIN:VEVENT\r\n" + "".join(f"{line}\r\n" for line in lines) + "END:VEVENT\r\n")
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//FR\r\n" + VTIMEZONE + "".join(events) + "END:VCALENDAR\r\n"
    )


def bench_expansion() -> None:
    rng = random.Random(5)
    texts = [feed_text(feed, rng) for feed in range(FEEDS)]
    start, end = datetime(2027, 1, 1, tzinfo=PARIS), datetime(2028, 1, 1, tzinfo=PARIS)
    began = time.perf_counter()
    calendars = [parse_calendar(text) for text in texts]
    parsed = time.perf_counter()
    count = sum(
        len(expand_calendar(calendar, FeedConfig(url=f"bench:{i}"), PARIS, start, end))
        for i, calendar in enumerate(calendars)
    )
    done = time.perf_counter()
    print(f"expansion: {FEEDS} feeds x {EVENTS_PER_FEED} events ({sum(map(len, texts)) / 1e6:.1f} MB of ICS), one year")
    print(f"  parse   {parsed - began:7.2f} s  ({(parsed - began) / FEEDS * 1000:.1f} ms/feed)")
    print(f"  expand  {done - parsed:7.2f} s  ({(done - parsed) / FEEDS * 1000:.1f} ms/feed)")
    print(f"  total   {done - began:7.2f} s  -> {count} occurrences")


async def bench_planning(folder: Path) -> None:
    rooms = [f"!room{n}:bench" for n in range(ROOMS)]
    real_start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=2)
    local = real_start.astimezone(PARIS)
    events = []
    for number in range(REMINDERS):
        events.append(
            f"BEGIN:VEVENT\r\nUID:same-minute-{number}\r\n"
            f"DTSTART;TZID=Europe/Paris:{local:%Y%m%dT%H%M%S}\r\n"
            f"SUMMARY:Rendez-vous {number}\r\nCATEGORIES:salle{number % ROOMS}\r\nEND:VEVENT\r\n"
        )
    feed_path = folder / "same-minute.ics"
    feed_path.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//FR\r\n" + VTIMEZONE + "".join(events) + "END:VCALENDAR\r\n",
        encoding="utf-8",
    )
    feed = FeedConfig(
        url=str(feed_path),
        name="bench",
        reminders=("15m",),
        categories={f"salle{n}": (room,) for n, room in enumerate(rooms)},
    )
    config = Config(
        path=folder / "config.toml",
        matrix=MatrixConfig(homeserver="http://x", user_id="@b:x"),
        bot=BotConfig(data_dir=folder),
        access=AccessConfig(),
        agenda=AgendaConfig(feeds=(feed,), horizon_days=60),
    )
    db = Database.in_dir(folder)
    db.create_all()
    with db.session() as session:
        for room in rooms:
            session.add(RoomRecord(room_id=room, kind="tribe"))
    posted: list[str] = []

    async def post(reply) -> str:
        posted.append(reply.txn_key)
        return f"$e{len(posted)}"

    now = [datetime.now(UTC)]
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.start(paused=True)
    services = Services(
        config=config,
        units=UnitsOfWork(db),
        bot_user_id="@b:x",
        post=post,
        clock=lambda: now[0],
        scheduler=scheduler,
    )
    service = ReminderService(services)

    began = time.perf_counter()
    report = await service.sync_from_config_and_feeds()
    synced = time.perf_counter()
    jobs = await service.rebuild_jobs(scheduler)
    rebuilt = time.perf_counter()
    await service.sync_from_config_and_feeds()
    resynced = time.perf_counter()
    jobs_again = await service.rebuild_jobs(scheduler)
    rebuilt_again = time.perf_counter()
    print(f"planning: {REMINDERS} reminders due in the same minute across {ROOMS} rooms")
    print(f"  first sync (read+parse+expand+insert)  {synced - began:6.3f} s  ({report.created} rows)")
    print(f"  rebuild_jobs                           {rebuilt - synced:6.3f} s  ({jobs} jobs)")
    print(f"  idempotent re-sync                     {resynced - rebuilt:6.3f} s")
    print(f"  rebuild_jobs again (replace_existing)  {rebuilt_again - resynced:6.3f} s  ({jobs_again} jobs)")

    # Firing cost with an instant post: what the bot adds to the homeserver's own latency.
    now[0] = real_start - timedelta(minutes=15) + timedelta(seconds=1)
    began = time.perf_counter()
    fired = await service.fire_due_now()
    done = time.perf_counter()
    print(
        f"  fire {fired} rows (instant post)          {done - began:6.3f} s  "
        f"({(done - began) / max(fired, 1) * 1000:.2f} ms/row, {len(posted)} posts)"
    )
    scheduler.shutdown(wait=False)
    db.close()


def main() -> None:
    bench_expansion()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(bench_planning(Path(folder)))


if __name__ == "__main__":
    main()
