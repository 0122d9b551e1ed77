"""A ReminderService over a real database, a clock the test moves and a collecting poster, and
calendar feeds the tests write (served over real HTTP by FeedServer)."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlmodel import col, select

from bot.rendering import Renderer, build_template_environment
from config import AgendaConfig, Config, FeedConfig, RecurringEventConfig
from handlers.agenda import ReminderService
from handlers.agenda.targets import AliasResolver
from handlers.context import Services
from handlers.replies import Reply
from storage.agenda import ReminderRow
from storage.database import Database
from storage.rooms import RoomRecord
from storage.unit_of_work import UnitsOfWork
from tests.unit.stand_ins import Clock, build_config

PARIS = ZoneInfo("Europe/Paris")
ANIM = "@anim:exemple.org"
TRIBES, PEER, FACILITATORS = ("!t1:x", "!t2:x"), "!p1:x", "!f:x"
PERMANENCE = RecurringEventConfig(
    title="Permanence",
    rrule="FREQ=MONTHLY;BYDAY=1TU",
    time="10:00",
    duration_minutes=90,
    link="https://visio.example.org/permanence",
    rooms=("tous",),
    reminders=("1d", "15m"),
)
# 2027-03-02 is the first Tuesday of March.
PERMANENCE_START = datetime(2027, 3, 2, 10, 0, tzinfo=PARIS)


class Poster:
    """A collecting services.post that renders each reply like the sender would."""

    def __init__(self) -> None:
        self.renderer = Renderer(build_template_environment())
        self.attempts: list[tuple[str | None, str | None, str]] = []  # (room, txn_key, text)
        self.unreachable: set[str] = set()
        self.crash_after: int | None = None  # raise CancelledError after this many successful posts
        # Like crash_after, but the homeserver has accepted the message when the bot dies (before
        # the bot could record it).
        self.crash_after_accepting: int | None = None
        self.tags: list[str | None] = []

    async def __call__(self, reply: Reply) -> str | None:
        if self.crash_after is not None and len(self.attempts) >= self.crash_after:
            raise asyncio.CancelledError()
        text = self.renderer.render(reply).plain
        self.attempts.append((reply.room_id, reply.txn_key, text))
        self.tags.append(reply.tag)
        if self.crash_after_accepting is not None and len(self.attempts) > self.crash_after_accepting:
            raise asyncio.CancelledError()
        if reply.room_id in self.unreachable:
            return None
        return f"$event{len(self.attempts)}"

    def to(self, room_id: str) -> list[str]:
        return [text for room, _, text in self.attempts if room == room_id]

    def txn_keys(self) -> list[str | None]:
        return [key for _, key, _ in self.attempts]


def make_config(tmp_path: Path, *, recurring=(PERMANENCE,), feeds=(), grace=30.0, horizon=60) -> Config:
    # The agenda's events are given as the dataclasses config/ reads them into, not as TOML tables.
    config = build_config(
        tmp_path,
        matrix={"user_id": "@bot:x"},
        access={"facilitators": [ANIM]},
        rooms=[{"kind": "tribe", "name": "Atelier", "id": "!t2:x", "alias": "#atelier:x"}],
    )
    agenda = AgendaConfig(
        recurring=tuple(recurring), feeds=tuple(feeds), poll_minutes=15, grace_minutes=grace, horizon_days=horizon
    )
    return dataclasses.replace(config, agenda=agenda)


def make_db(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'agenda.db'}")
    db.create_all()
    with db.session() as session:
        for room_id in TRIBES:
            session.merge(RoomRecord(room_id=room_id, kind="tribe"))
        session.merge(RoomRecord(room_id=PEER, kind="peer_group", role="elus"))
        session.merge(RoomRecord(room_id=FACILITATORS, kind="facilitators"))
        session.merge(RoomRecord(room_id="!dm:x", is_direct=True))
    return db


class Harness:
    def __init__(self, tmp_path: Path, now: datetime, **config) -> None:
        self.config = make_config(tmp_path, **config)
        self.db = make_db(tmp_path)
        self.clock = Clock(now)
        self.poster = Poster()
        self.facilitators = {ANIM}

    def service(self, scheduler=None, *, resolve_alias: AliasResolver | None = None) -> ReminderService:
        """A new service over the same database: what a restart gives."""
        services = Services(
            config=self.config,
            units=UnitsOfWork(self.db),
            bot_user_id="@bot:x",
            post=self.poster,
            clock=self.clock,
            scheduler=scheduler,
        )
        return ReminderService(
            services,
            is_facilitator=lambda user: user in self.facilitators,
            resolve_alias=resolve_alias,
            fetch_retry_wait=0,
        )

    def rows(self, **where) -> list[ReminderRow]:
        with self.db.session() as session:
            query = select(ReminderRow).order_by(col(ReminderRow.due_at), col(ReminderRow.id))
            for name, value in where.items():
                query = query.where(getattr(ReminderRow, name) == value)
            return list(session.exec(query))


async def manual_rows(
    service: ReminderService, due: datetime, *specs: tuple[str, tuple[str, ...]]
) -> list[ReminderRow]:
    return [await service.schedule_manual(text, due, targets, ANIM) for text, targets in specs]


def digest_key(room_id: str, row_ids) -> str:
    """Computed here, independently of the service: the same room and set of rows, the same key."""
    ids = ",".join(str(i) for i in sorted(row_ids))
    return f"reminder-digest-{room_id}-{hashlib.sha256(ids.encode()).hexdigest()[:24]}"


# ------------------------------------------------------------------ calendar feeds


def ics(*events: str) -> str:
    return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//FR\r\n" + "".join(events) + "END:VCALENDAR\r\n"


def vevent(uid: str, start: str, summary: str, *extra: str, minutes: int = 60) -> str:
    begin = datetime.strptime(start, "%Y%m%dT%H%M%S")
    end = (begin + timedelta(minutes=minutes)).strftime("%Y%m%dT%H%M%S")
    lines = [
        f"UID:{uid}",
        f"DTSTART;TZID=Europe/Paris:{start}",
        f"DTEND;TZID=Europe/Paris:{end}",
        f"SUMMARY:{summary}",
        *extra,
    ]
    return "BEGIN:VEVENT\r\n" + "".join(line + "\r\n" for line in lines) + "END:VEVENT\r\n"


class FeedServer:
    """A real HTTP server on 127.0.0.1 whose answer the test changes between polls."""

    def __init__(self) -> None:
        self.body, self.status, self.requests = "", 200, 0
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        return web.Response(text=self.body, status=self.status, content_type="text/calendar")

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_get("/agenda.ics", self.handle)
        self.runner = runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        _host, port = runner.addresses[0][:2]
        self.url = f"http://127.0.0.1:{port}/agenda.ics"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def feed_harness(tmp_path: Path, url: str) -> Harness:
    feed = FeedConfig(
        url=url, name="Framagenda", rooms=("tribus",), reminders=("1d", "15m"), categories={"Pairs": ("pairs",)}
    )
    return Harness(tmp_path, datetime(2027, 3, 1, 9, 0, tzinfo=PARIS), recurring=(), feeds=(feed,))
