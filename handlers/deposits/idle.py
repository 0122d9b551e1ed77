"""Forms left silent: one gentle reminder, then closing as abandoned (answers kept).

The lead's scheduler calls check_idle_drafts every few minutes; it returns the replies to
post (each pinned to the form's room and thread, with an idempotency key) and never posts itself.
"""
from __future__ import annotations

from datetime import timedelta

from handlers.context import Services
from handlers.deposits.form import FormDef
from handlers.deposits.formsource import form_for
from handlers.deposits.machine import FormState, abandon
from handlers.replies import Reply
from storage.deposits import as_utc, idle_drafts


async def check_idle_drafts(services: Services) -> list[Reply]:
    settings = services.config.deposits
    now = services.clock()
    remind_before = now - timedelta(hours=settings.reminder_after_hours)
    abandon_before = now - timedelta(days=settings.abandon_after_days)
    form = await form_for(services)
    replies: list[Reply] = []
    with services.db.session() as session:
        for draft in idle_drafts(session, remind_before):
            state = FormState.from_json(draft.state)
            title = state.answers.get("title", "")
            where = {"room_id": draft.room_id, "thread_root": draft.thread_root, "in_reply": False,
                     "mentions": (draft.user_id,)}
            if as_utc(draft.updated_at) <= abandon_before:
                # updated_at stays the last activity of the member, which !mes-depots shows.
                draft.state, draft.status = abandon(state, now).to_json(), "abandoned"
                replies.append(Reply(template="deposits/abandoned.md.j2", txn_key=f"deposit-abandoned:{draft.id}",
                                     context={"title": title, "days": _days(settings.abandon_after_days)}, **where))
            elif draft.reminded_at is None:
                draft.reminded_at = now
                replies.append(Reply(
                    template="deposits/reminder.md.j2",
                    txn_key=f"deposit-reminder:{draft.id}:{as_utc(draft.updated_at).isoformat()}",
                    context={"title": title, "question": _pending_question(form, state)}, **where))
            else:
                continue
            session.add(draft)
    return replies


def _pending_question(form: FormDef, state: FormState) -> str:
    if state.current:
        try:
            return form.field(state.current).question_for(bool(state.facts.get("origin_confidential")))
        except KeyError:
            pass
    return "Il ne reste qu'à confirmer le récapitulatif : répondez « oui » pour déposer le projet."


def _days(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
