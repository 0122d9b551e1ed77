"""Where the form meets the chat: !deposer, the member's messages in their direct chat, the ✅ on the recap.

The form is a private exchange: wherever !deposer is typed, the questions and answers happen in the
member's direct chat with the bot; the room only hears that the bot wrote to them privately. Each
message loads the member's draft, runs one pure step of the machine and saves the new state
before answering, so a restart at any moment resumes exactly where the member was. A member has
one form in progress at a time, so two forms never mix.

Drafts of the 2026-12-01 release were filled in a thread of the room: the first message in such a
thread (or the next reminder) moves the draft to the direct chat, answers kept.

Every read and write of a draft is a step of the event's unit of work (`await work(step, …)`); what
must be atomic (the step saved and, on confirmation, the deposit created) is one step.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from handlers.context import CommandContext, Message, PollVote, Reaction, Services
from handlers.deposits.form import FormDef
from handlers.deposits.formsource import form_for
from handlers.deposits.machine import (
    ABANDONED,
    CANCELLED,
    CONFIRMED,
    FILLING,
    POLL_TAG,
    RECAP,
    RECAP_TAG,
    Answer,
    Control,
    Event,
    FormState,
    next_field,
    parse_event,
    question_reply,
    recap_reply,
    start,
    step,
)
from handlers.deposits.records import confirmation_replies, create_deposit
from handlers.help import DEPOSITS
from handlers.private import TOLD_PRIVATELY, pointer, private_room
from handlers.registry import Command, HandlerResult
from handlers.replies import ANSWER, Post, Reply, UserError
from storage.deposits import Deposit, DepositDraft, draft_in_thread, latest_draft, open_draft, private_draft
from storage.messages import end_polls
from storage.rows import reread
from storage.unit_of_work import UnitOfWork

CONFIRM_REACTIONS = ("✅", "✔️", "✔", "☑️", "👍")

MOVED_TO_PRIVATE = (
    "Je vous écris en message privé pour le dépôt de votre projet : les questions et vos réponses "
    "ne s'afficheront pas ici."
)
THREAD_MOVED = (
    "Pour que vos réponses restent entre vous et moi, la suite de ce dépôt se passe en message privé : "
    "je vous y attends."
)


def _in_draft(replies: list[Reply], draft: DepositDraft, trigger_room: str | None) -> list[Reply]:
    """Send the machine's replies to the draft's direct chat and give the recap its draft id."""
    pinned = []
    for reply in replies:
        to, consented, tag = reply.to, reply.author_consented, reply.tag
        if not isinstance(reply.to, Post):
            # A reply to the member's own message only where that message is.
            answers = reply.to == ANSWER and trigger_room == draft.room_id
            # The member's own words, shown to them alone in their direct chat.
            to, consented = (ANSWER if answers else Post(draft.room_id)), True
        if reply.tag == RECAP_TAG:
            tag = f"{RECAP_TAG}:{draft.id}"
        poll = reply.poll
        if poll is not None:
            poll = replace(poll, tag=_poll_tag(draft) + poll.tag.removeprefix(f"{POLL_TAG}:"))
        pinned.append(replace(reply, to=to, author_consented=consented, tag=tag, poll=poll))
    return pinned


def _poll_tag(draft: DepositDraft) -> str:
    """What the tags of a draft's polls start with (the field key follows)."""
    return f"{POLL_TAG}:{draft.id}:"


POLL_ENDED = "Sondage clos."


async def _end_polls(work: UnitOfWork, draft: DepositDraft) -> list[Reply]:
    """Ends the draft's open polls (at most the one of the question in hand): once the member has moved
    on, by poll or by typing, a late response to it answers nothing."""
    ended = await work(end_polls, _poll_tag(draft))
    # Only the member reads them, in their direct chat.
    return [
        Reply(text=POLL_ENDED, to=Post(room), ends_poll=event_id, author_consented=True) for room, event_id in ended
    ]


def _moved_on(before: FormState, after: FormState) -> bool:
    """Whether a step leaves the question in hand (answered, skipped, gone back, cancelled…)."""
    return (before.current, before.status) != (after.current, after.status)


async def _conversation_room(services: Services, message: Message) -> str:
    """Where this member's form is filled in: the direct chat they are writing in, or theirs with the bot."""
    return message.room_id if message.room.is_direct else await private_room(services, message.sender)


def _move(session: Session, draft_id: int | None, room_id: str) -> DepositDraft:
    """Give a draft its direct chat (a draft of a room's thread, or one filled in another direct chat)."""
    stored = reread(session, DepositDraft, draft_id)
    # A draft of the previous release was started where it was filled in.
    stored.origin_room_id = stored.origin_room_id or stored.room_id
    stored.room_id, stored.thread_root = room_id, None
    session.add(stored)
    return stored


def _open_and_latest(session: Session, user_id: str) -> tuple[DepositDraft | None, DepositDraft | None]:
    """The member's form in progress, if any, and their latest draft (which it is, when there is one)."""
    existing = open_draft(session, user_id)
    return existing, existing or latest_draft(session, user_id)


def _add_draft(session: Session, draft: DepositDraft) -> None:
    session.add(draft)
    # The draft's id is the recap's tag, given before the replies are.
    session.flush()


async def start_deposit(ctx: CommandContext) -> HandlerResult:
    services, message, work = ctx.services, ctx.message, ctx.work
    form = await work(form_for, services)
    room_id = await _conversation_room(services, message)
    told = [] if message.room.is_direct else [pointer(services, room_id, MOVED_TO_PRIVATE)]
    existing, latest = await work(_open_and_latest, message.sender)
    if existing is None and latest is not None and latest.status == ABANDONED:
        # A form closed by silence, not by the member: !deposer picks it up again.
        moved = await work(_move, latest.id, room_id)
        return told + await _resume(work, services, form, moved, message.room_id)
    if existing is not None:
        moved = await work(_move, existing.id, room_id)
        return told + await _end_polls(work, moved) + _ask_again(form, moved, message.room_id)

    now = services.clock()
    state, replies = start(form, {"origin_confidential": message.room.confidential}, now)
    if latest is not None and latest.status == CANCELLED:
        # Cancelling was the member's choice, so a new form starts; the cancelled one is still within reach.
        replies.insert(
            0, Reply(text="Votre dépôt annulé reste conservé : `!reprendre` le reprend à la place de celui-ci.")
        )
    draft = DepositDraft(
        room_id=room_id,
        user_id=message.sender,
        origin_room_id=message.room_id,
        origin_confidential=message.room.confidential,
        state=state.to_json(),
        status=state.status,
        created_at=now,
        updated_at=now,
    )
    await work(_add_draft, draft)
    services.metrics.form("started")
    return told + _in_draft(replies, draft, message.room_id)


# The registry folds accents, so « !déposer » and « !dépôts » already reach these commands;
# declaring the accented spellings as aliases would count as duplicates.
DEPOSER = Command(
    name="deposer",
    handler=start_deposit,
    usage="deposer",
    help="Déposer un projet à la Manufacture, pour vous ou pour quelqu'un d'autre : je vous pose "
    "les questions une à une, en message privé.",
    section=DEPOSITS,
)


def _ask_again(form: FormDef, draft: DepositDraft, trigger_room: str) -> list[Reply]:
    state = FormState.from_json(draft.state)
    again = question_reply(form, state) if state.status == FILLING else recap_reply(form, state)
    notice = Reply(
        text="Vous avez déjà un dépôt en cours : je vous repose la question là où vous en étiez. "
        "(`!annuler` pour l'abandonner et en commencer un autre.)"
    )
    return _in_draft([notice, again], draft, trigger_room)


async def resume_deposit(ctx: CommandContext) -> HandlerResult:
    """!reprendre: the member's latest draft, cancelled or abandoned, taken up where it was left."""
    services, message, work = ctx.services, ctx.message, ctx.work
    existing, latest = await work(_open_and_latest, message.sender)
    if latest is None or latest.status not in (FILLING, RECAP, CANCELLED, ABANDONED):
        raise UserError("Vous n'avez pas de dépôt annulé ou interrompu à reprendre : `!deposer` en commence un.")
    room_id = await _conversation_room(services, message)
    told = [] if message.room.is_direct else [pointer(services, room_id, MOVED_TO_PRIVATE)]
    draft = await work(_move, latest.id, room_id)
    form = await work(form_for, services)
    if existing is not None:
        return told + await _end_polls(work, draft) + _ask_again(form, draft, message.room_id)
    return told + await _resume(work, services, form, draft, message.room_id)


REPRENDRE = Command(
    name="reprendre",
    handler=resume_deposit,
    usage="reprendre",
    help="Reprendre votre dernier dépôt annulé ou interrompu, là où vous en étiez.",
    section=DEPOSITS,
)


async def cancel_deposit(ctx: CommandContext) -> HandlerResult:
    """!annuler typed outside the form's own messages (a room, another member's thread): it still
    cancels the member's form in progress, and says so in the direct chat."""
    services, message, work = ctx.services, ctx.message, ctx.work
    draft = await work(open_draft, message.sender)
    if draft is None:
        raise UserError(
            "Vous n'avez pas de dépôt en cours : il n'y a rien à annuler. (Pour un rappel programmé, "
            "c'est `!rappel annuler <n°>`.)"
        )
    form = await work(form_for, services)
    new_state, replies = step(form, FormState.from_json(draft.state), Control("cancel", services.clock()))
    await _save(work, services, form, draft, new_state)
    told = [] if draft.room_id == message.room_id else [pointer(services, draft.room_id, TOLD_PRIVATELY)]
    return told + await _end_polls(work, draft) + _in_draft(replies, draft, message.room_id)


ANNULER = Command(
    name="annuler",
    handler=cancel_deposit,
    usage="annuler",
    help="Annuler votre dépôt en cours (vos réponses restent conservées).",
    section=DEPOSITS,
)


async def form_listener(ctx: CommandContext) -> HandlerResult:
    """Owns the messages of a member's form (controls included): in their direct chat, or in the
    room thread of a draft of the previous release. None for anything else."""
    services, message, work = ctx.services, ctx.message, ctx.work
    if not message.room.is_direct and message.thread_root is None:
        return None
    draft = await work(_current_draft, message)
    if draft is None:
        return None
    event = parse_event(message.body, services.clock(), services.config.bot.command_prefix)
    if event is None:
        return None  # another command typed during the form: not the form's business
    form = await work(form_for, services)
    told: list[Reply] = []
    if not message.room.is_direct:
        other = await work(private_draft, message.sender)
        if other is not None and other.id != draft.id:
            return Reply(
                text="Vous avez un autre dépôt en cours, en message privé : terminez-le (ou `!annuler`-le "
                "là-bas) avant de reprendre celui-ci."
            )
        told = [Reply(text=THREAD_MOVED)]
    if draft.room_id != message.room_id or draft.thread_root is not None:
        draft = await work(_move, draft.id, await _conversation_room(services, message))
    if draft.status == ABANDONED:
        return told + await _resume(work, services, form, draft, message.room_id)
    return told + await _step(work, services, form, draft, event, message.room_id)


async def _step(
    work: UnitOfWork, services: Services, form: FormDef, draft: DepositDraft, event: Event, trigger_room: str | None
) -> list[Reply]:
    """One step of the member's form, saved, with the polls it leaves behind ended."""
    state = FormState.from_json(draft.state)
    new_state, replies = step(form, state, event)
    notices = await _save(work, services, form, draft, new_state)
    if not _moved_on(state, new_state):
        # The same question asked again (an answer refused): its poll, still open, still answers it.
        return _in_draft([replace(r, poll=None) for r in replies + notices], draft, trigger_room)
    return await _end_polls(work, draft) + _in_draft(replies + notices, draft, trigger_room)


async def on_poll_vote(vote: PollVote, services: Services) -> HandlerResult:
    """A response to a question's poll is the member's answer, as if they had typed the choice; from
    anyone else, or to a question no longer in hand, it is nothing."""
    try:
        draft_id, key = vote.poll_tag.removeprefix(f"{POLL_TAG}:").split(":", 1)
        draft = await vote.work(_draft, int(draft_id))
    except ValueError:
        return None
    if draft is None or draft.user_id != vote.sender or draft.room_id != vote.room.room_id or draft.status != FILLING:
        return None
    if FormState.from_json(draft.state).current != key or len(vote.choices) != 1:
        return None
    form = await vote.work(form_for, services)
    return await _step(vote.work, services, form, draft, Answer(vote.choices[0], services.clock()), None)


def _current_draft(session: Session, message: Message) -> DepositDraft | None:
    """The member's open form, in their direct chat; or, in a room's thread, the form of the previous
    release that lives there (even abandoned: writing in its thread takes it up again)."""
    if message.room.is_direct:
        return private_draft(session, message.sender)
    draft = draft_in_thread(session, message.room_id, message.sender, message.thread_root)
    if draft is not None and draft.status in (FILLING, RECAP, ABANDONED):
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
    work = reaction.work
    draft = await work(_draft, draft_id)
    if (
        draft is None
        or draft.user_id != reaction.sender
        or draft.room_id != reaction.room.room_id
        or draft.status != RECAP
    ):
        return None
    form = await work(form_for, services)
    new_state, replies = step(form, FormState.from_json(draft.state), Control("confirm", services.clock()))
    return _in_draft(await _save(work, services, form, draft, new_state) + replies, draft, None)


def _draft(session: Session, draft_id: int) -> DepositDraft | None:
    return session.get(DepositDraft, draft_id)


async def _save(
    work: UnitOfWork, services: Services, form: FormDef, draft: DepositDraft, state: FormState
) -> list[Reply]:
    """Persist the step; on confirmation also create the deposit in the same transaction."""
    deposit = await work(_record, form, draft.id, state, services.clock(), services.config.bot.tz)
    if deposit is None:
        return []
    services.metrics.form("completed")
    return await work(confirmation_replies, services, form, deposit)


def _record(
    session: Session, form: FormDef, draft_id: int | None, state: FormState, now: datetime, tz: ZoneInfo
) -> Deposit | None:
    """The draft at this state and, when it is confirmed, its deposit (one transaction: a confirmed
    draft never lacks its deposit)."""
    draft = reread(session, DepositDraft, draft_id)
    draft.state, draft.status, draft.updated_at = state.to_json(), state.status, now
    # Any activity restarts the silence counter, and earns a new reminder if it falls silent again.
    draft.reminded_at = None
    session.add(draft)
    if state.status != CONFIRMED:
        return None
    deposit = create_deposit(session, form, draft, state, now, tz)
    session.flush()
    return deposit


async def _resume(
    work: UnitOfWork, services: Services, form: FormDef, draft: DepositDraft, trigger_room: str
) -> list[Reply]:
    """An abandoned form taken up again, at the question where the member left it."""
    state = FormState.from_json(draft.state)
    following = next_field(form, state)
    state = replace(state, status=FILLING if following else RECAP, current=following.key if following else None)
    await _save(work, services, form, draft, state)
    # The message itself is not taken as an answer: after days away it is rarely one.
    welcome = Reply(text="Bon retour ! Vos réponses étaient conservées ; reprenons là où nous en étions.")
    again = question_reply(form, state) if following else recap_reply(form, state)
    return await _end_polls(work, draft) + _in_draft([welcome, again], draft, trigger_room)
