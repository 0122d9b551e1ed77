"""Forms left silent: one gentle reminder, then closing as abandoned (answers kept).

The scheduler calls check_idle_drafts every few minutes; it returns the replies to post (each
for the member's direct chat, with an idempotency key) and never posts itself. A draft of the
previous release, still in a room's thread, moves to the direct chat with its reminder.
"""

from __future__ import annotations

import logging
from datetime import timedelta

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
    form = form_for(services)
    replies: list[Reply] = []
    with services.db.session() as session:
        waiting = idle_drafts(session, remind_before)
    for draft in waiting:
        if draft.thread_root is not None:
            try:
                room_id = await private_room(services, draft.user_id)
            except UserError:
                log.warning("Draft %s: no direct chat with its member yet; reminder postponed", draft.id)
                continue
            draft.origin_room_id = draft.origin_room_id or draft.room_id
            draft.room_id, draft.thread_root = room_id, None
    with services.db.session() as session:
        for draft in waiting:
            if draft.thread_root is not None:
                continue
            state = FormState.from_json(draft.state)
            title = state.answers.get("title", "")
            if draft.updated_at <= abandon_before:
                # updated_at stays the last activity of the member, which !mes-depots shows.
                draft.state, draft.status = abandon(state, now).to_json(), "abandoned"
                services.metrics.form("abandoned")
                replies.append(
                    _to_member(
                        draft,
                        "deposits/abandoned.md.j2",
                        f"deposit-abandoned:{draft.id}",
                        {"title": title, "days": _days(settings.abandon_after_days)},
                    )
                )
            elif draft.reminded_at is None:
                draft.reminded_at = now
                replies.append(
                    _to_member(
                        draft,
                        "deposits/reminder.md.j2",
                        f"deposit-reminder:{draft.id}:{draft.updated_at.isoformat()}",
                        {"title": title, "question": _pending_question(form, state)},
                    )
                )
            else:
                continue
            session.add(draft)
    return replies


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
