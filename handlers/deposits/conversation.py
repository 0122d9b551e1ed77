"""Where the form meets the chat: !deposer, the messages of a form's thread, the ✅ on the recap.

Each message loads the member's draft, runs one pure step of the machine and saves the new
state before answering, so a restart at any moment resumes exactly where the member was.
A draft is keyed by room + member + thread: two members filling forms in one room never mix.
"""
from __future__ import annotations

from dataclasses import replace

from handlers.context import CommandContext, Message, Reaction, Services
from handlers.deposits.form import FormDef
from handlers.deposits.formsource import form_for
from handlers.deposits.machine import (ABANDONED, CONFIRMED, FILLING, RECAP, RECAP_TAG, Control, FormState,
                                       next_field, parse_event, question_reply, recap_reply, start, step)
from handlers.deposits.records import confirmation_replies, create_deposit
from handlers.registry import HandlerResult
from handlers.replies import Reply
from storage.deposits import DepositDraft, draft_in_thread, open_draft

CONFIRM_REACTIONS = ("✅", "✔️", "✔", "☑️", "👍")


def form_thread(message: Message) -> tuple[str | None, bool]:
    """(thread root, whether to open it): a direct chat is the conversation itself; in a room the
    bot opens a thread on the !deposer message, or stays in the thread it was typed in."""
    if message.room.is_direct:
        return None, False
    if message.thread_root:
        return message.thread_root, False
    return message.event_id, True


def _in_draft(replies: list[Reply], draft: DepositDraft, *, in_reply: bool = True) -> list[Reply]:
    """Pin the machine's replies to the draft's thread and give the recap its draft id."""
    pinned = []
    for reply in replies:
        changes = {"in_reply": in_reply and reply.in_reply}
        if reply.room_id is None and draft.thread_root and not reply.start_thread:
            changes["thread_root"] = draft.thread_root
        if reply.tag == RECAP_TAG:
            changes["tag"] = f"{RECAP_TAG}:{draft.id}"
        pinned.append(replace(reply, **changes))
    return pinned


async def start_deposit(ctx: CommandContext) -> HandlerResult:
    services, message = ctx.services, ctx.message
    form = await form_for(services)
    now = services.clock()
    with services.db.session() as session:
        existing = open_draft(session, message.room_id, message.sender)
    if existing is not None:
        # One open form per member and room: send them back to it rather than losing it.
        state = FormState.from_json(existing.state)
        again = question_reply(form, state) if state.status == FILLING else recap_reply(form, state)
        notice = Reply(text="Vous avez déjà un dépôt en cours ici : je vous repose la question là où vous en étiez. "
                            "(`!annuler` dans ce fil pour l'abandonner et en commencer un autre.)")
        return [notice, *_in_draft([again], existing, in_reply=False)]

    thread_root, open_thread = form_thread(message)
    state, replies = start(form, {"origin_confidential": message.room.confidential}, now)
    draft = DepositDraft(room_id=message.room_id, user_id=message.sender, thread_root=thread_root,
                         origin_confidential=message.room.confidential, state=state.to_json(),
                         status=state.status, created_at=now, updated_at=now)
    with services.db.session() as session:
        session.add(draft)
        session.flush()
    if open_thread:
        replies = [replace(replies[0], start_thread=True), *replies[1:]]
    return _in_draft(replies, draft)


async def form_listener(ctx: CommandContext) -> HandlerResult:
    """Owns every message of a member's form thread (controls included); None for anything else."""
    services, message = ctx.services, ctx.message
    thread_root = None if message.room.is_direct else message.thread_root
    if not message.room.is_direct and thread_root is None:
        return None
    if _current_draft(services, message, thread_root) is None:
        return None
    now = services.clock()
    event = parse_event(message.body, now, services.config.bot.command_prefix)
    if event is None:
        return None  # another command typed in the thread: not the form's business
    form = await form_for(services)
    # Read again after the await: another message of the member may have moved the form meanwhile.
    draft = _current_draft(services, message, thread_root)
    if draft is None:
        return None
    state = FormState.from_json(draft.state)
    if draft.status == ABANDONED:
        return _resume(services, form, draft, state)
    new_state, replies = step(form, state, event)
    notices = _save(services, form, draft, new_state)
    return _in_draft(replies + notices, draft)


def _current_draft(services: Services, message: Message, thread_root: str | None) -> DepositDraft | None:
    """The member's form of this thread, if it is open, or abandoned in a room's thread.

    An abandoned form comes back when its author writes in its own thread; in a direct chat
    there is no such thread, and any later message would otherwise reopen an old form.
    """
    with services.db.session() as session:
        draft = draft_in_thread(session, message.room_id, message.sender, thread_root)
    if draft is None:
        return None
    if draft.status in (FILLING, RECAP) or (draft.status == ABANDONED and thread_root is not None):
        return draft
    return None


async def on_recap_reaction(reaction: Reaction, services: Services) -> HandlerResult:
    """A ✅ from the form's author on its recap confirms the deposit, like « oui »."""
    if reaction.key not in CONFIRM_REACTIONS:
        return None
    try:
        draft_id = int(reaction.target_tag.split(":", 1)[1])
    except (IndexError, ValueError):
        return None
    form = await form_for(services)
    with services.db.session() as session:
        draft = session.get(DepositDraft, draft_id)
    if draft is None or draft.user_id != reaction.sender or draft.room_id != reaction.room.room_id \
            or draft.status != RECAP:
        return None
    new_state, replies = step(form, FormState.from_json(draft.state), Control("confirm", services.clock()))
    return _in_draft(_save(services, form, draft, new_state) + replies, draft, in_reply=False)


def _save(services: Services, form: FormDef, draft: DepositDraft, state: FormState) -> list[Reply]:
    """Persist the step; on confirmation also create the deposit in the same transaction."""
    now = services.clock()
    with services.db.session() as session:
        draft = session.get(DepositDraft, draft.id)
        draft.state, draft.status, draft.updated_at = state.to_json(), state.status, now
        # Any activity restarts the silence counter, and earns a new reminder if it falls silent again.
        draft.reminded_at = None
        session.add(draft)
        if state.status != CONFIRMED:
            return []
        deposit = create_deposit(session, form, draft, state, now, services.config.bot.tz)
        session.flush()
    return confirmation_replies(services, form, deposit)


def _resume(services: Services, form: FormDef, draft: DepositDraft, state: FormState) -> HandlerResult:
    """A member writing in the thread of an abandoned form gets it back, unless another one is open."""
    with services.db.session() as session:
        if open_draft(session, draft.room_id, draft.user_id) is not None:
            return None
    following = next_field(form, state)
    state = replace(state, status=FILLING if following else RECAP, current=following.key if following else None)
    _save(services, form, draft, state)
    # The message itself is not taken as an answer: after days away it is rarely one.
    welcome = Reply(text="Bon retour ! Vos réponses étaient conservées ; reprenons là où nous en étions.")
    again = question_reply(form, state) if following else recap_reply(form, state)
    return _in_draft([welcome, again], draft)
