"""A limited sync's gap is fetched back to the last event the bot had seen, and no further."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from nio import MatrixRoom, RoomMemberEvent, RoomMessagesResponse, RoomMessageText, RoomTopicEvent

from bot.timeline_gaps import MOST_PAGES, TimelineGaps
from storage.messages import Arrived, SentMessage, take_in

BOT, ANA = "@bot:h", "@ana:h"
ROOM = "!tribu:h"


def text(n: int, sender: str = ANA) -> RoomMessageText:
    event = RoomMessageText.from_dict(
        {
            "type": "m.room.message",
            "event_id": f"${n}",
            "sender": sender,
            "origin_server_ts": n,
            "content": {"msgtype": "m.text", "body": f"m{n}"},
        }
    )
    assert isinstance(event, RoomMessageText)  # nio parses to whichever class the dict is
    return event


def joined(n: int, user: str = BOT) -> RoomMemberEvent:
    return RoomMemberEvent.from_dict(
        {
            "type": "m.room.member",
            "event_id": f"${n}",
            "sender": user,
            "state_key": user,
            "origin_server_ts": n,
            "content": {"membership": "join"},
        }
    )


def topic(n: int) -> RoomTopicEvent:
    return RoomTopicEvent.from_dict(
        {
            "type": "m.room.topic",
            "event_id": f"${n}",
            "sender": ANA,
            "state_key": "",
            "origin_server_ts": n,
            "content": {"topic": "t"},
        }
    )


class Client:
    """The room's history on the homeserver, served newest first by pages, as /messages does."""

    def __init__(self, history: list) -> None:
        self.user_id = BOT
        self.rooms = {ROOM: MatrixRoom(ROOM, BOT)}
        self.history = history  # oldest first
        self.pages = 0

    async def room_messages(self, room_id: str, start: str, limit: int = 10):
        self.pages += 1
        end = len(self.history) if start == "gap" else int(start)
        chunk = list(reversed(self.history[max(0, end - limit) : end]))
        return RoomMessagesResponse(room_id, chunk, start, str(max(0, end - limit)))


def limited(events: list, *, is_limited: bool = True):
    timeline = SimpleNamespace(limited=is_limited, prev_batch="gap", events=events)
    return SimpleNamespace(rooms=SimpleNamespace(join={ROOM: SimpleNamespace(timeline=timeline)}))


async def test_the_gap_is_fetched_back_to_the_last_event_seen_oldest_first(db, units):
    # Seen before the bot stopped: up to $10 (a member's message), and its own answer $11.
    with db.session() as session:
        take_in(session, [Arrived("$10", ROOM, "message", 10)])
        session.add(SentMessage(event_id="$11", room_id=ROOM, tag=""))
    history = [text(n) for n in range(150)]
    history[11] = text(11, BOT)
    history[40] = topic(40)  # state the bot does not handle
    history[60] = text(60, BOT)  # its own message, never taken in
    client = Client(history)
    missed = await TimelineGaps(client, units).missed(limited([text(200)]))
    ids = [arrival.event_id for arrival in missed]
    assert ids[0] == "$12" and ids[-1] == "$149"
    assert "$40" not in ids and "$60" not in ids and "$11" not in ids
    assert ids == sorted(ids, key=lambda i: int(i[1:]))
    assert client.pages == 2


async def test_a_room_just_joined_or_a_full_timeline_has_no_gap_to_fill(db, units):
    client = Client([text(n) for n in range(50)])
    gaps = TimelineGaps(client, units)
    assert await gaps.missed(limited([joined(51), text(52)])) == []  # its past is not the bot's business
    assert await gaps.missed(limited([text(52)], is_limited=False)) == []
    assert client.pages == 0


async def test_the_walk_stops_at_the_bot_s_own_join_and_after_so_many_pages(db, units):
    client = Client([text(n) for n in range(5)] + [joined(5)] + [text(n) for n in range(6, 20)])
    assert [a.event_id for a in await TimelineGaps(client, units).missed(limited([text(30)]))] == [
        f"${n}" for n in range(6, 20)
    ]
    endless = Client([text(n) for n in range(100 * MOST_PAGES + 500)])
    missed = await TimelineGaps(endless, units).missed(limited([text(99999)]))
    assert endless.pages == MOST_PAGES and len(missed) == 100 * MOST_PAGES


async def test_the_walk_stops_where_the_bot_s_memory_of_handled_events_ends(db, units):
    # The bot forgets handled events after [retention] handled_events_days: an older event may have been
    # answered already, so it is never taken for a missed one.
    day = 24 * 3600 * 1000
    history = [text(n * day) for n in range(1, 61)]  # one message a day, for 60 days
    client = Client(history)
    gaps = TimelineGaps(client, units, remembers=timedelta(days=30), wall_clock=lambda: 60.5 * day / 1000)
    missed = await gaps.missed(limited([text(61 * day)]))
    assert [a.event_id for a in missed] == [f"${n * day}" for n in range(31, 61)]
