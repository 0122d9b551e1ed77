"""What the bot holds about one member, and its erasure: the queries behind `!mes-donnees`, `!oublier`
and `manufacture-bot personal-data`, so that the chat and the command line run the same code.

A member's data, by kind: the questions they asked, their votes, their deposits (and the deposits
others made naming them as carrier), their drafts, the offers to forward their questions and the
questions forwarded, the reminders they wrote, their direct chat with the bot and what waits there,
their board links and sessions, the encrypted events of theirs the bot could not read yet.

Tables that keep no member's id nor words are left alone: the handled events and the sent messages
(an event id, a room id, a tag), the rooms, the référentiel, the calendar feeds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, delete, func, select

from storage.agenda import ReminderRow
from storage.board import BoardLinkUse, BoardSession
from storage.deposits import Deposit, DepositDraft
from storage.direct_chats import DirectChat, PendingMessage
from storage.questions import AnswerFeedback, AnswerRecord, ForwardedQuestion, ForwardOffer
from storage.undecryptable import UndecryptableEvent

# The summary's kinds, in the order it lists them: key (the JSON export's), then the French label.
KINDS: tuple[tuple[str, str], ...] = (
    ("questions", "Questions posées"),
    ("votes", "Votes (👍/👎) sur mes réponses"),
    ("depots", "Dépôts de projets faits par vous"),
    ("depots_pour_vous", "Dépôts faits pour vous (vous en êtes le porteur)"),
    ("brouillons", "Formulaires de dépôt non terminés"),
    ("propositions_de_transmission", "Propositions de transmettre une question"),
    ("questions_transmises", "Questions transmises à l'équipe d'animation"),
    ("rappels", "Rappels et diffusions que vous avez programmés"),
    ("conversations_privees", "Conversations privées avec moi"),
    ("messages_en_attente", "Messages en attente pour vous"),
    ("liens_tableau", "Liens de connexion au tableau de bord utilisés"),
    ("sessions_tableau", "Sessions ouvertes sur le tableau de bord"),
    ("messages_illisibles", "Messages chiffrés que je n'ai pas encore pu lire"),
)
LABELS = dict(KINDS)
DEPOSIT_KINDS = ("depots", "depots_pour_vous")


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    # JSON-ready entries, one per row.
    items: list[dict[str, Any]]
    first: datetime | None = None
    last: datetime | None = None

    @property
    def count(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class Inventory:
    user_id: str
    made_at: datetime
    kinds: list[Kind]

    @property
    def total(self) -> int:
        return sum(kind.count for kind in self.kinds)

    def to_json(self) -> bytes:
        document = {
            "membre": self.user_id,
            "export_du": self.made_at.isoformat(),
            **{kind.key: kind.items for kind in self.kinds},
        }
        return json.dumps(document, ensure_ascii=False, indent=2, default=_iso).encode("utf-8") + b"\n"


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _carries(deposit: Deposit, user_id: str) -> bool:
    """Someone else's deposit naming this member as its carrier (by their Matrix id)."""
    contact = deposit.answers.get("carrier_contact")
    return deposit.depositor != user_id and isinstance(contact, str) and user_id.casefold() in contact.casefold()


def _draft_answers(draft: DepositDraft) -> dict[str, Any]:
    try:
        answers = json.loads(draft.state).get("answers", {})
    except (ValueError, AttributeError):
        return {}
    return answers if isinstance(answers, dict) else {}


def _kind(key: str, items: list[dict[str, Any]], dates: list[datetime | None]) -> Kind:
    known = [d for d in dates if d is not None]
    return Kind(key, LABELS[key], items, min(known, default=None), max(known, default=None))


def inventory(session: Session, user_id: str, now: datetime) -> Inventory:
    """Everything the bot holds about the member, by kind. From a confidential room the bot keeps no
    question's words; someone else's deposit naming them shows only what it says of them."""
    kinds: list[Kind] = []

    questions = list(session.exec(select(AnswerRecord).where(AnswerRecord.asker == user_id)))
    kinds.append(
        _kind(
            "questions",
            [
                {
                    "date": q.created_at,
                    "salon": q.room_id,
                    "question": q.question,
                    "repondue": q.answered,
                    "source": q.source,
                }
                for q in questions
            ],
            [q.created_at for q in questions],
        )
    )
    votes = list(session.exec(select(AnswerFeedback).where(AnswerFeedback.user_id == user_id)))
    kinds.append(
        _kind(
            "votes",
            [{"date": v.created_at, "reponse": v.answer_id, "vote": v.vote} for v in votes],
            [v.created_at for v in votes],
        )
    )
    deposits = list(session.exec(select(Deposit).order_by(col(Deposit.id))))
    own = [d for d in deposits if d.depositor == user_id]
    kinds.append(
        _kind(
            "depots",
            [
                {
                    "reference": d.reference,
                    "date": d.created_at,
                    "titre": d.title,
                    "statut": d.status,
                    "reponses": d.answers,
                    "suivi": [{"statut": h.get("status"), "date": h.get("at")} for h in d.history],
                }
                for d in own
            ],
            [d.created_at for d in own],
        )
    )
    # Only what the deposit says of them: the rest is its depositor's (and may come from a confidential room).
    carried = [d for d in deposits if _carries(d, user_id) and d.content_shared]
    kinds.append(
        _kind(
            "depots_pour_vous",
            [
                {
                    "reference": d.reference,
                    "date": d.created_at,
                    "nom_du_porteur": d.answers.get("carrier_name"),
                    "contact_du_porteur": d.answers.get("carrier_contact"),
                }
                for d in carried
            ],
            [d.created_at for d in carried],
        )
    )
    drafts = list(
        session.exec(
            select(DepositDraft)
            .where(DepositDraft.user_id == user_id, col(DepositDraft.deposit_reference).is_(None))
            .order_by(col(DepositDraft.id))
        )
    )
    kinds.append(
        _kind(
            "brouillons",
            [
                {
                    "commence_le": d.created_at,
                    "modifie_le": d.updated_at,
                    "etat": d.status,
                    "reponses": _draft_answers(d),
                }
                for d in drafts
            ],
            [d.updated_at for d in drafts],
        )
    )
    offers = list(session.exec(select(ForwardOffer).where(ForwardOffer.asker == user_id)))
    kinds.append(
        _kind(
            "propositions_de_transmission",
            [{"date": o.created_at, "salon": o.room_id, "question": o.question, "etat": o.state} for o in offers],
            [o.created_at for o in offers],
        )
    )
    forwarded = list(session.exec(select(ForwardedQuestion).where(ForwardedQuestion.asker == user_id)))
    kinds.append(
        _kind(
            "questions_transmises",
            [
                {
                    "date": f.created_at,
                    "salon": f.room_name or f.room_id,
                    "question": f.question,
                    "reponse": f.answer,
                    "repondue_le": f.answered_at,
                }
                for f in forwarded
            ],
            [f.created_at for f in forwarded],
        )
    )
    reminders = list(session.exec(select(ReminderRow).where(ReminderRow.created_by == user_id)))
    kinds.append(
        _kind(
            "rappels",
            [
                {
                    "programme_le": r.created_at,
                    "prevu_le": r.due_at,
                    "titre": r.title,
                    "texte": r.text,
                    "statut": r.status,
                }
                for r in reminders
            ],
            [r.created_at for r in reminders],
        )
    )
    chats = list(session.exec(select(DirectChat).where(DirectChat.user_id == user_id)))
    kinds.append(
        _kind(
            "conversations_privees",
            [{"salon": c.room_id, "etat": c.state, "ouverte_le": c.created_at} for c in chats],
            [c.created_at for c in chats],
        )
    )
    pending = list(session.exec(select(PendingMessage).where(PendingMessage.user_id == user_id)))
    kinds.append(
        _kind(
            "messages_en_attente",
            [{"date": p.created_at, "texte": p.content.get("body")} for p in pending],
            [p.created_at for p in pending],
        )
    )
    uses = list(session.exec(select(BoardLinkUse).where(BoardLinkUse.user_id == user_id)))
    kinds.append(_kind("liens_tableau", [{"utilise_le": u.used_at} for u in uses], [u.used_at for u in uses]))
    sessions = list(session.exec(select(BoardSession).where(BoardSession.user_id == user_id)))
    kinds.append(
        _kind(
            "sessions_tableau",
            [{"ouverte_le": s.created_at, "expire_le": s.expires_at} for s in sessions],
            [s.created_at for s in sessions],
        )
    )
    unread = list(session.exec(select(UndecryptableEvent).where(UndecryptableEvent.sender == user_id)))
    kinds.append(
        _kind(
            "messages_illisibles",
            [{"recu_le": u.received_at, "salon": u.room_id} for u in unread],
            [u.received_at for u in unread],
        )
    )
    return Inventory(user_id, now, kinds)


@dataclass
class Erased:
    """What an erasure removed: counts by kind, and the deposits it touched, by reference."""

    counts: dict[str, int] = field(default_factory=dict)
    # The member's own deposits, kept without who made them, or removed.
    anonymised: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    # Others' deposits that named the member as carrier: their name and contact erased.
    carrier_erased: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def lines(self) -> list[tuple[str, int]]:
        """(French label, count) of every kind with something erased, in the summary's order; the deposits,
        which may be kept anonymised, are told by reference instead."""
        return [(label, self.counts[key]) for key, label in KINDS if self.counts.get(key) and key not in DEPOSIT_KINDS]


def _delete(session: Session, model: Any, *conditions: Any) -> int:
    result = session.exec(delete(model).where(*conditions))
    return int(result.rowcount or 0)


def erase(session: Session, user_id: str, *, remove_deposits: bool) -> Erased:
    """Erases everything the bot holds about the member, in one transaction. Their deposits are removed,
    or kept for the community without who made them (`remove_deposits` False); someone else's deposit
    naming them as carrier loses their name and contact; a facilitator's name leaves the deposits'
    follow-up and the questions they answered."""
    erased = Erased()
    counts = erased.counts
    counts["votes"] = _delete(session, AnswerFeedback, col(AnswerFeedback.user_id) == user_id)
    counts["questions"] = _delete(session, AnswerRecord, col(AnswerRecord.asker) == user_id)
    counts["propositions_de_transmission"] = _delete(session, ForwardOffer, col(ForwardOffer.asker) == user_id)
    counts["questions_transmises"] = _delete(session, ForwardedQuestion, col(ForwardedQuestion.asker) == user_id)
    for answered in session.exec(select(ForwardedQuestion).where(ForwardedQuestion.answered_by == user_id)):
        answered.answered_by = None
        session.add(answered)
    counts["rappels"] = _delete(session, ReminderRow, col(ReminderRow.created_by) == user_id)
    counts["messages_en_attente"] = _delete(session, PendingMessage, col(PendingMessage.user_id) == user_id)
    counts["conversations_privees"] = _delete(session, DirectChat, col(DirectChat.user_id) == user_id)
    counts["liens_tableau"] = _delete(session, BoardLinkUse, col(BoardLinkUse.user_id) == user_id)
    counts["sessions_tableau"] = _delete(session, BoardSession, col(BoardSession.user_id) == user_id)
    counts["messages_illisibles"] = _delete(session, UndecryptableEvent, col(UndecryptableEvent.sender) == user_id)

    own = 0
    for deposit in list(session.exec(select(Deposit).order_by(col(Deposit.id)))):
        if deposit.depositor == user_id:
            own += 1
            if remove_deposits:
                erased.removed.append(deposit.reference)
                session.delete(deposit)
                continue
            erased.anonymised.append(deposit.reference)
            _anonymise(deposit, user_id)
        elif _carries(deposit, user_id):
            erased.carrier_erased.append(deposit.reference)
            deposit.answers = {**deposit.answers, "carrier_name": None, "carrier_contact": None}
            deposit.carrier = ""
        if any(entry.get("by") == user_id for entry in deposit.history):
            deposit.history = [{**e, "by": None} if e.get("by") == user_id else e for e in deposit.history]
        session.add(deposit)
    counts["depots"] = own
    counts["depots_pour_vous"] = len(erased.carrier_erased)
    # Someone else's form naming them as carrier (a deposit's own draft among them) keeps its answers in its state.
    for draft in session.exec(
        select(DepositDraft).where(
            col(DepositDraft.user_id) != user_id, func.lower(DepositDraft.state).contains(user_id.casefold())
        )
    ):
        _forget_carrier_in_draft(draft, user_id)
        session.add(draft)
    # Drafts last: a deposit kept anonymised no longer points at its draft. A confirmed deposit's
    # draft goes with it, uncounted: the deposits are counted already.
    counts["brouillons"] = _delete(
        session, DepositDraft, col(DepositDraft.user_id) == user_id, col(DepositDraft.deposit_reference).is_(None)
    )
    _delete(session, DepositDraft, col(DepositDraft.user_id) == user_id)
    session.flush()
    return erased


def _anonymise(deposit: Deposit, user_id: str) -> None:
    """The content stays for the community; who made it, and how to reach them, go."""
    deposit.depositor = ""
    if deposit.carrier == user_id or deposit.answers.get("carrier") == "me":
        deposit.carrier = ""
    deposit.draft_id = None
    deposit.answers = {**deposit.answers, "contact": None, "carrier_contact": None}


def _forget_carrier_in_draft(draft: DepositDraft, user_id: str) -> None:
    state = json.loads(draft.state)
    answers = state.get("answers", {})
    contact = answers.get("carrier_contact")
    if isinstance(contact, str) and user_id.casefold() in contact.casefold():
        state["answers"] = {**answers, "carrier_name": None, "carrier_contact": None}
        draft.state = json.dumps(state, ensure_ascii=False, sort_keys=True)
