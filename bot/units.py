"""The event's unit of database work when there is one, else a unit of the work's own."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, nullcontext

from storage.unit_of_work import UnitOfWork, UnitsOfWork


def unit_for(units: UnitsOfWork, work: UnitOfWork | None) -> AbstractAsyncContextManager[UnitOfWork]:
    """`async with unit_for(self.units, work) as work:` — inside an event, its steps join the event's
    session (closed with the event); outside one, they get a session of their own, closed on leaving."""
    return nullcontext(work) if work is not None else units.open()
