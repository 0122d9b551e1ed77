"""Messages the bot sent (with a tag when reactions or replies to them mean something), and events handled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, ColumnElement, Table, and_, insert, true, update
from sqlmodel import Field, Session, SQLModel, col, select

from storage.time import utc_field, utcnow


class SentMessage(SQLModel, table=True):
    """The bot's own messages: event id, room, tag (which answer, offer or recap it was) and thread.

    Personal data: none of their text nor whom they answered; a message in a direct chat tells the chat. Why:
    votes, replies and follow-ups on the bot's messages find what they are about. How long: [retention]
    sent_messages_days (90 days); a room's introduction for good (once per room, ever), a deposit recap
    while its form waits for its ✅."""

    event_id: str = Field(primary_key=True)
    room_id: str = Field(index=True)
    tag: str = Field(index=True)
    thread_root: str | None = Field(default=None, index=True)
    sent_at: datetime = utc_field(utcnow)


class HandledEvent(SQLModel, table=True):
    """An event the bot has taken in charge (bot/inbox.py): recorded as pending when a sync brings it,
    before the sync token moves past it, and done once it is handled and its replies are sent. Pending
    events are handled again at start: nothing is lost to a crash, nothing is handled twice.

    Holds where the event is, its kind and its time, never what it says nor who said it (it is fetched
    again if need be). A done row only serves to recognise an event brought a second time (a sync
    resumed from an older token, a gap read back), which happens within days.

    Personal data: that something was said in a room at a time (no sender, no content). Why: nothing handled
    twice, nothing lost to a crash. How long: done rows [retention] handled_events_days (30 days); pending
    rows until handled."""

    event_id: str = Field(primary_key=True)
    # When it was taken in (rows of earlier releases: when it was handled).
    handled_at: datetime = utc_field(utcnow)
    # None on rows of releases before the inbox, all done.
    room_id: str | None = None
    # bot/inbox.py's kinds: message, reaction, redaction, membership, poll_response, undecryptable.
    kind: str | None = None
    # The sender's timestamp (ms): pending events are handled again in the order they were sent.
    origin_ts: int | None = Field(default=None, sa_type=BigInteger)
    done: bool = Field(default=False, sa_column_kwargs={"server_default": true()}, index=True)


# The table itself, for the Core statements of the inbox's path (take_in, mark_done).
HANDLED_EVENTS: Table = SQLModel.metadata.tables[str(HandledEvent.__tablename__)]


@dataclass(frozen=True)
class Arrived:
    event_id: str
    room_id: str
    kind: str
    origin_ts: int


# An event first kept unreadable is taken in again once its key came and it reads as what it is.
UNDECRYPTABLE = "undecryptable"


def take_in(session: Session, events: list[Arrived]) -> set[str]:
    """Records these events as pending (an event already pending stays so); returns the ids of those
    already done, which are not to be handled again.

    Core statements, not the ORM: this runs between a sync and the bot's first look at its events,
    where the ORM's unit of work cost a millisecond of Python per event batch."""
    table = HANDLED_EVENTS
    arrived = {event.event_id: event for event in events}
    if not arrived:
        return set()
    known = {
        event_id: (done, kind)
        for event_id, done, kind in session.execute(
            select(table.c.event_id, table.c.done, table.c.kind).where(table.c.event_id.in_(list(arrived)))
        )
    }
    now = utcnow()
    fresh = [
        {
            "event_id": event.event_id,
            "handled_at": now,
            "room_id": event.room_id,
            "kind": event.kind,
            "origin_ts": event.origin_ts,
            "done": False,
        }
        for event in arrived.values()
        if event.event_id not in known
    ]
    if fresh:
        session.execute(insert(table), fresh)
    done = set()
    for event in arrived.values():
        if event.event_id not in known or not known[event.event_id][0]:
            continue
        if known[event.event_id][1] == UNDECRYPTABLE and event.kind != UNDECRYPTABLE:
            session.execute(update(table).where(table.c.event_id == event.event_id).values(kind=event.kind, done=False))
        else:
            done.add(event.event_id)
    return done


def pending_events(session: Session) -> list[HandledEvent]:
    """Events taken in and never done, oldest first."""
    return list(
        session.exec(
            select(HandledEvent)
            .where(col(HandledEvent.done).is_(False))
            .order_by(col(HandledEvent.origin_ts), col(HandledEvent.handled_at), col(HandledEvent.event_id))
        )
    )


def mark_done(session: Session, event_id: str) -> None:
    # One UPDATE, not a load and a flush: each event ends with it.
    table = HANDLED_EVENTS
    session.execute(update(table).where(table.c.event_id == event_id, table.c.done.is_(False)).values(done=True))


def is_bot_message(session: Session, event_id: str) -> bool:
    return session.get(SentMessage, event_id) is not None


def bot_in_thread(session: Session, room_id: str, root: str) -> bool:
    """The bot started this thread or wrote in it."""
    return (
        session.get(SentMessage, root) is not None
        or session.exec(
            select(SentMessage.event_id).where(SentMessage.room_id == room_id, SentMessage.thread_root == root)
        ).first()
        is not None
    )


def sent_in_room_with_tag(session: Session, room_id: str, tag: str) -> bool:
    """Whether the bot ever posted a message with this tag in this room (its introduction, say)."""
    return (
        session.exec(select(SentMessage.event_id).where(SentMessage.room_id == room_id, SentMessage.tag == tag)).first()
        is not None
    )


def sent_with_tag(session: Session, event_id: str) -> SentMessage | None:
    sent = session.get(SentMessage, event_id)
    return sent if sent is not None and sent.tag else None


def known_events(session: Session, event_ids: list[str]) -> set[str]:
    """Which of these events the bot has seen: taken in (any kind, done or not) or sent by it."""
    if not event_ids:
        return set()
    taken = session.exec(select(HandledEvent.event_id).where(col(HandledEvent.event_id).in_(event_ids))).all()
    sent = session.exec(select(SentMessage.event_id).where(col(SentMessage.event_id).in_(event_ids))).all()
    return {*taken, *sent}


# An ended poll's tag starts so: no poll handler's prefix matches it, so later responses reach nobody.
ENDED_POLL = "ended-poll:"


def tag_starts_with(session: Session, prefix: str) -> ColumnElement[bool]:
    """The messages whose tag starts with `prefix`, read through the tag's index: SQLite never uses an
    index for a LIKE with an escape, and a room's sent messages are tens of thousands after a year. A
    range of tags does, compared byte by byte (PostgreSQL is told to: its own collation may not)."""
    tag, after = col(SentMessage.tag), prefix[:-1] + chr(ord(prefix[-1]) + 1)
    if session.get_bind().dialect.name == "postgresql":
        return and_(tag.collate("C") >= prefix, tag.collate("C") < after)
    return and_(tag >= prefix, tag < after)


def end_polls(session: Session, tag_prefix: str) -> list[tuple[str, str]]:
    """Marks ended the bot's open polls whose tag starts with `tag_prefix`; their rooms and start
    events, for the poll end events that close them in the members' clients."""
    polls = session.exec(select(SentMessage).where(tag_starts_with(session, tag_prefix))).all()
    for poll in polls:
        poll.tag = ENDED_POLL + poll.tag
        session.add(poll)
    return [(poll.room_id, poll.event_id) for poll in polls]


def last_sent_in_room(session: Session, room_id: str) -> SentMessage | None:
    """The bot's latest message in a room (a direct chat: what the member's next message follows)."""
    return session.exec(
        select(SentMessage).where(SentMessage.room_id == room_id).order_by(col(SentMessage.sent_at).desc())
    ).first()
