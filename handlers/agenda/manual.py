"""Facilitators' messages: a reminder for later (!rappel), a broadcast now (!diffuser), the list of
what is scheduled (!rappels) and a cancellation (!rappel annuler).

Each is a reminder row like the agenda's, so the engine posts it exactly once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Protocol

from sqlmodel import Session

from handlers.agenda.jobs import ReminderJobs
from handlers.agenda.rows import saved_id
from handlers.agenda.targets import AliasResolver, resolve_aliases
from handlers.context import Services
from handlers.replies import UserError
from handlers.text import quote
from storage.agenda import BROADCAST, CANCELLED, PENDING, ReminderRow, next_event_reminders, pending_broadcasts
from storage.rows import reread
from storage.unit_of_work import UnitOfWork

MANUAL_SOURCE = "manual"


class Fire(Protocol):
    """The engine's firing of a row (ReminderEngine.fire), in the event's unit if given."""

    def __call__(self, row_id: int, work: UnitOfWork | None = None, /) -> Awaitable[None]: ...


class ManualReminders:
    def __init__(
        self,
        services: Services,
        jobs: ReminderJobs,
        fire: Fire,
        *,
        resolve_alias: AliasResolver | None,
    ) -> None:
        self.services = services
        self.jobs = jobs
        self.fire = fire
        self.resolve_alias = resolve_alias

    async def check_targets(self, targets: tuple[str, ...]) -> None:
        """UserError now, rather than a failed reminder later, for an alias that names no room."""
        aliases = await resolve_aliases(targets, self.services.config, self.resolve_alias)
        unknown = [alias for alias, room_id in aliases.items() if room_id is None]
        if unknown:
            raise UserError(f"Salon introuvable : {quote(', '.join(unknown))}. Vérifiez l'alias (#nom:serveur).")

    async def schedule(
        self, text: str, due_at: datetime, targets: tuple[str, ...], created_by: str, work: UnitOfWork | None = None
    ) -> ReminderRow:
        """A facilitator's reminder (!rappel): a row, and its job if a scheduler is running.
        `work`, here and below: the event's unit, when a command asks (else a unit of its own)."""
        row = ReminderRow(
            kind=BROADCAST,
            source=MANUAL_SOURCE,
            occurrence_key=f"manual-{uuid.uuid4().hex}",
            text=text,
            due_at=due_at.astimezone(UTC),
            targets=json.dumps(list(targets)),
            created_by=created_by,
        )
        await (work or self.services.units.run)(_add, row)
        self.jobs.schedule(row)
        return row

    async def broadcast_now(
        self, text: str, targets: tuple[str, ...], created_by: str, work: UnitOfWork | None = None
    ) -> ReminderRow:
        """!diffuser: recorded like any reminder, so a retry after a crash does not post it twice."""
        row = await self.schedule(text, self.services.clock(), targets, created_by, work)
        number = saved_id(row)
        self.jobs.unschedule(number)
        await self.fire(number, work)
        return await (work or self.services.units.run)(_posted, number)

    async def scheduled(
        self, *, limit: int = 10, work: UnitOfWork | None = None
    ) -> tuple[list[ReminderRow], list[ReminderRow]]:
        """Pending manual reminders (all) and the next pending event reminders (up to ``limit``)."""
        return await (work or self.services.units.run)(_scheduled, limit)

    async def cancel(self, row_id: int, work: UnitOfWork | None = None) -> ReminderRow:
        row = await (work or self.services.units.run)(_cancel, row_id)
        self.jobs.unschedule(row_id)
        return row


def _add(session: Session, row: ReminderRow) -> None:
    session.add(row)
    session.flush()


def _posted(session: Session, row_id: int) -> ReminderRow:
    """The row as its firing left it: the unit's session may hold it as it was before."""
    row = reread(session, ReminderRow, row_id)
    session.refresh(row)
    return row


def _scheduled(session: Session, limit: int) -> tuple[list[ReminderRow], list[ReminderRow]]:
    return pending_broadcasts(session), next_event_reminders(session, limit)


def _cancel(session: Session, row_id: int) -> ReminderRow:
    row = session.get(ReminderRow, row_id, populate_existing=True)
    # Numbers are places in `!rappels`, not ids: these messages name no number.
    if row is None or row.kind != BROADCAST:
        raise UserError("Ce rappel n'existe pas. La liste : `!rappels`.")
    if row.status != PENDING:
        raise UserError("Ce rappel ne peut plus être annulé (déjà envoyé ou annulé). La liste : `!rappels`.")
    row.status, row.reason = CANCELLED, "annulé par l'équipe d'animation"
    session.add(row)
    return row
