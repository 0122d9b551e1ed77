"""A unit of work: one session per event, each step on a database thread and durable when it returns."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import QueuePool, text
from sqlmodel import Session

from storage.database import Database
from storage.unit_of_work import UnitsOfWork


@pytest.fixture
async def units(db: Database) -> AsyncIterator[UnitsOfWork]:
    with db.session() as session:
        session.execute(text("CREATE TABLE probe (v integer)"))
    units = UnitsOfWork(db)
    yield units
    units.close()


def insert(session: Session, value: int) -> int:
    session.execute(text("INSERT INTO probe (v) VALUES (:v)").bindparams(v=value))
    return threading.get_ident()


def values(session: Session) -> list[int]:
    return [row[0] for row in session.execute(text("SELECT v FROM probe ORDER BY v"))]


def fail(session: Session) -> None:
    insert(session, 99)
    raise LookupError("attendu")


async def test_steps_run_off_the_event_loop_in_one_session(units: UnitsOfWork) -> None:
    sessions: list[Session] = []
    async with units.open() as work:
        for value in (1, 2):
            assert await work(insert, value) != threading.get_ident()
            sessions.append(await work(lambda session: session))
    assert sessions[0] is sessions[1]


async def test_each_step_is_durable_when_it_returns(units: UnitsOfWork) -> None:
    async with units.open() as work:
        await work(insert, 1)
        # Another session (the board, a job) reads it before the event's unit ends.
        assert await units.run(values) == [1]


async def test_a_failing_step_is_rolled_back_and_the_unit_goes_on(units: UnitsOfWork) -> None:
    async with units.open() as work:
        await work(insert, 1)
        with pytest.raises(LookupError):
            await work(fail)
        await work(insert, 2)
    assert await units.run(values) == [1, 2]


async def test_a_unit_gives_its_connection_back_when_it_ends(units: UnitsOfWork, db: Database) -> None:
    async with units.open() as work:
        await work(insert, 1)
    # Only a pooled engine can say; SQLite and PostgreSQL both get a QueuePool.
    pool = db.engine.pool
    assert isinstance(pool, QueuePool) and pool.checkedout() == 0


async def test_a_unit_cancelled_mid_step_closes_its_session_only_after_the_step(units: UnitsOfWork) -> None:
    started, finished = threading.Event(), threading.Event()

    def slow(session: Session) -> None:
        started.set()
        time.sleep(0.1)
        # The session is still the step's: closing it under the step would break this statement.
        insert(session, 7)
        finished.set()

    async def event() -> None:
        async with units.open() as work:
            await work(slow)

    task = asyncio.create_task(event())
    await asyncio.to_thread(started.wait, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert finished.is_set()
    assert await units.run(values) == [7]


async def test_steps_asked_for_at_once_take_turns_on_the_session(units: UnitsOfWork) -> None:
    inside: list[str] = []
    overlaps: list[str] = []
    release = threading.Event()

    def step(session: Session, name: str) -> None:
        if inside:
            overlaps.append(name)
        inside.append(name)
        if name == "first":
            release.wait(5)
        insert(session, len(name))
        inside.remove(name)

    async with units.open() as work:
        first = asyncio.create_task(work(step, "first"))
        second = asyncio.create_task(work(step, "second"))  # a search reading its chunks, say
        await asyncio.sleep(0.05)
        assert inside == ["first"]
        release.set()
        await asyncio.gather(first, second)
    assert overlaps == [] and await units.run(values) == [5, 6]


async def test_a_step_after_a_cancelled_one_waits_for_its_thread(units: UnitsOfWork) -> None:
    started, finished = threading.Event(), threading.Event()

    def slow(session: Session) -> None:
        started.set()
        time.sleep(0.05)
        insert(session, 1)
        finished.set()

    def after(session: Session) -> bool:
        insert(session, 2)
        return finished.is_set()

    async with units.open() as work:
        abandoned = asyncio.create_task(work(slow))
        await asyncio.to_thread(started.wait, 5)
        abandoned.cancel()  # an early search no longer needed
        assert await work(after)
    assert await units.run(values) == [1, 2]
