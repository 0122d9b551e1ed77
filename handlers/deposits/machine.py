"""The deposit conversation as a pure state machine: step(form, state, event) -> (state, replies).

No Matrix, no database, no clock: the caller passes the time in the event and stores the
returned state after every step, so a restart resumes exactly where the member was.
Answers are never removed; a field is only overwritten when the member answers it again.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from handlers.deposits.answers import InvalidAnswer, display_value, parse_answer
from handlers.deposits.form import FieldDef, FormDef
from handlers.replies import Poll, PollChoice, Reply
from handlers.text import fold_for_matching, parse_yes_no, quote

FILLING, RECAP, CONFIRMED, CANCELLED, ABANDONED = "filling", "recap", "confirmed", "cancelled", "abandoned"
OPEN_STATUSES = (FILLING, RECAP)
# The conversation layer appends ":<draft id>" so a ✅ on the recap finds its draft.
RECAP_TAG = "deposit-recap"
# A question's poll is tagged "deposit-poll:<field key>"; the conversation layer makes it
# "deposit-poll:<draft id>:<field key>", so a response finds its draft and the step it answers.
POLL_TAG = "deposit-poll"
# Fields answered by one choice among fixed ones: a poll offers them to tap.
POLL_TYPES = ("choice", "tribe", "yes_no")

CONTROL_WORDS = {
    "retour": "back",
    "precedent": "back",
    "precedente": "back",
    "passer": "skip",
    "suivant": "skip",
    "annuler": "cancel",
    "abandonner": "cancel",
    "aide": "help",
    "modifier": "modify",
    "changer": "modify",
    "corriger": "modify",
    "valider": "confirm",
    "confirmer": "confirm",
}
# Typed without the prefix, a lone « retour » or « annuler » is still meant as a control.
BARE_CONTROLS = ("retour", "passer", "annuler", "aide")
# Free-text fields, where a question to the bot would otherwise be saved as the answer.
FREE_TEXT_TYPES = ("short_text", "long_text")
# How a French question starts (folded): « c'est quoi une balise », « comment on fait ».
QUESTION_STARTS = (
    "c est quoi",
    "qu est ce",
    "est ce que",
    "que veut dire",
    "que signifie",
    "ca veut dire",
    "comment",
    "pourquoi",
    "combien",
    "quel ",
    "quelle ",
    "quels ",
    "quelles ",
    "je ne comprends pas",
    "je comprends pas",
)
ANSWER_OR_QUESTION = (
    "Est-ce votre réponse, ou une question pour moi ? Répondez « oui » pour l'enregistrer comme réponse, "
    "« non » si c'était une question ; ou écrivez directement votre réponse."
)


@dataclass(frozen=True)
class Answer:
    text: str
    at: datetime


@dataclass(frozen=True)
class Control:
    action: str  # back | skip | cancel | help | modify | confirm
    at: datetime
    argument: str = ""


Event = Answer | Control


def parse_event(body: str, at: datetime, prefix: str = "!") -> Event | None:
    """A message in a form thread as an event; None for a command that belongs to someone else."""
    text = body.strip()
    if text.startswith(prefix):
        word, _, rest = text[len(prefix) :].partition(" ")
        action = CONTROL_WORDS.get(fold_for_matching(word))
        return Control(action, at, rest.strip()) if action else None
    if fold_for_matching(text) in BARE_CONTROLS:
        return Control(CONTROL_WORDS[fold_for_matching(text)], at)
    return Answer(text, at)


@dataclass
class FormState:
    # The field being asked; None at the recap and once the form is closed.
    current: str | None
    answers: dict[str, Any] = field(default_factory=dict)
    # Fields left behind, most recent last: !retour pops it.
    history: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    status: str = FILLING
    # Known before the first question (origin_confidential), usable in conditions.
    facts: dict[str, Any] = field(default_factory=dict)
    started_at: str = ""
    updated_at: str = ""
    # A text that read as a question, typed on a free-text field: saved only once the member says it
    # is their answer.
    unsure: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> FormState:
        return cls(**json.loads(text))

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


def applicable(form: FormDef, state: FormState) -> list[FieldDef]:
    """The fields that apply given the answers so far (conditions on earlier answers and facts)."""
    known = {**state.facts, **state.answers}
    return [f for f in form.fields if f.condition is None or f.condition.holds(known)]


def next_field(form: FormDef, state: FormState) -> FieldDef | None:
    """The first applicable field neither answered nor skipped: after a !retour or a !modifier,
    the member comes back to where they were instead of re-answering everything."""
    for f in applicable(form, state):
        if f.key not in state.answers and f.key not in state.skipped:
            return f
    return None


def start(form: FormDef, facts: dict[str, Any], at: datetime) -> tuple[FormState, list[Reply]]:
    stamp = at.isoformat()
    state = FormState(current=None, facts=dict(facts), started_at=stamp, updated_at=stamp)
    first = next_field(form, state)
    state.current = first.key if first else None
    if first is None:
        state.status = RECAP
        return state, [recap_reply(form, state)]
    return state, [question_reply(form, state, intro=form.intro)]


def step(form: FormDef, state: FormState, event: Event) -> tuple[FormState, list[Reply]]:
    if not state.is_open:
        return state, []
    # Work on a copy: the caller's state stays as it was if it wants to compare or retry.
    state = FormState.from_json(state.to_json())
    state.updated_at = event.at.isoformat()
    unsure, state.unsure = state.unsure, None
    if isinstance(event, Control):
        return _control(form, state, event)
    if unsure is not None and state.status == FILLING:
        return _unsure_answer(form, state, unsure, event.text)
    if state.status == RECAP:
        return _recap_answer(form, state, event.text)
    return _answer(form, state, event.text)


def reads_as_question(text: str) -> bool:
    """Whether a message reads as a question: it ends with « ? » or starts as one does."""
    folded = fold_for_matching(text)
    return text.rstrip().endswith("?") or (folded + " ").startswith(QUESTION_STARTS)


def _unsure_answer(form: FormDef, state: FormState, unsure: str, text: str) -> tuple[FormState, list[Reply]]:
    """The member's word on a text that read as a question: « oui » saves it, « non » asks the
    question again with its help; anything else is their answer."""
    decision = parse_yes_no(text)
    if decision is True:
        return _answer(form, state, unsure, checked=True)
    if decision is False:
        current = _current_field(form, state)
        helped = f"{current.help}\n\n" if current is not None and current.help else ""
        return state, [
            question_reply(
                form,
                state,
                intro=f"{helped}Pour une question sur autre chose, `!q` suivi de votre question me la pose "
                "sans quitter le formulaire. Votre réponse à cette question-ci :",
            )
        ]
    return _answer(form, state, text)


def _answer(form: FormDef, state: FormState, text: str, *, checked: bool = False) -> tuple[FormState, list[Reply]]:
    current = _current_field(form, state)
    if current is None:
        return _advance(form, state)
    if not checked and current.type in FREE_TEXT_TYPES and reads_as_question(text):
        state.unsure = text
        return state, [Reply(text=ANSWER_OR_QUESTION)]
    try:
        value = parse_answer(current, text)
    except InvalidAnswer as exc:
        return state, [question_reply(form, state, error=exc.message)]
    state.answers[current.key] = value
    if current.key in state.skipped:
        state.skipped.remove(current.key)
    _leave(state, current.key)
    return _advance(form, state)


def _recap_answer(form: FormDef, state: FormState, text: str) -> tuple[FormState, list[Reply]]:
    decision = parse_yes_no(text)
    if decision is True:
        state.status = CONFIRMED
        return state, []
    if decision is False:
        return state, [
            Reply(
                text="Pas de souci. Écrivez `!modifier` suivi du nom ou du numéro d'une ligne "
                "du récapitulatif pour la corriger, ou `!annuler` pour abandonner le dépôt."
            )
        ]
    return state, [
        Reply(
            text="Le récapitulatif attend votre confirmation : répondez « oui » (ou réagissez avec ✅) "
            "pour déposer le projet, `!modifier <champ>` pour corriger une réponse, "
            "ou `!annuler`."
        )
    ]


def _control(form: FormDef, state: FormState, event: Control) -> tuple[FormState, list[Reply]]:
    if event.action == "cancel":
        state.status, state.current = CANCELLED, None
        return state, [
            Reply(
                text="Dépôt annulé. Vos réponses restent conservées : `!reprendre` reprend ce dépôt "
                "là où vous en étiez, et `!deposer` en commence un nouveau."
            )
        ]
    if event.action == "help":
        return state, [help_reply(form, state)]
    if event.action == "back":
        return _back(form, state)
    if event.action == "skip":
        return _skip(form, state)
    if event.action == "modify":
        return _modify(form, state, event.argument)
    if event.action == "confirm":
        if state.status == RECAP:
            state.status = CONFIRMED
            return state, []
        return state, [question_reply(form, state, error="Il reste des questions avant de pouvoir confirmer.")]
    return state, []


def _back(form: FormDef, state: FormState) -> tuple[FormState, list[Reply]]:
    keys = {f.key for f in applicable(form, state)}
    while state.history:
        previous = state.history.pop()
        # A field whose condition no longer holds (the member changed an earlier answer) is not revisited.
        if previous in keys and previous != state.current:
            state.current, state.status = previous, FILLING
            return state, [question_reply(form, state)]
    if state.status == RECAP:
        return state, [recap_reply(form, state)]
    return state, [question_reply(form, state, error="Vous êtes déjà à la première question.")]


def _skip(form: FormDef, state: FormState) -> tuple[FormState, list[Reply]]:
    current = _current_field(form, state)
    if state.status == RECAP or current is None:
        return state, [
            Reply(
                text="Il n'y a plus de question à passer : confirmez le récapitulatif par « oui », "
                "ou corrigez une réponse avec `!modifier <champ>`."
            )
        ]
    # Back at an answered question, !passer keeps its answer: required or not, nothing is lost.
    if current.required and current.key not in state.answers:
        return state, [
            question_reply(
                form,
                state,
                error="Cette question est obligatoire : elle ne peut pas être "
                "passée. Écrivez `!aide` si elle n'est pas claire.",
            )
        ]
    # Skipping keeps an earlier answer, if any: nothing typed is ever dropped silently.
    if current.key not in state.answers and current.key not in state.skipped:
        state.skipped.append(current.key)
    _leave(state, current.key)
    return _advance(form, state)


def _modify(form: FormDef, state: FormState, argument: str) -> tuple[FormState, list[Reply]]:
    fields = list(applicable(form, state))
    target = find_field(fields, argument)
    if target is None:
        names = ", ".join(f"{i}. {f.label}" for i, f in enumerate(fields, 1))
        asked = f"« {quote(argument)} » ne correspond à aucune question. " if argument else ""
        return state, [Reply(text=f"{asked}Écrivez `!modifier` suivi du numéro ou du nom d'une question : {names}.")]
    if state.current and state.current != target.key and state.status == FILLING:
        _leave(state, state.current)
    state.current, state.status = target.key, FILLING
    return state, [question_reply(form, state)]


def find_field(fields: list[FieldDef], argument: str) -> FieldDef | None:
    """A field by its number in the recap, its key, its label or a close spelling of either."""
    wanted = fold_for_matching(argument)
    if not wanted:
        return None
    if wanted.isdigit():
        index = int(wanted) - 1
        return fields[index] if 0 <= index < len(fields) else None
    names: dict[str, FieldDef] = {}
    for f in fields:
        for name in (f.key, f.key.replace("_", " "), f.label, f.label.split(" ")[0]):
            names.setdefault(fold_for_matching(name), f)
    if wanted in names:
        return names[wanted]
    close = difflib.get_close_matches(wanted, list(names), n=1, cutoff=0.7)
    return names[close[0]] if close else None


def _leave(state: FormState, key: str) -> None:
    if not state.history or state.history[-1] != key:
        state.history.append(key)


def _current_field(form: FormDef, state: FormState) -> FieldDef | None:
    if state.current is None:
        return None
    try:
        return form.field(state.current)
    except KeyError:
        # The form file changed under a draft: the field is gone, move on rather than crash.
        return None


def _advance(form: FormDef, state: FormState) -> tuple[FormState, list[Reply]]:
    following = next_field(form, state)
    if following is None:
        state.current, state.status = None, RECAP
        return state, [recap_reply(form, state)]
    state.current, state.status = following.key, FILLING
    return state, [question_reply(form, state)]


# Replies as data. Templates live in handlers/templates/deposits/.


def remaining(form: FormDef, state: FormState, current: FieldDef) -> tuple[int, int]:
    """How many questions are still to come after `current`: (at least, at most). A total that grew
    with an answer (« 3/9 » then « 4/11 ») reads like a jump; a range that narrows does not."""
    known = {**state.facts, **state.answers}
    settled = set(state.answers) | set(state.skipped) | {current.key}
    certain = possible = 0
    for f in form.fields:
        if f.key in settled:
            continue
        if f.condition is None or f.condition.holds(known):
            certain += 1
        elif f.condition.field not in known and f.condition.field not in state.skipped:
            possible += 1  # its condition hangs on an answer not given yet
    return certain, certain + possible


def _question_context(form: FormDef, state: FormState, f: FieldDef) -> dict[str, Any]:
    keys = [x.key for x in applicable(form, state)]
    at_least, at_most = remaining(form, state, f)
    return {
        "label": f.label,
        "question": f.question_for(bool(state.facts.get("origin_confidential"))),
        "type": f.type,
        "required": f.required,
        "options": [o.label for o in f.options],
        "position": keys.index(f.key) + 1 if f.key in keys else 1,
        "remaining_at_least": at_least,
        "remaining_at_most": at_most,
        "previous": display_value(f, state.answers[f.key]) if f.key in state.answers else None,
    }


def question_reply(form: FormDef, state: FormState, *, error: str = "", intro: str = "") -> Reply:
    f = _current_field(form, state)
    if f is None:
        return recap_reply(form, state)
    return Reply(
        template="deposits/question.md.j2",
        context={**_question_context(form, state, f), "error": error, "intro": intro},
        poll=question_poll(f, state),
    )


def question_poll(f: FieldDef, state: FormState) -> Poll | None:
    """The choices to tap, for a question with fixed ones. A response carries the choice's id, which
    is what typing it would say: its number, or « oui »/« non »."""
    if f.type not in POLL_TYPES:
        return None
    if f.type == "yes_no":
        choices: tuple[PollChoice, ...] = (PollChoice("oui", "Oui"), PollChoice("non", "Non"))
    else:
        choices = tuple(PollChoice(str(i), o.label) for i, o in enumerate(f.options, 1))
    question = f.question_for(bool(state.facts.get("origin_confidential")))
    return Poll(question=question, choices=choices, tag=f"{POLL_TAG}:{f.key}")


def help_reply(form: FormDef, state: FormState) -> Reply:
    f = _current_field(form, state) if state.status == FILLING else None
    context: dict[str, object] = {"in_recap": state.status == RECAP, "field": None}
    if f is not None:
        context["field"] = {**_question_context(form, state, f), "help": f.help}
    return Reply(template="deposits/help.md.j2", context=context)


def recap_rows(form: FormDef, state: FormState) -> list[dict[str, Any]]:
    return [
        {
            "number": i,
            "key": f.key,
            "label": f.label,
            "value": display_value(f, state.answers.get(f.key)) if f.key in state.answers else "—",
        }
        for i, f in enumerate(applicable(form, state), 1)
    ]


def recap_reply(form: FormDef, state: FormState) -> Reply:
    return Reply(
        template="deposits/recap.md.j2", context={"title": form.title, "rows": recap_rows(form, state)}, tag=RECAP_TAG
    )


def abandon(state: FormState, at: datetime) -> FormState:
    """Close a silent draft; its answers stay, so the member can still read them in !mes-depots."""
    return replace(state, status=ABANDONED, current=None, updated_at=at.isoformat())
