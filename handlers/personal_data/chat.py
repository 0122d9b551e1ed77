"""`!mes-donnees` and `!oublier`: a member sees, takes and erases what the bot holds about them.

Both answer in the member's direct chat, wherever they were typed: the shared room only hears that
the bot wrote privately. The erasure acts only on an unambiguous answer to its own question, in that
chat, in time: « OUI » (or « OUI SUPPRIMER », which removes the deposits too) in reply to it, or a ✅
on it. The facilitators learn only the references of the deposits anonymised or removed.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from handlers.context import CommandContext, Reaction, Services
from handlers.deposits.records import local_date
from handlers.help import GENERAL
from handlers.private import in_private, private_room
from handlers.registry import Command, HandlerResult
from handlers.replies import Attachment, Post, Reply
from handlers.text import YES_WORDS, fold_for_matching, parse_yes_no
from storage.deposits import list_deposits
from storage.messages import sent_with_tag
from storage.personal_data import Erased, erase, inventory
from storage.rooms import facilitators_room_id
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

FORGET_TAG = "forget-request"
FORGET_LIFETIME = timedelta(hours=1)
ACCEPT_REACTIONS = ("✅", "✔️", "✔", "☑️")
# « OUI SUPPRIMER » (« supprimez », « suppression »…): the deposits go too; a bare « OUI » keeps them,
# anonymised, and then they can no longer be told apart as the member's.
REMOVE_STEM = "suppr"
NOT_UNDERSTOOD = (
    "Je n'ai pas compris : répondez **OUI** à ma question pour tout effacer, ou **NON** pour ne rien effacer. "
    "Je n'ai rien effacé."
)
WHICH_DEPOSITS = (
    "Je n'ai rien effacé encore : pour vos dépôts, répondez à ma question **OUI** (ils restent pour la "
    "communauté, sans votre nom ni vos coordonnées) ou **OUI SUPPRIMER** (ils sont supprimés aussi)."
)


def _forget_tag(asked_at: datetime) -> str:
    # The time it was asked, never who: the tag is kept with the message, beyond any erasure.
    return f"{FORGET_TAG}:{int(asked_at.timestamp())}"


def _tag_time(tag: str) -> datetime:
    return datetime.fromtimestamp(int(tag.split(":", 1)[1]), UTC)


async def my_data_command(ctx: CommandContext) -> HandlerResult:
    services, user_id = ctx.services, ctx.message.sender
    now = services.clock()
    if not ctx.message.room.is_direct:
        # Opened (and recorded) before the inventory is read, so that it lists the chat it arrives in.
        await private_room(services, user_id)
    held = await ctx.work(inventory, user_id, now)
    tz = services.config.bot.tz
    kinds = [
        {
            "label": kind.label,
            "count": kind.count,
            "first": local_date(kind.first, tz) if kind.first else None,
            "last": local_date(kind.last, tz) if kind.last else None,
        }
        for kind in held.kinds
        if kind.count
    ]
    summary = Reply(
        template="personal_data/inventory.md.j2",
        context={"kinds": kinds, "prefix": services.config.bot.command_prefix},
        attachment=Attachment(
            filename=f"mes-donnees-{now.date().isoformat()}.json", content=held.to_json(), mimetype="application/json"
        ),
    )
    log.info("Personal data shown to its member (%d items)", held.total)
    return await in_private(ctx, [summary], told="Je vous ai envoyé vos données en message privé.")


MES_DONNEES = Command(
    name="mes-donnees",
    handler=my_data_command,
    usage="mes-donnees",
    help="Voir tout ce que je garde à votre sujet, et le recevoir en fichier (en message privé).",
    section=GENERAL,
)


async def forget_command(ctx: CommandContext) -> HandlerResult:
    services = ctx.services
    now = services.clock()
    held = await ctx.work(inventory, ctx.message.sender, now)
    deposits = next(kind.count for kind in held.kinds if kind.key == "depots")
    prompt = Reply(
        template="personal_data/forget_prompt.md.j2",
        context={
            "lines": [(kind.label, kind.count) for kind in held.kinds if kind.count],
            "deposits": deposits,
            "lifetime": "une heure",
        },
        tag=_forget_tag(now),
    )
    return await in_private(ctx, [prompt], told="Je vous ai écrit en message privé pour confirmer l'effacement.")


OUBLIER = Command(
    name="oublier",
    handler=forget_command,
    usage="oublier",
    help="Effacer tout ce que je garde à votre sujet (je vous demande confirmation en message privé).",
    section=GENERAL,
)


async def _asked_at(work: UnitOfWork, room_id: str, event_id: str | None) -> datetime | None:
    """When the erasure this event id asked to confirm was asked (the message replied to, or a thread's
    root), if it was asked in this very room."""
    if not event_id:
        return None
    sent = await work(sent_with_tag, event_id)
    if sent is None or sent.room_id != room_id or not sent.tag.startswith(FORGET_TAG + ":"):
        return None
    return _tag_time(sent.tag)


def _is_member_of(services: Services, room_id: str, user_id: str) -> bool:
    """Whether this is the member's own direct chat with the bot: nobody else confirms for them."""
    chats = services.direct_chats
    return chats is not None and chats.member_of(room_id) == user_id


async def forget_listener(ctx: CommandContext) -> HandlerResult:
    """An answer to the erasure's question, in reply to it (or in its thread); anything else is not its own."""
    message, services = ctx.message, ctx.services
    if not message.room.is_direct or message.body.startswith(services.config.bot.command_prefix):
        return None
    room_id = message.room_id
    asked_at = await _asked_at(ctx.work, room_id, message.in_reply_to) or await _asked_at(
        ctx.work, room_id, message.thread_root
    )
    if asked_at is None:
        return None
    if not _is_member_of(services, message.room_id, message.sender):
        return []
    folded = fold_for_matching(message.body).rstrip("!. ")
    answer = parse_yes_no(message.body)
    remove = any(word.startswith(REMOVE_STEM) for word in folded.replace(",", " ").split())
    if answer is None or (remove and not answer):
        return [Reply(text=NOT_UNDERSTOOD)]
    if not answer:
        return [Reply(text="D'accord, je n'efface rien.")]
    # A yes with more words than « oui » may mean the deposits as well, or not: unless there are none,
    # the member says which.
    if not remove and folded not in YES_WORDS:
        deposits = await ctx.work(list_deposits, depositor=message.sender)
        if deposits:
            return [Reply(text=WHICH_DEPOSITS)]
    return await _forget(services, ctx.work, message.sender, asked_at, remove_deposits=remove)


async def on_forget_reaction(reaction: Reaction, services: Services) -> HandlerResult:
    """A ✅ from the member on the question: erase, keeping the deposits anonymised."""
    if reaction.key not in ACCEPT_REACTIONS or not _is_member_of(services, reaction.room.room_id, reaction.sender):
        return None
    # The question must have been asked in the room the ✅ is in: the member's own chat.
    asked_at = await _asked_at(reaction.work, reaction.room.room_id, reaction.target_event_id)
    if asked_at is None:
        return None
    replies = await _forget(services, reaction.work, reaction.sender, asked_at, remove_deposits=False)
    return [
        r if isinstance(r.to, Post) else replace(r, to=Post(reaction.room.room_id, reply_to=reaction.target_event_id))
        for r in replies
    ]


async def _forget(
    services: Services, work: UnitOfWork, user_id: str, asked_at: datetime, *, remove_deposits: bool
) -> list[Reply]:
    if services.clock() - asked_at > FORGET_LIFETIME:
        prefix = services.config.bot.command_prefix
        return [Reply(text=f"Cette demande a expiré et je n'ai rien effacé : écrivez de nouveau `{prefix}oublier`.")]
    erased = await work(erase, user_id, remove_deposits=remove_deposits)
    log.info(
        "Personal data erased at its member's request: %d rows, %d deposit(s) anonymised, %d removed",
        erased.total,
        len(erased.anonymised),
        len(erased.removed),
    )
    replies = [
        Reply(
            template="personal_data/erased.md.j2",
            context={
                "lines": erased.lines(),
                "anonymised": erased.anonymised,
                "removed": erased.removed,
                "carrier_erased": erased.carrier_erased,
            },
        )
    ]
    notice = await facilitators_notice(work, erased)
    return [*replies, *([notice] if notice else [])]


async def facilitators_notice(work: UnitOfWork, erased: Erased) -> Reply | None:
    """What the facilitators learn: which deposits changed, by reference, and nothing of who asked."""
    if not (erased.anonymised or erased.removed or erased.carrier_erased):
        return None
    room_id = await work(facilitators_room_id)
    if room_id is None:
        log.warning("No facilitators' room known to tell of %d deposit(s) erased", len(erased.removed))
        return None
    return Reply(
        template="personal_data/facilitators_notice.md.j2",
        to=Post(room_id),
        context={"anonymised": erased.anonymised, "removed": erased.removed, "carrier_erased": erased.carrier_erased},
        # References only: nothing said in the direct chat.
        contains_room_content=False,
    )
