"""One unit of database work per event (a message, a job's run, a board request): one session, whose
steps run on the database's own threads, never on the event loop.

A handler awaits each step: `deposit = await work(find_deposit, reference)` runs
`find_deposit(session, reference)` on a database thread and commits when it returns. Committing each
step keeps what the bot did durable at once, as before, and keeps no transaction open (and no SQLite
write lock held) while the handler waits on the homeserver between two steps.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlmodel import Session

from storage.database import Database

P = ParamSpec("P")
T = TypeVar("T")

# SQLite writes one at a time anyway; a few threads let the board's reads run beside an event's steps.
DATABASE_THREADS = 4


class UnitOfWork:
    """The database work of one event. Its session is opened at the first step and closed with the unit;
    steps take turns, so the session is never used by two threads at once."""

    def __init__(self, db: Database, threads: ThreadPoolExecutor) -> None:
        self._db, self._threads = db, threads
        self._session: Session | None = None
        # The step running on a database thread, if any: a cancelled caller stops waiting for it, but
        # the thread goes on with the session, which must not be closed under it.
        self._in_flight: Future[Any] | None = None
        self._turn = asyncio.Lock()

    async def __call__(self, step: Callable[Concatenate[Session, P], T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """`step(session, *args, **kwargs)` on a database thread, committed when it returns, rolled back
        (and its exception raised here) when it fails. Steps asked for at once (a question searched while
        another step runs) take turns."""
        async with self._turn:
            previous = self._in_flight
            if previous is not None and not previous.done():
                # Its caller was cancelled and stopped waiting; the session is still the thread's.
                await asyncio.wait([asyncio.wrap_future(previous)])
            running = self._threads.submit(functools.partial(self._run, step, *args, **kwargs))
            self._in_flight = running
            return await asyncio.wrap_future(running)

    def _run(self, step: Callable[Concatenate[Session, P], T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        if self._session is None:
            self._session = Session(self._db.engine, expire_on_commit=False)
        try:
            result = step(self._session, *args, **kwargs)
            self._session.commit()
        except BaseException:
            self._session.rollback()
            raise
        return result

    def run_alone(self, step: Callable[Concatenate[Session, P], T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """The unit's only step, its session closed on the same thread: one hop off the loop, not two."""
        try:
            return self._run(step, *args, **kwargs)
        finally:
            if self._session is not None:
                session, self._session = self._session, None
                session.close()

    async def close(self) -> None:
        in_flight = self._in_flight
        if in_flight is not None and not in_flight.done():
            # Its outcome was its caller's, who has gone (cancelled): only its end matters here.
            await asyncio.wait([asyncio.wrap_future(in_flight)])
        if self._session is not None:
            session, self._session = self._session, None
            await asyncio.get_running_loop().run_in_executor(self._threads, session.close)


class UnitsOfWork:
    """Opens units of work on the database; built once by the composition root, closed at stop."""

    def __init__(self, db: Database, threads: int = DATABASE_THREADS) -> None:
        self.db = db
        self._threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="database")

    @asynccontextmanager
    async def open(self) -> AsyncIterator[UnitOfWork]:
        unit = UnitOfWork(self.db, self._threads)
        try:
            yield unit
        finally:
            await unit.close()

    def joining(self, work: UnitOfWork | None) -> AbstractAsyncContextManager[UnitOfWork]:
        """`async with units.joining(work) as work:` — inside an event, its steps join the event's unit
        (closed with the event); outside one, they get a unit of their own, closed on leaving."""
        return nullcontext(work) if work is not None else self.open()

    async def run(self, step: Callable[Concatenate[Session, P], T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """A unit of one step, for work that has only one (a board page's query, a job's read). A caller
        cancelled meanwhile stops waiting; the thread still ends the step and closes its session."""
        unit = UnitOfWork(self.db, self._threads)
        return await asyncio.wrap_future(self._threads.submit(functools.partial(unit.run_alone, step, *args, **kwargs)))

    def close(self) -> None:
        self._threads.shutdown(wait=True)
