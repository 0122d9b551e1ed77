"""Forms left silent: one gentle reminder, then closing as abandoned (answers kept).

The scheduler calls check_idle_drafts every few minutes; it returns the replies to post (each
for the member's direct chat, with an idempotency key) and never posts itself. A draft of the
previous release, still in a room's thread, moves to the direct chat with its reminder. A run is
one unit of work of its own (Services.units): no event carries it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from config import DepositsConfig
from handlers.context import Services
from handlers.deposits.form import FormDef
from handlers.deposits.formsource import form_for
from handlers.deposits.machine import FormState, abandon
from handlers.private import private_room
from handlers.replies import Post, Reply, UserError
from storage.deposits import DepositDraft, idle_drafts

log = logging.getLogger(__name__)


async def check_idle_drafts(services: Services) -> list[Reply]:
    settings = services.config.deposits
    now = services.clock()
    remind_before = now - timedelta(hours=settings.reminder_after_hours)
    abandon_before = now - timedelta(days=settings.abandon_after_days)
    async with services.units.open() as work:
        form = await work(form_for, services)
        waiting = await work(idle_drafts, remind_before)
        # Drafts of a room's thread, and the direct chat each moves to.
        moves: dict[int | None, str] = {}
        for draft in waiting:
            if draft.thread_root is not None:
                try:
                    moves[draft.id] = await private_room(services, draft.user_id)
                except UserError:
                    log.warning("Draft %s: no direct chat with its member yet; reminder postponed", draft.id)
        closing = _Closing(form, settings, now, abandon_before)
        replies, abandoned = await work(_remind_or_abandon, closing, waiting, moves)
    for _ in range(abandoned):
        services.metrics.form("abandoned")
    return replies


@dataclass(frozen=True)
class _Closing:
    """What a run decides with: the form, the settings, now, and when silence turns into abandonment."""

    form: FormDef
    settings: DepositsConfig
    now: datetime
    abandon_before: datetime


def _remind_or_abandon(
    session: Session, closing: _Closing, waiting: list[DepositDraft], moves: dict[int | None, str]
) -> tuple[list[Reply], int]:
    """The reminders and closing notices to post, and how many drafts were closed as abandoned. A draft
    of a thread is left alone until its member's direct chat exists, and moves there with its notice."""
    replies: list[Reply] = []
    abandoned = 0
    for draft in waiting:
        if draft.thread_root is not None and draft.id not in moves:
            continue
        state = FormState.from_json(draft.state)
        title = state.answers.get("title", "")
        abandoning = draft.updated_at <= closing.abandon_before
        if not abandoning and draft.reminded_at is not None:
            continue
        if draft.id in moves:
            draft.origin_room_id = draft.origin_room_id or draft.room_id
            draft.room_id, draft.thread_root = moves[draft.id], None
        if abandoning:
            # updated_at stays the last activity of the member, which !mes-depots shows.
            draft.state, draft.status = abandon(state, closing.now).to_json(), "abandoned"
            abandoned += 1
            replies.append(
                _to_member(
                    draft,
                    "deposits/abandoned.md.j2",
                    f"deposit-abandoned:{draft.id}",
                    {"title": title, "days": _days(closing.settings.abandon_after_days)},
                )
            )
        else:
            draft.reminded_at = closing.now
            replies.append(
                _to_member(
                    draft,
                    "deposits/reminder.md.j2",
                    f"deposit-reminder:{draft.id}:{draft.updated_at.isoformat()}",
                    {"title": title, "question": _pending_question(closing.form, state)},
                )
            )
        session.add(draft)
    return replies, abandoned


def _to_member(draft: DepositDraft, template: str, txn_key: str, context: dict[str, object]) -> Reply:
    # The member's own words, in their own direct chat.
    return Reply(
        template=template,
        txn_key=txn_key,
        context=context,
        to=Post(draft.room_id),
        mentions=(draft.user_id,),
        author_consented=True,
    )


def _pending_question(form: FormDef, state: FormState) -> str:
    if state.current:
        try:
            return form.field(state.current).question_for(bool(state.facts.get("origin_confidential")))
        except KeyError:
            pass
    return "Il ne reste qu'à confirmer le récapitulatif : répondez « oui » pour déposer le projet."


def _days(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
