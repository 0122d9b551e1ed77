"""The counter of bench.database_work: what it reports per event is only as good as what it counts."""

import threading

from sqlmodel import Session, select

from bench.database_work import DatabaseWork
from storage.database import Database
from storage.rooms import RoomRecord


def read_rooms(db: Database) -> None:
    with db.session() as session:
        session.exec(select(RoomRecord)).all()


def test_each_session_counts_once_with_its_statements_and_its_thread(db: Database) -> None:
    with DatabaseWork(db.engine, threading.get_ident()) as work, work.measure() as tally:
        with db.session() as session:
            session.exec(select(RoomRecord)).all()
            session.add(RoomRecord(room_id="!r:t"))  # an INSERT, flushed at the commit
        with db.session():
            pass  # opened and never used: no work for the database
        # A session of its own, committed twice, is one session, as storage.unit_of_work's are.
        with Session(db.engine) as session:
            session.exec(select(RoomRecord)).all()
            session.commit()
            session.exec(select(RoomRecord)).all()
            session.commit()
        elsewhere = threading.Thread(target=read_rooms, args=(db,))
        elsewhere.start()
        elsewhere.join()
    assert (tally.sessions, tally.sessions_on_loop) == (3, 2)
    assert (tally.statements, tally.statements_on_loop) == (5, 4)
    assert tally.openers == {
        "tests/unit/bench/test_database_work.py:test_each_session_counts_once_with_its_statements_and_its_thread": 2,
        "tests/unit/bench/test_database_work.py:read_rooms (hors boucle)": 1,
    }


def test_nothing_is_counted_once_the_counter_is_closed(db: Database) -> None:
    with DatabaseWork(db.engine, threading.get_ident()) as work:
        pass
    with work.measure() as tally:
        read_rooms(db)
    assert (tally.sessions, tally.statements) == (0, 0)
