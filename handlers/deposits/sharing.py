"""!partager: the author of a deposit made in a confidential room, who first kept its content to
themselves, lets the facilitators read it after all. Only the author can, and only by confirming
(`!partager <référence> confirmer`): lifting a confidentiality is never done on one word typed
too fast. The exchange happens in their direct chat; the room where they typed it only hears that it did."""

from __future__ import annotations

from sqlmodel import Session

from handlers.context import CommandContext
from handlers.deposits.formsource import form_for
from handlers.deposits.records import facilitators_notice
from handlers.help import DEPOSITS
from handlers.private import in_private
from handlers.registry import Command, HandlerResult
from handlers.replies import Reply, UserError
from handlers.text import fold_for_matching, quote
from storage.deposits import Deposit, find_deposit

CONFIRM_WORDS = ("confirmer", "confirme", "oui")


async def share_command(ctx: CommandContext) -> HandlerResult:
    words = ctx.args.split()
    if len(words) not in (1, 2) or (len(words) == 2 and fold_for_matching(words[1]) not in CONFIRM_WORDS):
        raise UserError(
            "Indiquez la référence du dépôt à partager, par exemple `!partager DEP-2027-0001`. "
            "`!mes-depots` liste vos dépôts."
        )
    prefix = ctx.services.config.bot.command_prefix
    if len(words) == 1:
        deposit, already = await ctx.work(_own, words[0], ctx.message.sender)
        if not already:
            return await in_private(
                ctx,
                [
                    Reply(
                        text=f"Vous allez lever la confidentialité du dépôt {deposit.reference} : l'équipe "
                        "d'animation pourra lire tout son contenu. Pour confirmer, écrivez "
                        f"`{prefix}partager {deposit.reference} confirmer`."
                    )
                ],
            )
    else:
        deposit, already = await ctx.work(_share, words[0], ctx.message.sender)
    if already:
        return await in_private(
            ctx,
            [
                Reply(
                    text=f"L'équipe d'animation peut déjà lire le contenu du dépôt "
                    f"{deposit.reference} : il n'y a rien de plus à faire."
                )
            ],
        )
    form = await ctx.work(form_for, ctx.services)
    notice = await ctx.work(facilitators_notice, ctx.services, form, deposit, shared_later=True)
    told = (
        "son contenu est transmis à l'équipe d'animation"
        if notice
        else "l'équipe d'animation pourra lire son contenu (son salon n'est pas encore configuré)"
    )
    confirmation = Reply(
        text=f"C'est noté pour le dépôt {deposit.reference} : {told}. Il reste réservé à "
        "l'équipe d'animation et ne sera annoncé nulle part."
    )
    return [*await in_private(ctx, [confirmation]), *([notice] if notice else [])]


def _own(session: Session, reference: str, sender: str) -> tuple[Deposit, bool]:
    """The sender's deposit, and whether its content is shared already."""
    deposit = find_deposit(session, reference)
    # Someone else's reference gets the same answer as an unknown one: it tells nothing.
    if deposit is None or deposit.depositor != sender:
        raise UserError(f"Vous n'avez pas de dépôt « {quote(reference)} ». `!mes-depots` liste vos dépôts.")
    return deposit, deposit.content_shared


def _share(session: Session, reference: str, sender: str) -> tuple[Deposit, bool]:
    """The sender's deposit, its content now shared; and whether it already was."""
    deposit, already = _own(session, reference, sender)
    if already:
        return deposit, True
    deposit.content_shared = True
    if "share_content" in deposit.answers:
        # The form's « non » is the author's word no more; a new dict, so the JSON column sees it.
        deposit.answers = {**deposit.answers, "share_content": True}
    session.add(deposit)
    return deposit, False


PARTAGER = Command(
    name="partager",
    handler=share_command,
    usage="partager <référence> [confirmer]",
    help="Pour un dépôt fait dans un espace confidentiel dont vous aviez gardé le contenu pour vous : "
    "le transmettre à l'équipe d'animation (je vous demande de confirmer).",
    section=DEPOSITS,
)
