"""ReminderService: rows, feeds over real HTTP, firing exactly once, grace, restarts, rights, commands."""
from __future__ import annotations

import asyncio
import hashlib
import json
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from sqlmodel import select

from config import (AccessConfig, AgendaConfig, BotConfig, Config, FeedConfig, MatrixConfig,
                        RecurringEventConfig, RoomConfig)
from bot.rendering import Renderer, build_template_environment
from handlers.agenda import ReminderService
from handlers.agenda.commands import agenda, diffuser, permanence, rappel, rappels
from handlers.context import CommandContext, Message, RoomInfo, Services
from handlers.replies import Reply, UserError
from storage.agenda import (BROADCAST, CANCELLATION, CANCELLED, EVENT, PENDING, SENDING, SENT, SKIPPED,
                            FeedCache, ReminderRow)
from storage.database import Database
from storage.rooms import RoomRecord

PARIS = ZoneInfo("Europe/Paris")
ANIM = "@anim:exemple.org"
TRIBES, PEER, FACILITATORS = ("!t1:x", "!t2:x"), "!p1:x", "!f:x"
PERMANENCE = RecurringEventConfig(title="Permanence", rrule="FREQ=MONTHLY;BYDAY=1TU", time="10:00",
                                  duration_minutes=90, link="https://visio.example.org/permanence",
                                  rooms=("tous",), reminders=("1d", "15m"))
# 2027-03-02 is the first Tuesday of March.
PERMANENCE_START = datetime(2027, 3, 2, 10, 0, tzinfo=PARIS)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment


class Poster:
    """A collecting services.post that renders each reply like the sender would."""

    def __init__(self) -> None:
        self.renderer = Renderer(build_template_environment())
        self.attempts: list[tuple[str, str | None, str]] = []  # (room, txn_key, text)
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
    return Config(path=tmp_path / "config.toml",
                  matrix=MatrixConfig(homeserver="http://127.0.0.1:8008", user_id="@bot:x"),
                  bot=BotConfig(data_dir=tmp_path),
                  access=AccessConfig(facilitators=(ANIM,)),
                  rooms=(RoomConfig(kind="tribe", name="Atelier", id="!t2:x", alias="#atelier:x"),),
                  agenda=AgendaConfig(recurring=tuple(recurring), feeds=tuple(feeds), poll_minutes=15,
                                      grace_minutes=grace, horizon_days=horizon))


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

    def service(self, scheduler=None) -> ReminderService:
        """A new service over the same database: what a restart gives."""
        services = Services(config=self.config, db=self.db, bot_user_id="@bot:x", post=self.poster,
                            clock=self.clock, scheduler=scheduler)
        service = ReminderService(services, is_facilitator=lambda user: user in self.facilitators,
                                  fetch_retry_wait=0)
        return service

    def rows(self, **where) -> list[ReminderRow]:
        with self.db.session() as session:
            query = select(ReminderRow).order_by(ReminderRow.due_at, ReminderRow.id)
            for name, value in where.items():
                query = query.where(getattr(ReminderRow, name) == value)
            return list(session.exec(query))


@pytest.fixture
def harness(tmp_path):
    h = Harness(tmp_path, PERMANENCE_START - timedelta(days=5))
    yield h
    h.db.close()


async def test_sync_creates_one_row_per_occurrence_and_offset_and_is_idempotent(harness):
    service = harness.service()
    first = await service.sync_from_config_and_feeds()
    rows = harness.rows()
    # 60 days from 2027-02-25: permanences of 2 March and 6 April, two reminders each.
    assert first.created == 4 and len(rows) == 4
    assert [r.due_at for r in rows[:2]] == [PERMANENCE_START - timedelta(days=1), PERMANENCE_START - timedelta(minutes=15)]
    assert all(r.status == PENDING and r.kind == EVENT for r in rows)
    again = await service.sync_from_config_and_feeds()
    assert (again.created, again.moved, again.cancelled) == (0, 0, 0) and len(harness.rows()) == 4


async def test_fire_posts_once_per_room_with_row_derived_txn_keys(harness):
    service = harness.service()
    await service.sync_from_config_and_feeds()
    row = harness.rows()[0]
    harness.clock.set(row.due_at + timedelta(seconds=2))
    await service.fire(row.id)
    await service.fire(row.id)  # the job and the catch-up may both try
    assert sorted(room for room, _, _ in harness.poster.attempts) == sorted([*TRIBES, PEER])
    assert set(harness.poster.txn_keys()) == {f"reminder-{row.id}-{room}" for room in (*TRIBES, PEER)}
    text = harness.poster.to(PEER)[0]
    assert "Permanence" in text and "demain" in text and "mardi 2 mars 2027 à 10h00" in text
    assert "https://visio.example.org/permanence" in text and "retard" not in text
    stored = harness.rows()[0]
    assert stored.status == SENT and not stored.late and stored.sent_at == harness.clock.now


async def test_late_within_grace_is_marked_and_beyond_grace_is_skipped(harness):
    service = harness.service()
    await service.sync_from_config_and_feeds()
    day_before, quarter = harness.rows()[:2]
    harness.clock.set(day_before.due_at + timedelta(minutes=20))
    assert await service.fire_due_now() == 1
    assert all("(rappel envoyé en retard)" in text for _, _, text in harness.poster.attempts)
    assert harness.rows(id=day_before.id)[0].late
    harness.poster.attempts.clear()
    harness.clock.set(quarter.due_at + timedelta(minutes=31))
    await service.fire_due_now()
    assert harness.poster.attempts == []
    assert harness.rows(id=quarter.id)[0].status == SKIPPED


async def test_restart_around_firing_time_posts_nothing_twice(harness):
    before = harness.service()
    await before.sync_from_config_and_feeds()
    row = harness.rows()[0]
    harness.clock.set(row.due_at)
    await before.fire(row.id)
    # Restart a few seconds later: catch-up and rebuilt jobs must not repost the sent row.
    harness.clock.set(row.due_at + timedelta(seconds=5))
    after = harness.service()
    await after.sync_from_config_and_feeds()
    assert await after.fire_due_now() == 0
    await after.fire(row.id)
    keys = harness.poster.txn_keys()
    assert len(keys) == len(set(keys)) == 3


async def test_crash_mid_posting_resumes_the_remaining_rooms_only(harness):
    first = harness.service()
    await first.sync_from_config_and_feeds()
    row = harness.rows()[0]
    harness.clock.set(row.due_at)
    harness.poster.crash_after = 1  # the process dies after the first room's post
    with pytest.raises(asyncio.CancelledError):
        await first.fire(row.id)
    crashed = harness.rows(id=row.id)[0]
    assert crashed.status == SENDING and len(crashed.posted_room_list) == 1
    harness.poster.crash_after = None
    await harness.service().fire_due_now()
    rooms = [room for room, _, _ in harness.poster.attempts]
    assert sorted(rooms) == sorted([*TRIBES, PEER])  # each room exactly once
    assert harness.rows(id=row.id)[0].status == SENT


async def test_rights_are_checked_when_a_manual_reminder_fires(harness):
    service = harness.service()
    due = harness.clock.now + timedelta(hours=1)
    row = service.schedule_manual("Pensez à l'Agora", due, ("tribus",), ANIM)
    harness.facilitators.clear()
    harness.clock.set(due)
    await service.fire(row.id)
    assert [room for room, _, _ in harness.poster.attempts] == [FACILITATORS]
    assert "ne fait plus partie" in harness.poster.to(FACILITATORS)[0]
    assert harness.rows(id=row.id)[0].status == SKIPPED


async def test_unreachable_room_is_reported_to_facilitators(harness):
    service = harness.service()
    harness.poster.unreachable.add(PEER)
    row = await service.broadcast_now("Agora demain", ("tous",), ANIM)
    assert row.status == SENT and sorted(row.posted_room_list) == sorted(TRIBES)
    notice = harness.poster.to(FACILITATORS)
    assert len(notice) == 1 and PEER in notice[0]


async def test_rebuild_jobs_with_a_real_scheduler_fires_through_apscheduler(harness):
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    scheduler = AsyncIOScheduler(timezone=timezone.utc)
    scheduler.start()
    try:
        service = harness.service(scheduler)
        await service.sync_from_config_and_feeds()
        assert service.rebuild_jobs(scheduler) == 4
        assert {job.id for job in scheduler.get_jobs()} == {f"reminder-{r.id}" for r in harness.rows()}
        # A manual reminder half a second ahead in real time; the logic clock agrees.
        real_due = datetime.now(timezone.utc) + timedelta(seconds=0.5)
        harness.clock.set(real_due)
        row = service.schedule_manual("Dans un instant", real_due, ("pairs",), ANIM)
        for _ in range(40):
            await asyncio.sleep(0.05)
            if harness.poster.attempts:
                break
        assert [room for room, _, _ in harness.poster.attempts] == [PEER]
        assert scheduler.get_job(f"reminder-{row.id}") is None
        # Rebuilding again drops nothing pending and adds nothing for the sent row.
        assert service.rebuild_jobs(scheduler) == 4
    finally:
        scheduler.shutdown(wait=False)


# ------------------------------------------------------------------ feeds over HTTP

def ics(*events: str) -> str:
    return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//FR\r\n" + "".join(events) + "END:VCALENDAR\r\n"


def vevent(uid: str, start: str, summary: str, *extra: str, minutes: int = 60) -> str:
    begin = datetime.strptime(start, "%Y%m%dT%H%M%S")
    end = (begin + timedelta(minutes=minutes)).strftime("%Y%m%dT%H%M%S")
    lines = [f"UID:{uid}", f"DTSTART;TZID=Europe/Paris:{start}", f"DTEND;TZID=Europe/Paris:{end}",
             f"SUMMARY:{summary}", *extra]
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
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/agenda.ics"

    async def stop(self) -> None:
        await self.runner.cleanup()


@pytest.fixture
async def feed_server():
    server = FeedServer()
    await server.start()
    yield server
    await server.stop()


def feed_harness(tmp_path: Path, url: str) -> Harness:
    feed = FeedConfig(url=url, name="Framagenda", rooms=("tribus",), reminders=("1d", "15m"),
                      categories={"Pairs": ("pairs",)})
    return Harness(tmp_path, datetime(2027, 3, 1, 9, 0, tzinfo=PARIS), recurring=(), feeds=(feed,))


async def test_feed_changes_between_polls_move_cancel_and_add(tmp_path, feed_server):
    feed_server.body = ics(
        vevent("atelier", "20270304T140000", "Atelier"),
        vevent("initiation", "20270305T100000", "Initiation", "CATEGORIES:Pairs"),
        vevent("agora", "20270310T180000", "Agora",
               "RRULE:FREQ=WEEKLY;COUNT=2"))
    harness = feed_harness(tmp_path, feed_server.url)
    service = harness.service()
    report = await service.sync_from_config_and_feeds()
    assert report.created == 8 and not report.feed_errors
    initiation_day_before = harness.rows(occurrence_key="initiation", offset_minutes=1440)[0]
    assert initiation_day_before.target_list == ["pairs"]
    # The initiation's day-before reminder goes out...
    harness.clock.set(initiation_day_before.due_at)
    await service.fire_due_now()
    assert len(harness.poster.to(PEER)) == 1

    # ...then the calendar changes: atelier moved, initiation cancelled, agora's 2nd date removed,
    # a new event appears.
    feed_server.body = ics(
        vevent("atelier", "20270308T090000", "Atelier"),
        vevent("initiation", "20270305T100000", "Initiation", "CATEGORIES:Pairs", "STATUS:CANCELLED"),
        vevent("agora", "20270310T180000", "Agora",
               "RRULE:FREQ=WEEKLY;COUNT=2", "EXDATE;TZID=Europe/Paris:20270317T180000"),
        vevent("nouveau", "20270312T100000", "Journée des pairs"))
    report = await service.poll()
    # The atelier's day-before reminder had been skipped (the clock jumped past it); that record stays,
    # superseded, and the move re-arms both reminders.
    atelier = harness.rows(occurrence_key="atelier", superseded=False)
    assert len(harness.rows(occurrence_key="atelier", superseded=True, status=SKIPPED)) == 1
    assert {r.due_at for r in atelier} == {datetime(2027, 3, 7, 9, tzinfo=PARIS), datetime(2027, 3, 8, 8, 45, tzinfo=PARIS)}
    assert all(r.status == PENDING for r in atelier)
    initiation = harness.rows(occurrence_key="initiation", kind=EVENT)
    assert {r.status for r in initiation} == {SENT, CANCELLED}
    second_agora = [r for r in harness.rows(kind=EVENT) if r.occurrence_key.startswith("agora|20270317")]
    assert {r.status for r in second_agora} == {CANCELLED}
    assert len(harness.rows(occurrence_key="nouveau")) == 2
    # The cancellation notice went to the room that had the reminder, once.
    notices = harness.rows(kind=CANCELLATION)
    assert len(notices) == 1 and notices[0].status == SENT
    peer_messages = harness.poster.to(PEER)
    assert len(peer_messages) == 2 and "Annulé : Initiation" in peer_messages[1]
    await service.poll()
    await harness.service().poll()  # a restart changes nothing either
    assert len(harness.poster.to(PEER)) == 2 and len(harness.rows(kind=CANCELLATION)) == 1
    assert report.cancelled == 3  # initiation 15m, agora 17 March x2


async def test_failing_feed_keeps_last_good_copy_and_warns_once(tmp_path, feed_server):
    feed_server.body = ics(vevent("atelier", "20270304T140000", "Atelier"))
    harness = feed_harness(tmp_path, feed_server.url)
    service = harness.service()
    await service.sync_from_config_and_feeds()
    assert len(harness.rows(status=PENDING)) == 2

    failures = [(500, feed_server.body), (200, "<html>Maintenance</html>")]
    for status, body in failures:
        feed_server.status, feed_server.body = status, body
        harness.clock.set(harness.clock.now + timedelta(hours=7))  # past any backoff
        report = await service.poll()
        assert report.feed_errors
        assert len(harness.rows(status=PENDING)) == 2  # the last good copy still drives the rows
    warnings = harness.poster.to(FACILITATORS)
    assert len(warnings) == 1 and "Framagenda" in warnings[0] and "500" in warnings[0]

    # While backing off, polls do not even hit the server.
    requests = feed_server.requests
    await service.poll()
    assert feed_server.requests == requests

    # Unreachable: the server is gone. Same outage, no new warning; the copy is in the DB.
    url = feed_server.url
    port = int(url.split(":")[2].split("/")[0])
    await feed_server.stop()
    harness.clock.set(harness.clock.now + timedelta(hours=7))
    report = await service.poll()
    assert "injoignable" in next(iter(report.feed_errors.values()))
    assert len(harness.poster.to(FACILITATORS)) == 1
    with harness.db.session() as session:
        cache = session.get(FeedCache, url)
        assert "atelier" in cache.body and cache.failures == 3 and cache.outage_notified

    # Back online: one recovery notice, and the next outage would be announced again.
    await feed_server.start(port)
    feed_server.status, feed_server.body = 200, ics(vevent("atelier", "20270304T140000", "Atelier"))
    harness.clock.set(harness.clock.now + timedelta(hours=7))
    await harness.service().poll()
    assert "de nouveau lisible" in harness.poster.to(FACILITATORS)[-1]
    assert len(harness.poster.to(FACILITATORS)) == 2


async def test_feed_never_read_leaves_rows_alone_and_config_events_still_work(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    feed = FeedConfig(url=f"http://127.0.0.1:{port}/x.ics", name="Absent")
    harness = Harness(tmp_path, PERMANENCE_START - timedelta(days=5), feeds=(feed,))
    report = await harness.service().sync_from_config_and_feeds()
    assert report.created == 4 and report.feed_errors
    assert "aucune copie valide" in harness.poster.to(FACILITATORS)[0]


# ------------------------------------------------------------------ commands

def context(harness: Harness, args: str, *, room: RoomInfo | None = None, sender: str = ANIM) -> CommandContext:
    service = harness.last_service = harness.service()
    room = room or RoomInfo(room_id=FACILITATORS, kind="facilitators")
    return CommandContext(message=Message(room=room, event_id="$cmd", sender=sender, body=args),
                          services=service.services, is_facilitator=sender in harness.facilitators, args=args)


async def call(harness: Harness, command, args: str, **where):
    """A command as the registry runs it: bound to a reminder service, given the message's context."""
    ctx = context(harness, args, **where)
    return await command(harness.last_service, ctx)


def render(reply: Reply) -> str:
    return Renderer(build_template_environment()).render(reply).plain


async def test_rappel_rappels_and_annuler(harness):
    reply = await call(harness, rappel, "demain 9h Pensez à l'Agora -> tribus, #atelier:x")
    text = render(reply)
    row = harness.rows(kind=BROADCAST)[0]
    assert f"n°{row.id}" in text and "vendredi 26 février 2027 à 9h00" in text
    assert row.target_list == ["tribus", "#atelier:x"] and row.text == "Pensez à l'Agora"
    listing = render(await call(harness, rappels, ""))
    assert f"n°{row.id}" in listing and "Pensez à l'Agora" in listing
    assert "Annulé" not in listing
    render(await call(harness, rappel, f"annuler {row.id}"))
    assert harness.rows(id=row.id)[0].status == CANCELLED
    with pytest.raises(UserError, match="ne peut plus"):
        await call(harness, rappel, f"annuler {row.id}")
    with pytest.raises(UserError, match="Aucun rappel"):
        await call(harness, rappel, "annuler 999")
    with pytest.raises(UserError, match="pas compris"):
        await call(harness, rappel, "un jour Agora")
    with pytest.raises(UserError, match="inconnu"):
        await call(harness, rappel, "demain 9h Agora -> cuisine")
    with pytest.raises(UserError, match="Il manque le message"):
        await call(harness, rappel, "demain 9h")


async def test_diffuser_posts_now_to_the_named_rooms(harness):
    reply = await call(harness, diffuser, "L'Agora commence ! -> pairs, #atelier:x")
    assert "2 salons" in render(reply)
    assert sorted(room for room, _, _ in harness.poster.attempts) == sorted([PEER, "!t2:x"])
    assert "L'Agora commence !" in harness.poster.to(PEER)[0]
    with pytest.raises(UserError):
        await call(harness, diffuser, "  -> pairs")


async def test_agenda_shows_events_for_this_room_and_permanence_its_link(tmp_path):
    pairs_only = RecurringEventConfig(title="Journée des pairs", rrule="FREQ=WEEKLY;BYDAY=TH", time="09:30",
                                      rooms=("pairs",))
    harness = Harness(tmp_path, PERMANENCE_START - timedelta(days=5), recurring=(PERMANENCE, pairs_only))
    tribe = RoomInfo(room_id="!t1:x", kind="tribe")
    peer = RoomInfo(room_id=PEER, kind="peer_group")
    tribe_text = render(await call(harness, agenda, "", room=tribe))
    peer_text = render(await call(harness, agenda, "", room=peer))
    assert "mardi 2 mars 2027 à 10h00" in tribe_text and "pairs" not in tribe_text
    assert "Journée des pairs" in peer_text and "jeudi 4 mars 2027 à 9h30" in peer_text
    text = render(await call(harness, permanence, "", room=tribe))
    assert "mardi 2 mars 2027 à 10h00" in text and "https://visio.example.org/permanence" in text


# A sample context per agenda template; tests/unit/template_samples.py can merge this dict.
AGENDA_TEMPLATE_SAMPLES = {f"agenda/{name}.md.j2": context for name, context in {
    "reminder": {"title": "Permanence", "delay": "demain", "when": "mardi 2 mars 2027 à 10h00",
                 "location": "Salle", "link": "https://x", "late": True, "all_day": False},
    "broadcast": {"text": "Bonjour <b>", "late": False},
    "cancellation": {"title": "Agora", "when": "mardi", "location": ""},
    "agenda": {"events": [{"title": "A", "when": "w", "location": "", "link": ""}], "days": 31},
    "permanence": {"event": None, "days": 60},
    "scheduled": {"manual": [], "events": [{"when": "w", "targets": "tous", "title": "P"}]},
    "scheduled_one": {"number": 3, "when": "w", "targets": "tous"},
    "broadcast_done": {"posted": 1, "problem": ""},
    "cancelled_one": {"number": 3},
    "feed_down": {"feed": "F", "error": "réponse HTTP 500", "has_copy": True, "last_good": ""},
    "feed_back": {"feed": "F"},
    "delivery_problem": {"number": 1, "title": "t", "failed": ["!a:x"], "unresolved": [], "none": False},
    "rights_revoked": {"number": 1, "author": "@a:x"},
    "digest": {"items": [
        {"template": "agenda/reminder.md.j2", "title": "Permanence", "text": "", "delay": "dans 15 minutes",
         "when": "mardi 2 mars 2027 à 10h00", "location": "", "link": "https://x", "late": False, "all_day": False},
        {"template": "agenda/broadcast.md.j2", "title": "", "text": "Pensez à l'Agora <b>", "delay": "", "when": "",
         "location": "", "link": "", "late": True, "all_day": False}]},
}.items()}


def test_every_agenda_template_renders():
    renderer = Renderer(build_template_environment())
    folder = Path(__file__).resolve().parents[2] / "handlers" / "templates" / "agenda"
    names = sorted(f"agenda/{path.name}" for path in folder.glob("*.md.j2"))
    assert names == sorted(AGENDA_TEMPLATE_SAMPLES)
    for name, sample in AGENDA_TEMPLATE_SAMPLES.items():
        rendered = renderer.render(Reply(template=name, context=sample))
        assert rendered.plain.strip() and "{{" not in rendered.plain
    reminder = renderer.render(Reply(template="agenda/reminder.md.j2",
                                     context=AGENDA_TEMPLATE_SAMPLES["agenda/reminder.md.j2"]))
    assert "(rappel envoyé en retard)" in reminder.plain
    digest = renderer.render(Reply(template="agenda/digest.md.j2",
                                   context=AGENDA_TEMPLATE_SAMPLES["agenda/digest.md.j2"]))
    assert "2 rappels" in digest.plain and "📅 Permanence — dans 15 minutes" in digest.plain
    assert "📢 Pensez à l'Agora" in digest.plain and digest.plain.count("(rappel envoyé en retard)") == 1
    assert "&lt;b&gt;" in digest.html
    problems = renderer.render(Reply(template="agenda/delivery_problem.md.j2", context={
        "number": None, "title": "", "failed": ["!a:x"], "unresolved": [], "none": False, "more": 0,
        "items": [{"number": 4, "title": "A", "none": False}, {"number": 5, "title": "B", "none": True}]}))
    assert "2 rappels" in problems.plain and "!a:x" in problems.plain and "n°5 (B)" in problems.plain
    broadcast = renderer.render(Reply(template="agenda/broadcast.md.j2",
                                      context=AGENDA_TEMPLATE_SAMPLES["agenda/broadcast.md.j2"]))
    assert "&lt;b&gt;" in broadcast.html  # a facilitator's HTML is shown, not interpreted


# ------------------------------------------------------------------ CLI

def test_cli_lists_occurrences_as_json_and_falls_back_to_the_stored_copy(tmp_path, capsys):
    from bot.cli import build_parser
    feed_path = tmp_path / "cal.ics"
    feed_path.write_text(ics(vevent("agora", "20270303T180000", "Agora", "LOCATION:Halle"),
                             vevent("annule", "20270304T180000", "Annulé", "STATUS:CANCELLED")), encoding="utf-8")
    config_path = tmp_path / "config.toml"
    config_path.write_text(f"""
[matrix]
homeserver = "http://127.0.0.1:8008"
user_id = "@bot:x"
[bot]
data_dir = "{tmp_path / 'data'}"
[[agenda.recurring]]
title = "Permanence"
rrule = "FREQ=MONTHLY;BYDAY=1TU"
time = "10:00"
duration_minutes = 90
[[agenda.feeds]]
url = "{feed_path}"
name = "Local"
""", encoding="utf-8")
    parser = build_parser()

    def run(*argv: str) -> int:
        args = parser.parse_args(["agenda", "--config", str(config_path), *argv])
        return args.func(args)

    assert run("--json", "--from", "2027-03-01", "--to", "2027-03-31") == 0
    items = json.loads(capsys.readouterr().out)
    assert [(i["title"], i["start"]) for i in items] == [("Permanence", "2027-03-02T10:00:00+01:00"),
                                                        ("Agora", "2027-03-03T18:00:00+01:00")]
    assert items[1]["location"] == "Halle" and items[1]["source"] == f"feed:{feed_path}"
    assert items[0]["end"] == "2027-03-02T11:30:00+01:00" and items[0]["all_day"] is False

    # The file disappears: the bot's stored copy is used, and stderr says so.
    db = Database.in_dir(tmp_path / "data")
    db.create_all()
    with db.session() as session:
        session.add(FeedCache(url=str(feed_path), body=feed_path.read_text(encoding="utf-8")))
    db.close()
    feed_path.unlink()
    assert run("--from", "2027-03-01", "--to", "2027-03-05") == 0
    out, err = capsys.readouterr()
    assert "copie enregistrée" in err and "Agora" in out and "mercredi 3 mars 2027" in out


async def test_a_job_left_at_the_old_time_of_a_moved_occurrence_does_not_fire_early(harness):
    service = harness.service()
    await service.sync_from_config_and_feeds()
    row = harness.rows()[0]
    later = row.due_at + timedelta(hours=3)
    with harness.db.session() as session:  # what a sync does when the occurrence moves later
        stored = session.get(ReminderRow, row.id)
        stored.due_at = later
        session.add(stored)
    harness.clock.set(row.due_at)
    await service.fire(row.id)
    assert harness.poster.attempts == [] and harness.rows(id=row.id)[0].status == PENDING
    harness.clock.set(later)
    await service.fire(row.id)
    assert len(harness.poster.attempts) == 3


async def test_reminders_after_the_spring_change_keep_local_time(harness):
    await harness.service().sync_from_config_and_feeds()
    april = [r for r in harness.rows() if r.start.astimezone(PARIS).month == 4]
    assert [r.due_at.astimezone(PARIS) for r in april] == [datetime(2027, 4, 5, 10, 0, tzinfo=PARIS),
                                                           datetime(2027, 4, 6, 9, 45, tzinfo=PARIS)]
    assert april[0].due_at.astimezone(timezone.utc).hour == 8


async def test_start_catches_up_within_grace_and_schedules_the_rest(harness):
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    await harness.service().sync_from_config_and_feeds()
    day_before = harness.rows()[0]
    # The bot was down when the day-before reminder came due; it restarts 10 minutes later.
    harness.clock.set(day_before.due_at + timedelta(minutes=10))
    scheduler = AsyncIOScheduler(timezone=timezone.utc)
    scheduler.start(paused=True)  # jobs are inspected, not run
    try:
        await harness.service().start(scheduler)
        assert len(harness.poster.attempts) == 3
        assert all("(rappel envoyé en retard)" in text for _, _, text in harness.poster.attempts)
        pending = {f"reminder-{r.id}" for r in harness.rows(status=PENDING)}
        assert len(pending) == 3
        assert {job.id for job in scheduler.get_jobs()} == pending | {"agenda-poll"}
    finally:
        scheduler.shutdown(wait=False)


async def test_aliases_resolve_through_config_then_the_bot_hook(harness):
    asked: list[str] = []

    async def directory_lookup(alias: str) -> str | None:
        asked.append(alias)
        return "!ext:x" if alias == "#externe:x" else None

    service = harness.service()
    service.resolve_alias = directory_lookup
    await service.broadcast_now("Bonjour", ("#atelier:x", "#externe:x"), ANIM)
    assert [room for room, _, _ in harness.poster.attempts] == ["!t2:x", "!ext:x"]
    assert asked == ["#externe:x"]  # the configured alias needs no lookup
    with pytest.raises(UserError, match="introuvable"):
        await service.check_targets(("#absent:x",))


# ------------------------------------------------------------------ several reminders due together

def digest_key(room_id: str, row_ids) -> str:
    """Computed here, independently of the service: the same room and set of rows, the same key."""
    ids = ",".join(str(i) for i in sorted(row_ids))
    return f"reminder-digest-{room_id}-{hashlib.sha256(ids.encode()).hexdigest()[:24]}"


def manual_rows(service: ReminderService, due: datetime, *specs: tuple[str, tuple[str, ...]]) -> list[ReminderRow]:
    return [service.schedule_manual(text, due, targets, ANIM) for text, targets in specs]


async def test_rows_due_together_for_one_room_go_out_as_one_digest(harness):
    service = harness.service()
    await service.sync_from_config_and_feeds()
    due = harness.clock.now + timedelta(hours=1)
    early = service.schedule_manual("Rappel déjà en retard", due - timedelta(minutes=5), ("pairs",), ANIM)
    rows = [early, *manual_rows(service, due, ("Agora à 14h", ("pairs",)), ("Apportez vos cartes", ("pairs",)))]
    harness.clock.set(due)
    await service.fire(rows[1].id)  # one row's job takes every row already due along
    for row in rows:
        await service.fire(row.id)  # the other jobs find nothing left to do
    assert harness.poster.attempts and [room for room, _, _ in harness.poster.attempts] == [PEER]
    _, key, text = harness.poster.attempts[0]
    assert key == digest_key(PEER, [r.id for r in rows]) == digest_key(PEER, [r.id for r in reversed(rows)])
    assert harness.poster.tags == ["reminders:" + ",".join(str(r.id) for r in rows)]
    assert "3 rappels" in text
    positions = [text.index(f"📢 {r.text}") for r in rows]
    assert positions == sorted(positions)  # in due order
    assert text.count("(rappel envoyé en retard)") == 1  # only the late one says so
    stored = harness.rows(kind=BROADCAST)
    assert [(r.status, r.posted_room_list, r.late) for r in stored] == \
        [(SENT, [PEER], True), (SENT, [PEER], False), (SENT, [PEER], False)]
    # The event reminders, not due yet, were left alone.
    assert {r.status for r in harness.rows(kind=EVENT)} == {PENDING}


async def test_rows_for_different_rooms_give_one_post_per_room(harness):
    service = harness.service()
    due = harness.clock.now + timedelta(hours=1)
    a, b, c, d = manual_rows(service, due, ("A pour les pairs", ("pairs",)), ("B pour les pairs", ("pairs",)),
                             ("C pour t1", ("!t1:x",)), ("D pour les tribus", ("tribus",)))
    harness.clock.set(due)
    assert await service.fire_due_now() == 4
    attempts = {room: (key, text) for room, key, text in harness.poster.attempts}
    assert len(harness.poster.attempts) == len(attempts) == 3  # one message per room
    assert attempts[PEER][0] == digest_key(PEER, [a.id, b.id])
    assert "A pour les pairs" in attempts[PEER][1] and "B pour les pairs" in attempts[PEER][1]
    assert attempts["!t1:x"][0] == digest_key("!t1:x", [c.id, d.id])
    assert "C pour t1" in attempts["!t1:x"][1] and "D pour les tribus" in attempts["!t1:x"][1]
    # Alone in its room: the row's own message and key, exactly as before digests.
    assert attempts["!t2:x"] == (f"reminder-{d.id}-!t2:x", "📢 D pour les tribus")
    assert sorted(harness.rows(id=d.id)[0].posted_room_list) == ["!t1:x", "!t2:x"]
    assert {r.status for r in harness.rows(kind=BROADCAST)} == {SENT}


async def test_a_single_due_row_keeps_its_own_message_and_key(harness):
    service = harness.service()
    due = harness.clock.now + timedelta(hours=1)
    row = service.schedule_manual("Pensez à l'Agora", due, ("pairs",), ANIM)
    service.schedule_manual("Plus tard", due + timedelta(minutes=1), ("pairs",), ANIM)  # not due yet
    harness.clock.set(due)
    await service.fire(row.id)
    assert harness.poster.attempts == [(PEER, f"reminder-{row.id}-{PEER}", "📢 Pensez à l'Agora")]
    assert harness.poster.tags == [f"reminder:{row.id}"]
    assert [r.status for r in harness.rows(kind=BROADCAST)] == [SENT, PENDING]


async def test_restart_after_a_partial_digest_posts_only_to_the_rooms_not_reached(harness):
    first = harness.service()
    due = harness.clock.now + timedelta(hours=1)
    rows = manual_rows(first, due, ("Agora", ("tous",)), ("Compost", ("tous",)))
    ids = [r.id for r in rows]
    harness.clock.set(due)
    harness.poster.crash_after = 1  # the process dies after the first room's digest
    with pytest.raises(asyncio.CancelledError):
        await first.fire(rows[0].id)
    crashed = harness.rows(kind=BROADCAST)
    assert {r.status for r in crashed} == {SENDING}
    reached = crashed[0].posted_room_list
    assert len(reached) == 1 and crashed[1].posted_room_list == reached  # recorded for every row of the group
    harness.poster.crash_after = None
    harness.clock.set(due + timedelta(seconds=30))
    await harness.service().fire_due_now()
    rooms = [room for room, _, _ in harness.poster.attempts]
    assert sorted(rooms) == sorted([*TRIBES, PEER])  # each room exactly once
    assert harness.poster.txn_keys() == [digest_key(room, ids) for room in rooms]
    assert all("Agora" in text and "Compost" in text for _, _, text in harness.poster.attempts)
    assert [(r.status, sorted(r.posted_room_list)) for r in harness.rows(kind=BROADCAST)] == \
        [(SENT, sorted([*TRIBES, PEER]))] * 2


async def test_a_crash_between_post_and_record_retries_with_the_same_digest_key(harness):
    first = harness.service()
    due = harness.clock.now + timedelta(hours=1)
    rows = manual_rows(first, due, ("Agora", ("pairs",)), ("Compost", ("pairs",)))
    harness.clock.set(due)
    harness.poster.crash_after_accepting = 0  # the homeserver took the digest; the bot died before recording it
    with pytest.raises(asyncio.CancelledError):
        await first.fire(rows[0].id)
    assert [r.posted_room_list for r in harness.rows(kind=BROADCAST)] == [[], []]
    harness.poster.crash_after_accepting = None
    # A row falling due meanwhile must not change the group the retry forms.
    later = harness.service().schedule_manual("Arrivé entre-temps", due + timedelta(seconds=20), ("pairs",), ANIM)
    harness.clock.set(due + timedelta(seconds=30))
    await harness.service().fire_due_now()
    keys = harness.poster.txn_keys()
    # The retry reuses the first key (the homeserver drops that duplicate); the newcomer goes alone.
    assert keys == [digest_key(PEER, [r.id for r in rows])] * 2 + [f"reminder-{later.id}-{PEER}"]
    assert {r.status for r in harness.rows(kind=BROADCAST)} == {SENT}


async def test_an_unreachable_room_is_reported_once_per_firing(harness):
    service = harness.service()
    harness.poster.unreachable.add(PEER)
    due = harness.clock.now + timedelta(hours=1)
    rows = manual_rows(service, due, ("Agora", ("tous",)), ("Compost", ("tous",)), ("Pairs seuls", ("pairs",)))
    harness.clock.set(due)
    await service.fire_due_now()
    notices = harness.poster.to(FACILITATORS)
    assert len(notices) == 1 and PEER in notices[0]
    assert all(f"n°{r.id}" in notices[0] for r in rows)
    stored = {r.id: r for r in harness.rows(kind=BROADCAST)}
    assert stored[rows[0].id].status == stored[rows[1].id].status == SENT
    assert sorted(stored[rows[0].id].posted_room_list) == sorted(TRIBES)
    assert PEER in stored[rows[0].id].reason
    assert stored[rows[2].id].status == "failed" and stored[rows[2].id].posted_room_list == []
