"""The inbox: every event recorded before the sync token passes it, handled once, in order, through
crashes, database outages and a failing homeserver."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest
from nio import MatrixRoom, MegolmEvent, RoomGetEventError, RoomGetEventResponse, RoomMessageText
from prometheus_client import CollectorRegistry
from sqlalchemy.exc import OperationalError

from bot.inbox import Arrival, Inbox
from bot.sender import HomeserverUnavailable
from handlers.metrics import Metrics
from storage.database import DATABASE_FILE, Database
from storage.messages import HandledEvent, mark_done, pending_events
from storage.unit_of_work import UnitOfWork, UnitsOfWork

BOT, ANA = "@bot:h", "@ana:h"
ROOM = "!tribu:h"


def text(event_id: str, ts: int = 1) -> RoomMessageText:
    event = RoomMessageText.from_dict(
        {
            "type": "m.room.message",
            "event_id": event_id,
            "sender": ANA,
            "origin_server_ts": ts,
            "content": {"msgtype": "m.text", "body": event_id},
        }
    )
    assert isinstance(event, RoomMessageText)  # nio parses to whichever class the dict is
    return event


def encrypted(event_id: str) -> MegolmEvent:
    return MegolmEvent.from_dict(
        {
            "type": "m.room.encrypted",
            "event_id": event_id,
            "sender": ANA,
            "origin_server_ts": 1,
            "room_id": ROOM,
            "content": {
                "algorithm": "m.megolm.v1.aes-sha2",
                "ciphertext": "c2VjcmV0",
                "sender_key": "curve",
                "session_id": "S1",
                "device_id": "PHONE",
            },
        }
    )


class Client:
    """What the inbox uses of the bot's client: rooms, the homeserver's copy of events, the sync token."""

    def __init__(self) -> None:
        self.rooms = {ROOM: MatrixRoom(ROOM, BOT)}
        self.events: dict[str, RoomMessageText] = {}
        self.tokens: list[str] = []

    def commit_sync_token(self, token: str) -> None:
        self.tokens.append(token)

    async def room_get_event(self, room_id: str, event_id: str):
        if event_id not in self.events:
            return RoomGetEventError.from_dict({"errcode": "M_NOT_FOUND", "error": "Event not found."})
        answer = RoomGetEventResponse()
        answer.event = self.events[event_id]
        return answer


class Handler:
    """Records what it handles; fails as told first."""

    def __init__(self) -> None:
        self.handled: list[str] = []
        self.kinds: list[str] = []
        self.failures: list[Exception] = []
        self.gate: asyncio.Event | None = None

    async def __call__(self, arrival: Arrival, work: UnitOfWork) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.failures:
            raise self.failures.pop(0)
        self.handled.append(arrival.event_id)
        self.kinds.append(arrival.kind)


@pytest.fixture
def metrics():
    return Metrics(CollectorRegistry())


def inbox_for(client: Client, db: Database, metrics: Metrics) -> Inbox:
    return Inbox(client, UnitsOfWork(db), metrics, first_wait=0.01, longest_wait=0.05)


async def until(condition) -> None:
    """Within 15 s; a test that needs sooner says so with asyncio.timeout."""
    deadline = asyncio.get_running_loop().time() + 15.0
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def states(db: Database) -> dict[str, bool]:
    with db.session() as session:
        return {row.event_id: row.done for row in session.query(HandledEvent).all()}


async def test_a_sync_s_events_are_recorded_before_its_token_and_handled_once_in_order(db, metrics):
    client, handler = Client(), Handler()
    inbox = inbox_for(client, db, metrics)
    room = client.rooms[ROOM]
    inbox.start(handler)
    try:
        for event_id in ("$1", "$2", "$1"):  # a sync may bring an event twice
            inbox.receive(room, text(event_id))
        inbox.end_of_sync("t1")
        await until(lambda: len(handler.handled) == 2)
        inbox.receive(room, text("$2"))  # brought again by a later sync: already done
        inbox.receive(room, text("$3"))
        inbox.end_of_sync("t2")
        await until(lambda: handler.handled[-1:] == ["$3"])
    finally:
        await inbox.stop()
    assert handler.handled == ["$1", "$2", "$3"]
    assert client.tokens == ["t1", "t2"]
    assert states(db) == {"$1": True, "$2": True, "$3": True}


async def test_the_sync_token_is_saved_on_the_loops_thread_once_its_events_are_recorded(db, metrics):
    """nio writes its store from the loop's thread; a commit from another connection would break its
    transactions (tests/unit/bot/test_matrix_client.py)."""
    threads: list[int] = []

    class ThreadNoting(Client):
        def commit_sync_token(self, token: str) -> None:
            threads.append(threading.get_ident())
            super().commit_sync_token(token)

    client, handler = ThreadNoting(), Handler()
    inbox = inbox_for(client, db, metrics)
    inbox.start(handler)
    try:
        inbox.receive(client.rooms[ROOM], text("$q"))
        inbox.end_of_sync("t1")
        inbox.receive(client.rooms[ROOM], text("$r"))
        inbox.end_of_sync("t2")
        await until(lambda: handler.handled == ["$q", "$r"])
    finally:
        await inbox.stop()
    assert client.tokens == ["t1", "t2"]
    assert set(threads) == {threading.get_ident()}
    assert set(states(db).values()) == {True}


async def test_what_a_dead_process_left_pending_is_handled_at_start_before_the_catch_up(db, metrics):
    client = Client()
    room = client.rooms[ROOM]
    first = inbox_for(client, db, metrics)
    for event_id, ts in (("$old", 1), ("$gone", 2), ("$again", 3)):
        first.receive(room, text(event_id, ts))
    first.end_of_sync("t1")
    await first._record()  # recorded, then the process dies before handling them (never started)
    assert client.tokens == ["t1"]  # saved once its events are recorded
    assert set(states(db).values()) == {False}

    client.events = {"$old": text("$old", 1), "$again": text("$again", 3)}  # "$gone" was deleted meanwhile
    handler = Handler()
    second = inbox_for(client, db, metrics)
    # The catch-up sync brings "$again" (its token had not moved past it) and a new message.
    second.receive(room, text("$again", 3))
    second.receive(room, text("$new", 4))
    assert await second.recover() == 1  # "$old"; "$again" came with the catch-up
    second.start(handler)
    try:
        await until(lambda: len(handler.handled) == 3)
    finally:
        await second.stop()
    assert handler.handled == ["$old", "$again", "$new"]
    with db.session() as session:
        assert pending_events(session) == []


async def test_a_database_outage_delays_an_event_and_is_said(db, metrics):
    client, handler = Client(), Handler()
    handler.failures = [OperationalError("INSERT", {}, Exception("connection refused"))] * 3
    inbox = inbox_for(client, db, metrics)
    inbox.start(handler)
    try:
        inbox.receive(client.rooms[ROOM], text("$q"))
        inbox.end_of_sync("t1")
        await until(lambda: inbox.waiting_on == "database")
        assert metrics.database_down_since is not None
        await until(lambda: handler.handled == ["$q"])
        await until(lambda: inbox.waiting_on is None)
    finally:
        await inbox.stop()
    assert metrics.database_down_since is None
    assert metrics.registry.get_sample_value("manufacture_event_retries_total", {"cause": "database"}) == 3
    assert states(db) == {"$q": True}


async def test_an_event_handled_whose_done_mark_fails_is_not_handled_again(db, metrics, monkeypatch):
    client, handler = Client(), Handler()
    inbox = inbox_for(client, db, metrics)
    failures = [OperationalError("UPDATE", {}, Exception("connection refused"))]

    def mark_done_once_failing(session, event_id):
        if failures:
            raise failures.pop()
        return mark_done(session, event_id)

    monkeypatch.setattr("bot.inbox.mark_done", mark_done_once_failing)
    inbox.start(handler)
    try:
        inbox.receive(client.rooms[ROOM], text("$form-step"))
        inbox.end_of_sync("t1")
        await until(lambda: states(db) == {"$form-step": True})
    finally:
        await inbox.stop()
    assert handler.handled == ["$form-step"]  # a form step applied once, not twice


async def test_while_the_database_refuses_writes_the_token_stays_behind_the_events(tmp_path, metrics):
    # A short lock wait: the behaviour under test starts once SQLite gives up, not how long it waits.
    db = Database.in_dir(tmp_path, lock_wait_ms=100)
    db.create_all()
    db.engine.dispose()
    client, handler = Client(), Handler()
    inbox = inbox_for(client, db, metrics)
    # Another process holds SQLite's write lock (a long transaction, a copy made the wrong way).
    holder = sqlite3.connect(tmp_path / DATABASE_FILE, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE held (x)")
    inbox.start(handler)
    try:
        inbox.receive(client.rooms[ROOM], text("$q"))
        inbox.end_of_sync("t1")
        await until(lambda: inbox.waiting_on == "database")
        # Not recorded: a restart now would sync from the previous token and get "$q" again.
        assert client.tokens == [] and handler.handled == []
        holder.rollback()
        await until(lambda: handler.handled == ["$q"])
    finally:
        holder.close()
        await inbox.stop()
        db.close()
    assert client.tokens == ["t1"]


async def test_a_failing_homeserver_delays_the_event_and_a_successful_sync_retries_at_once(db, metrics):
    client, handler = Client(), Handler()
    handler.failures = [HomeserverUnavailable("ClientConnectionError")]
    inbox = Inbox(client, UnitsOfWork(db), metrics, first_wait=30, longest_wait=30)
    inbox.start(handler)
    try:
        inbox.receive(client.rooms[ROOM], text("$q"))
        inbox.end_of_sync("t1")
        await until(lambda: inbox.waiting_on == "homeserver")
        inbox.homeserver_back()  # long before the 30 s wait
        async with asyncio.timeout(2):
            await until(lambda: handler.handled == ["$q"])
    finally:
        await inbox.stop()


async def test_a_bug_drops_that_event_only(db, metrics, caplog):
    client, handler = Client(), Handler()
    handler.failures = [KeyError("bug")]
    inbox = inbox_for(client, db, metrics)
    inbox.start(handler)
    try:
        inbox.receive(client.rooms[ROOM], text("$bad"))
        inbox.receive(client.rooms[ROOM], text("$good"))
        inbox.end_of_sync("t1")
        await until(lambda: handler.handled == ["$good"])
    finally:
        await inbox.stop()
    assert states(db) == {"$bad": True, "$good": True}
    assert "Event $bad could not be handled" in caplog.text


async def test_a_stop_lets_the_event_in_hand_finish_and_keeps_the_rest_pending(db, metrics):
    client, handler = Client(), Handler()
    handler.gate = asyncio.Event()
    inbox = inbox_for(client, db, metrics)
    inbox.start(handler)
    for event_id in ("$1", "$2"):
        inbox.receive(client.rooms[ROOM], text(event_id))
    inbox.end_of_sync("t1")
    await until(lambda: "$1" in states(db))
    stopping = asyncio.create_task(inbox.stop())
    await asyncio.sleep(0.05)
    assert not stopping.done()  # waits for "$1"
    handler.gate.set()
    await stopping
    assert handler.handled == ["$1"]
    assert states(db) == {"$1": True, "$2": False}


async def test_an_event_kept_unreadable_is_handled_once_its_key_came(db, metrics):
    client, handler = Client(), Handler()
    inbox = inbox_for(client, db, metrics)
    room = client.rooms[ROOM]
    inbox.start(handler)
    try:
        inbox.receive(room, encrypted("$secret"))
        inbox.end_of_sync("t1")
        await until(lambda: states(db).get("$secret") is True)
        await inbox.take(room, text("$secret"))  # decrypted later (bot/late_keys.py)
        await inbox.take(room, text("$secret"))  # the key came twice: still once
        await until(lambda: handler.handled.count("$secret") == 2)
        await asyncio.sleep(0.05)
    finally:
        await inbox.stop()
    # Once as unreadable (kept by late keys), once readable.
    assert handler.handled == ["$secret", "$secret"] and handler.kinds == ["undecryptable", "message"]
    assert states(db) == {"$secret": True}
