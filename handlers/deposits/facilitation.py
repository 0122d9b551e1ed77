"""Following deposits up: !depots and !depot for facilitators, !mes-depots for every member."""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from handlers.context import CommandContext, Services
from handlers.delivery import RETRY_ADVICE, Delivery, NotDelivered, check_length, deliver
from handlers.deposits.export import deposit_rows, to_csv
from handlers.deposits.formsource import form_for, tribe_names
from handlers.deposits.records import STATUS_LABELS, deposit_view, local_date
from handlers.help import DEPOSITS
from handlers.private import in_private, private_room, to_member
from handlers.registry import Command, HandlerResult
from handlers.replies import Attachment, Post, Reply, UserError
from handlers.text import fold_for_matching, quote
from storage.deposits import DEPOSIT_STATUSES, Deposit, DepositDraft, drafts_of, find_deposit, list_deposits
from storage.rows import reread
from storage.unit_of_work import UnitOfWork

DRAFT_STATUS_LABELS = {"filling": "en cours", "recap": "à confirmer", "cancelled": "annulé", "abandoned": "interrompu"}


def parse_status(word: str) -> str | None:
    """« en étude », « en-etude », « etude », « accompagné »… -> a stored status."""
    wanted = fold_for_matching(word).replace(" ", "-")
    by_name = {fold_for_matching(s): s for s in DEPOSIT_STATUSES} | {
        "etude": "en-etude",
        "en-cours": "en-etude",
        "ferme": "clos",
        "termine": "clos",
    }
    if wanted in by_name:
        return by_name[wanted]
    close = difflib.get_close_matches(wanted, list(by_name), n=1, cutoff=0.75)
    return by_name[close[0]] if close else None


def _statuses_text() -> str:
    return ", ".join(f"`{s}`" for s in DEPOSIT_STATUSES)


async def list_command(ctx: CommandContext) -> HandlerResult:
    """!depots [statut] [tribu], or !depots export."""
    args = ctx.args.strip()
    if fold_for_matching(args) == "export":
        return await _export(ctx)
    status, tribe = None, None
    if args:
        first, _, rest = args.partition(" ")
        status = parse_status(first)
        # « en étude » is two words: try them together before reading the rest as a tribe.
        if status is None and rest:
            two, _, rest_after_two = args.partition(" ")[2].partition(" ")
            status = parse_status(f"{first} {two}")
            rest = rest_after_two if status else rest
        tribe_text = rest if status else args
        if tribe_text:
            tribe = await _find_tribe(ctx, tribe_text)
    form = await ctx.work(form_for, ctx.services)
    tz = ctx.services.config.bot.tz
    deposits = await ctx.work(list_deposits, status=status, tribe=tribe)
    if tribe:
        # Listing a deposit under its tribe would tell what its author chose not to share.
        deposits = [d for d in deposits if d.content_shared]
    filters = " · ".join(x for x in (STATUS_LABELS.get(status or "", ""), tribe or "") if x)
    return Reply(
        template="deposits/list.md.j2",
        context={"deposits": [deposit_view(d, form, tz) for d in deposits], "filters": filters},
    )


DEPOTS = Command(
    name="depots",
    handler=list_command,
    usage="depots [statut] [tribu] | depots export",
    help="Lister les dépôts (filtrés par statut : nouveau, en-etude, accompagne, clos, et par tribu), "
    "ou les exporter en CSV.",
    facilitators_only=True,
    room_kinds=frozenset({"facilitators"}),
    section=DEPOSITS,
)


async def _find_tribe(ctx: CommandContext, text: str) -> str:
    tribes = await ctx.work(tribe_names, ctx.services)
    by_fold = {fold_for_matching(t): t for t in tribes}
    close = difflib.get_close_matches(fold_for_matching(text), list(by_fold), n=1, cutoff=0.6)
    if not close:
        known = ", ".join(tribes) or "aucune tribu n'est configurée"
        raise UserError(
            f"Je ne connais ni le statut ni la tribu « {quote(text)} ». Statuts : {_statuses_text()} ; "
            f"tribus : {known}."
        )
    return by_fold[close[0]]


async def _export(ctx: CommandContext) -> HandlerResult:
    form = await ctx.work(form_for, ctx.services)
    deposits = await ctx.work(list_deposits)
    data = to_csv(deposit_rows(deposits, form.keys()), form, for_spreadsheet=True)
    stamp = ctx.services.clock().astimezone(ctx.services.config.bot.tz).strftime("%Y-%m-%d")
    return Reply(
        text=f"Export des dépôts de projets ({len(deposits)} au total).",
        attachment=Attachment(f"depots-{stamp}.csv", data, "text/csv"),
    )


async def deposit_command(ctx: CommandContext) -> HandlerResult:
    """!depot <réf>, or !depot <réf> statut <statut> [commentaire]."""
    words = ctx.args.split()
    if not words:
        raise UserError("Indiquez la référence d'un dépôt, par exemple `!depot DEP-2027-0001`.")
    form = await ctx.work(form_for, ctx.services)
    tz = ctx.services.config.bot.tz
    deposit = await ctx.work(find_deposit, words[0])
    if deposit is None:
        raise UserError(f"Aucun dépôt ne porte la référence « {quote(words[0])} ». `!depots` les liste tous.")
    if len(words) == 1:
        return Reply(template="deposits/deposit.md.j2", context={"d": deposit_view(deposit, form, tz)})
    if fold_for_matching(words[1]) != "statut" or len(words) < 3:
        raise UserError(
            f"Pour changer le statut : `!depot {deposit.reference} statut <statut> [commentaire]`, "
            f"avec un statut parmi {_statuses_text()}."
        )
    return await _change_status(ctx, deposit.reference, words[2:])


DEPOT = Command(
    name="depot",
    handler=deposit_command,
    usage="depot <référence> [statut <statut> [commentaire]]",
    help="Voir un dépôt, ou changer son statut (son auteur en est prévenu).",
    facilitators_only=True,
    room_kinds=frozenset({"facilitators"}),
    section=DEPOSITS,
)


async def _change_status(ctx: CommandContext, reference: str, words: list[str]) -> Reply:
    status, comment = parse_status(words[0]), " ".join(words[1:])
    if status is None and len(words) > 1:
        status, comment = parse_status(f"{words[0]} {words[1]}"), " ".join(words[2:])
    if status is None:
        raise UserError(f"« {quote(words[0])} » n'est pas un statut connu : {_statuses_text()}.")
    return await change_status(ctx.services, ctx.message.sender, reference, status, comment, work=ctx.work)


@dataclass(frozen=True)
class _StatusTarget:
    """What the note to the depositor needs of the deposit, read before it is posted."""

    deposit_id: int | None
    reference: str
    depositor: str
    title: str
    steps: int


def _status_target(session: Session, reference: str) -> _StatusTarget:
    deposit = find_deposit(session, reference)
    if deposit is None:
        raise UserError(f"Aucun dépôt ne porte la référence « {quote(reference)} ».")
    return _StatusTarget(deposit.id, deposit.reference, deposit.depositor, deposit.title, len(deposit.history))


def _record_status(
    session: Session, deposit_id: int | None, status: str, now: datetime, facilitator: str, comment: str
) -> None:
    deposit = reread(session, Deposit, deposit_id)
    deposit.status = status
    # A new list, so the JSON column sees the change.
    deposit.history = [
        *deposit.history,
        {"status": status, "at": now.isoformat(), "by": facilitator, "comment": comment},
    ]
    session.add(deposit)


async def change_status(
    services: Services,
    facilitator: str,
    reference: str,
    status: str,
    comment: str = "",
    *,
    work: UnitOfWork | None = None,
) -> Reply:
    """A facilitator sets a deposit's status (the chat's `!depot … statut` and the web board): the
    history keeps who and why, and the depositor is told in their direct chat.

    The note to the depositor is posted here, through Services.post, before anything is recorded: a
    status the depositor was not told of would be a change half made. Delivered (or kept by the
    sender until the depositor joins their direct chat): the status and its history are recorded.
    Not delivered: NotDelivered, and the deposit is unchanged. Returns the facilitator's
    acknowledgement, which says whether the depositor has read it or will once they join.

    `work`: the event's unit of work; the board, outside any event, gives none and gets a unit of its own."""
    if status not in DEPOSIT_STATUSES:
        raise UserError(f"« {quote(status)} » n'est pas un statut connu : {_statuses_text()}.")
    check_length(services, comment, "Le commentaire est trop long")
    if work is None:
        async with services.units.open() as own:
            return await _change_status_in(own, services, facilitator, reference, status, comment)
    return await _change_status_in(work, services, facilitator, reference, status, comment)


async def _change_status_in(
    work: UnitOfWork, services: Services, facilitator: str, reference: str, status: str, comment: str
) -> Reply:
    target = await work(_status_target, reference)
    reference, depositor, title = target.reference, target.depositor, target.title
    label = STATUS_LABELS[status]
    # Told in the depositor's direct chat: the title goes back to its author alone.
    direct = await private_room(services, depositor)
    # The same change retried (after a lost response) has the same key, and is not posted twice.
    change = hashlib.sha256(f"{status}\x00{comment}".encode()).hexdigest()[:12]
    note = to_member(
        Reply(
            template="deposits/status_changed.md.j2",
            to=Post(direct),
            mentions=(depositor,),
            context={"reference": reference, "title": title, "status_label": label, "comment": comment},
            txn_key=f"deposit-status:{reference}:{target.steps + 1}:{change}",
        ),
        direct,
    )
    delivery = await deliver(services, note)
    if delivery is Delivery.FAILED:
        raise NotDelivered(
            f"Le statut du dépôt {reference} n'a pas changé : le message qui en informe son auteur "
            "n'a pas pu être envoyé dans sa conversation privée avec le bot (le serveur Matrix l'a "
            f"refusé ou n'a pas répondu). {RETRY_ADVICE}"
        )
    await work(_record_status, target.deposit_id, status, services.clock(), facilitator, comment)
    if delivery is Delivery.WAITING:
        told = (
            "Son auteur le lira en message privé, dans sa conversation avec le bot, dès que cette personne "
            "aura accepté l'invitation à la rejoindre."
        )
    else:
        told = "Son auteur en est informé en message privé."
    return Reply(text=f"Le dépôt {reference} est maintenant : **{label}**. {told}")


async def mine_command(ctx: CommandContext) -> HandlerResult:
    """A member's deposits and unfinished drafts, in their direct chat: nobody reads over their shoulder."""
    services, message = ctx.services, ctx.message
    tz = services.config.bot.tz
    deposits, drafts = await ctx.work(_member_records, message.sender)
    deposit_items = [
        {
            "reference": d.reference,
            "title": d.title,
            "status_label": STATUS_LABELS.get(d.status, d.status),
            "created": local_date(d.created_at, tz),
        }
        for d in deposits
    ]
    draft_items = []
    for draft in drafts:
        answers = json.loads(draft.state).get("answers", {}) if draft.state else {}
        draft_items.append(
            {
                "title": answers.get("title") or "",
                "status_label": DRAFT_STATUS_LABELS.get(draft.status, draft.status),
                "updated": local_date(draft.updated_at, tz),
                "answered": len(answers),
            }
        )
    listing = Reply(template="deposits/mine.md.j2", context={"deposits": deposit_items, "drafts": draft_items})
    return await in_private(ctx, [listing])


def _member_records(session: Session, user_id: str) -> tuple[list[Deposit], list[DepositDraft]]:
    return list_deposits(session, depositor=user_id), drafts_of(session, user_id)


MES_DEPOTS = Command(
    name="mes-depots",
    handler=mine_command,
    usage="mes-depots",
    help="Voir vos dépôts de projets et leur suivi, ainsi que vos dépôts non terminés.",
    section=DEPOSITS,
)
