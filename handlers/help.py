"""`!aide`: generated from the registry, so it lists exactly what this person may do in this room.

The help's section headings live here, with their order; each command names its own."""

from __future__ import annotations

from itertools import groupby

from handlers.context import CommandContext
from handlers.registry import CommandNeeding, CommandRegistry
from handlers.replies import Reply
from handlers.text import quote

GENERAL = "Général"
REFERENTIEL = "Référentiel"
DEPOSITS = "Dépôts de projets"
AGENDA_AND_REMINDERS = "Agenda et rappels"
FACILITATION = "Animation"
BOARD = "Tableau de bord"
# What members use most comes first; the facilitators' tools last.
SECTION_ORDER = (GENERAL, REFERENTIEL, DEPOSITS, AGENDA_AND_REMINDERS, FACILITATION, BOARD)


def _section_rank(section: str) -> tuple[int, str]:
    return (SECTION_ORDER.index(section) if section in SECTION_ORDER else len(SECTION_ORDER), section)


async def help_command(registry: CommandRegistry, ctx: CommandContext) -> Reply:
    prefix = ctx.services.config.bot.command_prefix
    room = ctx.message.room
    if ctx.args:
        command = registry.find(ctx.args.lstrip(prefix).split()[0])
        if command is None:
            guess = registry.suggest(ctx.args.lstrip(prefix))
            hint = f" Vouliez-vous dire `{prefix}{guess}` ?" if guess else ""
            return Reply(text=f"Je ne connais pas la commande « {quote(ctx.args)} ».{hint}")
        return Reply(template="help/command.md.j2", context={"prefix": prefix, "command": command})
    visible = registry.visible(is_facilitator=ctx.is_facilitator, room_kind=room.kind, is_direct=room.is_direct)
    sections = [
        (name, list(commands))
        for name, commands in groupby(sorted(visible, key=lambda c: _section_rank(c.section)), key=lambda c: c.section)
    ]
    return Reply(
        template="help/overview.md.j2",
        context={"prefix": prefix, "sections": sections, "room": room, "is_facilitator": ctx.is_facilitator},
    )


# It reads the registry it is added to.
AIDE = CommandNeeding(
    name="aide",
    handler=help_command,
    aliases=("help", "aidez-moi", "?"),
    usage="aide [commande]",
    help="Affiche ce que je sais faire ici, ou le détail d'une commande.",
    section=GENERAL,
)


def register(registry: CommandRegistry) -> None:
    registry.add(AIDE.bind(registry))
