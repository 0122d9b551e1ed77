"""The deposit record: made from a confirmed form, shown to people, announced to the right rooms.

Confidential origin (peer group, direct chat) decides everything here: such a deposit is only
for the facilitators, is never announced in a tribe room, and its content reaches the
facilitators only when its author said yes to the explicit question of the form.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from handlers.context import Services
from handlers.deposits.answers import display_value, format_date_fr
from handlers.deposits.form import FormDef
from handlers.deposits.machine import FormState, applicable
from handlers.replies import Post, Reply
from handlers.text import fold_for_matching
from storage.deposits import Deposit, DepositDraft, find_deposit, format_reference, next_sequence
from storage.rooms import facilitators_room_id, rooms_of_kind

STATUS_LABELS = {"nouveau": "nouveau", "en-etude": "en étude", "accompagne": "accompagné", "clos": "clos"}
VISIBILITY_LABELS = {"community": "toute la communauté", "facilitators": "équipe d'animation seulement"}


def create_deposit(
    session: Session, form: FormDef, draft: DepositDraft, state: FormState, now: datetime, tz: ZoneInfo
) -> Deposit:
    """Turn a confirmed draft into a numbered deposit; confirming twice (« oui » then ✅) makes one."""
    if draft.deposit_reference:
        existing = find_deposit(session, draft.deposit_reference)
        if existing is not None:
            return existing
    answers = state.answers
    asked = {f.key for f in applicable(form, state)}
    confidential = bool(state.facts.get("origin_confidential"))
    year = now.astimezone(tz).year
    sequence = next_sequence(session, year)
    carrier = (answers.get("carrier_name") or "") if answers.get("carrier") == "other" else draft.user_id
    deposit = Deposit(
        reference=format_reference(year, sequence),
        year=year,
        sequence=sequence,
        draft_id=draft.id,
        title=str(answers.get("title", "")),
        tribe=answers.get("tribe") if "tribe" in asked else None,
        carrier=carrier or draft.user_id,
        depositor=draft.user_id,
        status="nouveau",
        # A confidential-origin deposit is for the facilitators whatever else was said.
        visibility="facilitators" if confidential else answers.get("visibility", "facilitators"),
        origin_room_id=draft.origin_room_id or draft.room_id,
        origin_thread_root=draft.thread_root,
        origin_confidential=confidential,
        content_shared=(not confidential) or answers.get("share_content") is True,
        created_at=now,
        # Every key of the form, so consumers of the export always find the same columns.
        answers={f.key: (answers.get(f.key) if f.key in asked else None) for f in form.fields},
        history=[{"status": "nouveau", "at": now.isoformat(), "by": draft.user_id, "comment": ""}],
    )
    session.add(deposit)
    draft.deposit_reference = deposit.reference
    session.add(draft)
    return deposit


def answer_rows(form: FormDef, answers: dict[str, Any]) -> list[dict[str, str]]:
    """Label and French value of every answered field, in the form's order."""
    rows = []
    for f in form.fields:
        if answers.get(f.key) is not None:
            rows.append({"key": f.key, "label": f.label, "value": display_value(f, answers[f.key])})
    known = set(form.keys())
    # Fields removed from the form since the deposit still show: nothing typed disappears.
    rows += [{"key": k, "label": k, "value": str(v)} for k, v in answers.items() if k not in known and v is not None]
    return rows


def local_date(moment: datetime, tz: ZoneInfo) -> str:
    return format_date_fr(moment.astimezone(tz).date())


def disclosed(deposit: Deposit) -> dict[str, Any]:
    """All the facilitators may know of a deposit: the one rule of every view and of the export.

    Its author's « non » to the share_content question (until their !partager) leaves a
    reference, a date and a status: neither who made it (depositor, carrier, their own line of
    the history) nor what it says, every answer being None. The facilitators' own status
    changes still show."""
    shared = deposit.content_shared
    return {
        "reference": deposit.reference,
        "title": deposit.title if shared else None,
        "tribe": deposit.tribe if shared else None,
        "carrier": deposit.carrier if shared else None,
        "depositor": deposit.depositor if shared else None,
        "status": deposit.status,
        "visibility": deposit.visibility,
        "origin_confidential": deposit.origin_confidential,
        "content_shared": shared,
        "created_at": deposit.created_at,
        "answers": {k: (v if shared else None) for k, v in deposit.answers.items()},
        "history": [
            entry if shared or entry.get("by") != deposit.depositor else {**entry, "by": None}
            for entry in deposit.history
        ],
    }


def deposit_view(deposit: Deposit, form: FormDef, tz: ZoneInfo) -> dict[str, Any]:
    """What templates may show of a deposit: what `disclosed` allows, in French."""
    seen = disclosed(deposit)
    return {
        "reference": seen["reference"],
        "title": seen["title"],
        "tribe": seen["tribe"],
        "status": seen["status"],
        "status_label": STATUS_LABELS.get(seen["status"], seen["status"]),
        "visibility_label": VISIBILITY_LABELS.get(seen["visibility"], seen["visibility"]),
        "created": local_date(seen["created_at"], tz),
        "depositor": seen["depositor"],
        "origin_confidential": seen["origin_confidential"],
        "content_shared": seen["content_shared"],
        "rows": answer_rows(form, seen["answers"]),
        "history": [
            {
                "date": format_date_fr(datetime.fromisoformat(h["at"]).astimezone(tz).date()),
                "status_label": STATUS_LABELS.get(h["status"], h["status"]),
                "by": h.get("by") or "",
                "comment": h.get("comment", ""),
            }
            for h in seen["history"]
        ],
    }


def tribe_room(session: Session, tribe: str) -> str | None:
    """The room of this tribe, names compared folded: the form may spell it as the config does
    (« Énergie ») and the room as a facilitator's !salon did (« energie »)."""
    return next(
        (
            room.room_id
            for room in rooms_of_kind(session, "tribe")
            if fold_for_matching(room.name) == fold_for_matching(tribe)
        ),
        None,
    )


def confirmation_replies(session: Session, services: Services, form: FormDef, deposit: Deposit) -> list[Reply]:
    """The thank-you to the depositor, the facilitators' notice and, maybe, the tribe's announcement
    (a step: the rooms are read from the database)."""
    replies: list[Reply] = []
    announce_in = None
    if (
        services.config.deposits.announce_in_tribe
        and deposit.visibility == "community"
        and not deposit.origin_confidential
        and deposit.tribe
    ):
        announce_in = tribe_room(session, deposit.tribe)
    replies.append(
        Reply(
            template="deposits/confirmed.md.j2",
            context={
                "title": deposit.title,
                "reference": deposit.reference,
                "visibility": deposit.visibility,
                "content_shared": deposit.content_shared,
                "announced": announce_in is not None,
            },
        )
    )

    notice = facilitators_notice(session, services, form, deposit)
    if notice:
        replies.append(notice)

    if announce_in:
        replies.append(
            Reply(
                template="deposits/tribe_announce.md.j2",
                to=Post(announce_in),
                context={
                    "title": deposit.title,
                    "reference": deposit.reference,
                    "territory": deposit.answers.get("territory") or "",
                    "needs": needs_text(form, deposit.answers),
                },
                # The form was filled in the author's direct chat; « toute la communauté » to the
                # visibility question, confirmed at the recap, is their explicit yes to this announcement.
                author_consented=True,
                txn_key=f"deposit-announce:{deposit.reference}",
            )
        )
    return replies


def needs_text(form: FormDef, answers: dict[str, Any]) -> str:
    """The needs as the announcement says them: a choice followed by its own question (« Autre chose »,
    then « Quel autre besoin ? ») reads as the detail the member gave, not as the bare choice."""
    if "needs" not in form or not answers.get("needs"):
        return ""
    field = form.field("needs")
    chosen = answers["needs"] if isinstance(answers["needs"], list) else [answers["needs"]]
    details = {
        value: str(answers[f.key])
        for f in form.fields
        if f.condition is not None and f.condition.field == "needs" and answers.get(f.key)
        for value in f.condition.values
    }
    return ", ".join(details.get(value) or display_value(field, [value]) for value in chosen)


def facilitators_notice(
    session: Session, services: Services, form: FormDef, deposit: Deposit, *, shared_later: bool = False
) -> Reply | None:
    """The notice of a deposit in the facilitators' room (None when no such room is known).
    `shared_later`: its author, who first kept the content to themselves, now shares it."""
    facilitators_room = facilitators_room_id(session)
    if not facilitators_room:
        return None
    return Reply(
        template="deposits/facilitators_notice.md.j2",
        to=Post(facilitators_room),
        context={**deposit_view(deposit, form, services.config.bot.tz), "shared_later": shared_later},
        # The form is filled in the author's direct chat. Its purpose is to reach the facilitators:
        # confirming the recap is the author's consent; from a confidential room it also takes the
        # explicit « oui » to the share_content question, or their own !partager afterwards.
        author_consented=deposit.content_shared,
        # Without consent the notice holds the reference alone: nothing said in the room.
        contains_room_content=deposit.content_shared,
        txn_key=f"deposit-{'shared' if shared_later else 'notice'}:{deposit.reference}",
    )
