"""`!aide`: generated from the registry, so it lists exactly what this person may do in this room."""

from __future__ import annotations

from itertools import groupby

from handlers.context import CommandContext
from handlers.registry import CommandRegistry
from handlers.replies import Reply
from handlers.text import quote

# What members use most comes first; the facilitators' tools last.
SECTION_ORDER = ("Général", "Référentiel", "Dépôts de projets", "Agenda et rappels", "Animation")


def _section_rank(section: str) -> tuple[int, str]:
    return (SECTION_ORDER.index(section) if section in SECTION_ORDER else len(SECTION_ORDER), section)


def register(registry: CommandRegistry) -> None:
    async def help_command(ctx: CommandContext) -> Reply:
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
            for name, commands in groupby(
                sorted(visible, key=lambda c: _section_rank(c.section)), key=lambda c: c.section
            )
        ]
        return Reply(
            template="help/overview.md.j2",
            context={"prefix": prefix, "sections": sections, "room": room, "is_facilitator": ctx.is_facilitator},
        )

    registry.command(
        "aide",
        aliases=("help", "aidez-moi", "?"),
        usage="aide [commande]",
        help="Affiche ce que je sais faire ici, ou le détail d'une commande.",
    )(help_command)
