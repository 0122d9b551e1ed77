"""Tables: project deposit drafts (form states, saved after every step) and confirmed deposits.

Drafts are never deleted: a cancelled or abandoned draft keeps every answer typed, and the
member finds it again with !mes-depots.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, func, select

from storage.time import utc_field, utcnow

DEPOSIT_STATUSES = ("nouveau", "en-etude", "accompagne", "clos")
DRAFT_OPEN_STATUSES = ("filling", "recap")


class DepositDraft(SQLModel, table=True):
    """A deposit form in progress, saved after every step.

    Personal data: the member's id and every answer typed so far. Why: the form resumes where it was, !mes-
    depots lists it. How long: while in progress (closed as abandoned after [deposits] abandon_after_days);
    abandoned, cancelled or turned into a deposit, [retention] drafts_days (6 months) after its last step."""

    id: int | None = Field(default=None, primary_key=True)
    # Where the form is filled in: the member's direct chat with the bot.
    room_id: str = Field(index=True)
    user_id: str = Field(index=True)
    # Only drafts of the 2026-12-01 release, filled in a thread of a shared room (the !deposer
    # event opened it); they move to the direct chat as soon as they are touched.
    thread_root: str | None = Field(default=None, index=True)
    # The room where !deposer was typed (None: room_id, for drafts of the 2026-12-01 release).
    origin_room_id: str | None = None
    origin_confidential: bool = False
    # handlers.deposits.machine.FormState as JSON.
    state: str = Field(sa_column=Column(Text, nullable=False))
    # Mirrors state.status so idle drafts can be found without parsing JSON.
    status: str = Field(default="filling", index=True)
    created_at: datetime = utc_field(utcnow)
    updated_at: datetime = utc_field(utcnow)
    reminded_at: datetime | None = utc_field()
    deposit_reference: str | None = None


class Deposit(SQLModel, table=True):
    """A confirmed project deposit.

    Personal data: the depositor's id, the carrier and their contact, the project's answers, the facilitators'
    ids in its history. Why: the community's record of its projects, followed by the facilitators. How long:
    no automatic period; erased or anonymised at the depositor's request (!oublier)."""

    __table_args__ = (UniqueConstraint("year", "sequence"),)

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, index=True)
    year: int
    sequence: int
    draft_id: int | None = Field(default=None, unique=True)
    title: str
    tribe: str | None = None
    carrier: str
    depositor: str = Field(index=True)
    status: str = Field(default="nouveau", index=True)
    # community | facilitators
    visibility: str = "facilitators"
    origin_room_id: str
    origin_thread_root: str | None = None
    origin_confidential: bool = False
    # False only for a confidential-origin deposit whose author did not agree to share it.
    content_shared: bool = True
    created_at: datetime = utc_field(utcnow, index=True)
    # Every form field key -> value (None when not asked or skipped).
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # [{"status", "at" (ISO), "by", "comment"}], oldest first.
    history: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def open_draft(session: Session, user_id: str) -> DepositDraft | None:
    """The member's form in progress, wherever it was started: one at a time, so forms never mix."""
    return session.exec(
        select(DepositDraft)
        .where(DepositDraft.user_id == user_id, col(DepositDraft.status).in_(DRAFT_OPEN_STATUSES))
        .order_by(col(DepositDraft.id).desc())
    ).first()


def private_draft(session: Session, user_id: str) -> DepositDraft | None:
    """The member's form in progress in their direct chat."""
    return session.exec(
        select(DepositDraft)
        .where(
            DepositDraft.user_id == user_id,
            col(DepositDraft.thread_root).is_(None),
            col(DepositDraft.status).in_(DRAFT_OPEN_STATUSES),
        )
        .order_by(col(DepositDraft.id).desc())
    ).first()


def latest_draft(session: Session, user_id: str) -> DepositDraft | None:
    return session.exec(
        select(DepositDraft).where(DepositDraft.user_id == user_id).order_by(col(DepositDraft.id).desc())
    ).first()


def draft_in_thread(session: Session, room_id: str, user_id: str, thread_root: str | None) -> DepositDraft | None:
    """The member's latest draft of this thread, whatever its status (an abandoned one can resume)."""
    return session.exec(
        select(DepositDraft)
        .where(
            DepositDraft.room_id == room_id, DepositDraft.user_id == user_id, DepositDraft.thread_root == thread_root
        )
        .order_by(col(DepositDraft.id).desc())
    ).first()


def idle_drafts(session: Session, before: datetime) -> list[DepositDraft]:
    return list(
        session.exec(
            select(DepositDraft)
            .where(col(DepositDraft.status).in_(DRAFT_OPEN_STATUSES), DepositDraft.updated_at <= before)
            .order_by(col(DepositDraft.id))
        )
    )


def drafts_of(session: Session, user_id: str) -> list[DepositDraft]:
    """A member's drafts not turned into a deposit, newest first."""
    return list(
        session.exec(
            select(DepositDraft)
            .where(DepositDraft.user_id == user_id, col(DepositDraft.deposit_reference).is_(None))
            .order_by(col(DepositDraft.updated_at).desc(), col(DepositDraft.id).desc())
        )
    )


def next_sequence(session: Session, year: int) -> int:
    """Per-year numbering: DEP-2027-0001 is the first deposit created in 2027."""
    highest = session.exec(select(func.max(Deposit.sequence)).where(Deposit.year == year)).one()
    return (highest or 0) + 1


def format_reference(year: int, sequence: int) -> str:
    return f"DEP-{year}-{sequence:04d}"


def find_deposit(session: Session, reference: str) -> Deposit | None:
    return session.exec(select(Deposit).where(Deposit.reference == reference.strip().upper())).first()


def list_deposits(
    session: Session, *, status: str | None = None, tribe: str | None = None, depositor: str | None = None
) -> list[Deposit]:
    query = select(Deposit)
    if status:
        query = query.where(Deposit.status == status)
    if tribe:
        query = query.where(Deposit.tribe == tribe)
    if depositor:
        query = query.where(Deposit.depositor == depositor)
    return list(session.exec(query.order_by(col(Deposit.year), col(Deposit.sequence))))
