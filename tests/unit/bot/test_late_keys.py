"""Late keys: an event kept while its key is missing, handled once when the key comes, its sender told otherwise."""

import logging
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from nio import MatrixRoom, MegolmEvent, RedactedEvent, RoomGetEventError, RoomGetEventResponse, RoomMessageText
from nio.exceptions import LocalProtocolError
from sqlalchemy import inspect

from bot.late_keys import KEEP_FOR, NOTICE_AFTER, LateKeys
from handlers.replies import Post
from storage.database import Database
from storage.undecryptable import UndecryptableEvent
from storage.unit_of_work import UnitsOfWork
from tests.unit.stand_ins import Clock

BOT, ALICE, BOB = "@bot:example.org", "@alice:example.org", "@bob:example.org"
ROOM = "!pairs:example.org"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def encrypted(event_id: str, session_id: str = "S1", sender: str = ALICE) -> MegolmEvent:
    return MegolmEvent.from_dict(
        {
            "type": "m.room.encrypted",
            "event_id": event_id,
            "sender": sender,
            "origin_server_ts": 1,
            "room_id": ROOM,
            "content": {
                "algorithm": "m.megolm.v1.aes-sha2",
                "ciphertext": "c2VjcmV0",
                "sender_key": "curve",
                "session_id": session_id,
                "device_id": "PHONE",
            },
        }
    )


def readable(event_id: str, sender: str = ALICE) -> RoomMessageText:
    event = RoomMessageText.from_dict(
        {
            "type": "m.room.message",
            "event_id": event_id,
            "sender": sender,
            "origin_server_ts": 1,
            "content": {"msgtype": "m.text", "body": "!aide"},
        }
    )
    assert isinstance(event, RoomMessageText)  # nio parses to whichever class the dict is
    return event


class Client:
    """What LateKeys uses of the bot's client; the homeserver's copy of each event, readable once its key is in."""

    def __init__(self) -> None:
        self.user_id = BOT
        self.rooms = {ROOM: MatrixRoom(ROOM, BOT)}
        self.keys: set[str] = set()
        self.events: dict[str, MegolmEvent] = {}
        self.redacted: set[str] = set()
        self.fetched: list[str] = []
        self.requested: list[str] = []
        self.handled: list[tuple[str, str]] = []

    async def room_appearing(self, room_id: str, seconds: float) -> MatrixRoom | None:
        return self.rooms.get(room_id)

    async def deliver(self, room, event) -> None:
        """The inbox taking a readable event in."""
        assert isinstance(event, RoomMessageText)
        self.handled.append((room.room_id, event.event_id))

    async def room_get_event(self, room_id: str, event_id: str):
        self.fetched.append(event_id)
        event = self.events.get(event_id)
        if event is None:
            return RoomGetEventError.from_dict({"errcode": "M_NOT_FOUND", "error": "Event not found."})
        answer = RoomGetEventResponse()
        if event_id in self.redacted:
            answer.event = RedactedEvent.from_dict(
                {
                    "type": "m.room.encrypted",
                    "event_id": event_id,
                    "sender": event.sender,
                    "origin_server_ts": 1,
                    "content": {},
                    "unsigned": {"redacted_because": {"sender": event.sender, "content": {}}},
                }
            )
        else:
            answer.event = readable(event_id, event.sender) if event.session_id in self.keys else event
        return answer

    async def request_room_key(self, event: MegolmEvent) -> None:
        assert event.session_id is not None  # every encrypted event these tests build names its session
        if event.session_id in self.requested:
            raise LocalProtocolError("A key sharing request is already sent out for this session id.")
        self.requested.append(event.session_id)


@pytest.fixture
def db(tmp_path):
    database = Database.in_dir(tmp_path)
    database.create_all()
    yield database
    database.close()


@pytest.fixture
def client():
    return Client()


@pytest.fixture
def clock():
    return Clock(T0)


@pytest.fixture
def posted():
    return []


@pytest.fixture
def late(client, db, clock, posted):
    units = UnitsOfWork(db)

    async def post(reply):
        posted.append(reply)
        return "$notice"

    yield LateKeys(client, units, post, deliver=client.deliver, clock=clock)
    units.close()


async def arrive(late: LateKeys, client: Client, event: MegolmEvent) -> None:
    client.events[event.event_id] = event
    await late.on_undecryptable(client.rooms[ROOM], event)


def kept(db) -> list[UndecryptableEvent]:
    with db.session() as session:
        return list(session.query(UndecryptableEvent))


async def test_an_unreadable_event_is_kept_without_its_content_and_its_key_asked_once(late, client, db):
    await arrive(late, client, encrypted("$e1"))
    await arrive(late, client, encrypted("$e1"))  # seen again (a restart's catch-up)
    await arrive(late, client, encrypted("$e2"))  # same session: the key is asked for already
    assert [(row.event_id, row.room_id, row.sender, row.session_id) for row in kept(db)] == [
        ("$e1", ROOM, ALICE, "S1"),
        ("$e2", ROOM, ALICE, "S1"),
    ]
    assert client.requested == ["S1"]
    # Counted once per event, however often it is seen: a restart's catch-up is no new unreadable event.
    assert late.metrics.registry.get_sample_value("manufacture_undecryptable_events_total") == 2
    columns = {column["name"] for column in inspect(db.engine).get_columns(UndecryptableEvent.__tablename__)}
    assert columns == {
        "event_id",
        "room_id",
        "sender",
        "session_id",
        "received_at",
        "noticed",
        "attempts",
        "next_try_at",
    }


async def test_the_bots_own_unreadable_events_are_not_kept(late, client, db):
    await arrive(late, client, encrypted("$mine", sender=BOT))
    assert kept(db) == [] and client.requested == []
    assert late.metrics.registry.get_sample_value("manufacture_undecryptable_events_total") == 0


async def test_when_the_key_arrives_the_event_is_handled_once(late, client, db):
    await arrive(late, client, encrypted("$e1"))
    await arrive(late, client, encrypted("$other", session_id="S2"))
    client.keys.add("S1")
    await late.on_room_key(SimpleNamespace(session_id="S1"))
    await late.drain()
    assert client.handled == [(ROOM, "$e1")]
    assert [row.event_id for row in kept(db)] == ["$other"]
    # The same key again (a forwarded copy), or a sweep: nothing is handled twice.
    await late.on_room_key(SimpleNamespace(session_id="S1"))
    await late.drain()
    await late.sweep()
    assert client.handled == [(ROOM, "$e1")]


async def test_a_key_for_a_session_nobody_waits_for_fetches_nothing(late, client):
    await arrive(late, client, encrypted("$e1"))
    await late.on_room_key(SimpleNamespace(session_id="S9"))
    await late.drain()
    assert client.fetched == [] and client.handled == []


async def test_retries_wait_longer_each_time(late, client, db, clock):
    await arrive(late, client, encrypted("$e1"))
    await late.sweep()
    assert client.fetched == ["$e1"]
    clock.now = T0 + timedelta(minutes=1)
    await late.sweep()
    assert client.fetched == ["$e1"]
    clock.now = T0 + timedelta(minutes=2)
    await late.sweep()
    assert client.fetched == ["$e1", "$e1"]
    (row,) = kept(db)
    assert row.attempts == 2
    # The key came by a way no callback saw (a crash between nio storing it and our callback): a retry finds it.
    client.keys.add("S1")
    clock.now = T0 + timedelta(minutes=6)
    await late.sweep()
    assert client.handled == [(ROOM, "$e1")] and kept(db) == []


async def test_still_unreadable_after_a_few_minutes_its_sender_gets_one_notice(late, client, db, clock, posted):
    await arrive(late, client, encrypted("$e1"))
    clock.now = T0 + NOTICE_AFTER - timedelta(seconds=1)
    await late.sweep()
    assert posted == []
    clock.now = T0 + NOTICE_AFTER
    await late.sweep()
    (notice,) = posted
    assert notice.to == Post(ROOM, reply_to="$e1") and notice.mentions == (ALICE,)
    assert "pas pu lire votre message chiffré" in notice.text and "renvoyez-le" in notice.text
    assert notice.txn_key == "undecryptable-$e1"
    clock.now = T0 + NOTICE_AFTER * 3
    await late.sweep()
    assert len(posted) == 1
    # Read at last: handled all the same, once.
    client.keys.add("S1")
    await late.on_room_key(SimpleNamespace(session_id="S1"))
    await late.drain()
    assert client.handled == [(ROOM, "$e1")]


async def test_several_unreadable_messages_make_one_notice_per_sender_and_not_again_that_day(
    late, client, clock, posted
):
    await arrive(late, client, encrypted("$a1"))
    await arrive(late, client, encrypted("$a2"))
    await arrive(late, client, encrypted("$b1", session_id="S2", sender=BOB))
    clock.now = T0 + NOTICE_AFTER
    await late.sweep()
    assert sorted((reply.mentions, reply.to.reply_to) for reply in posted) == [((ALICE,), "$a1"), ((BOB,), "$b1")]
    assert "2 de vos messages chiffrés" in next(r.text for r in posted if r.mentions == (ALICE,))
    clock.now = T0 + timedelta(hours=2)
    await arrive(late, client, encrypted("$a3", session_id="S3"))
    clock.now += NOTICE_AFTER
    await late.sweep()
    assert len(posted) == 2


async def test_an_event_gone_or_redacted_is_forgotten_and_a_key_that_never_comes_given_up(
    late, client, db, clock, caplog
):
    caplog.set_level(logging.INFO, logger="bot.late_keys")
    await arrive(late, client, encrypted("$gone"))
    await arrive(late, client, encrypted("$redacted", session_id="S3"))
    await arrive(late, client, encrypted("$never", session_id="S2"))
    del client.events["$gone"]
    client.redacted.add("$redacted")
    client.keys.add("S3")
    await late.sweep()
    assert [row.event_id for row in kept(db)] == ["$never"] and client.handled == []
    assert "handled" not in caplog.text
    clock.now = T0 + KEEP_FOR + timedelta(minutes=1)
    await late.sweep()
    assert kept(db) == []
