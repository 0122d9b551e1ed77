"""`!aide`: generated from the registry, so it lists exactly what this person may do in this room.

The help's section headings live here, with their order; each command names its own."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

from config import RetentionConfig
from handlers.context import CommandContext
from handlers.registry import CommandNeeding, CommandRegistry
from handlers.replies import Reply
from handlers.text import fold_for_matching, quote

GENERAL = "Général"
REFERENTIEL = "Référentiel"
DEPOSITS = "Dépôts de projets"
AGENDA_AND_REMINDERS = "Agenda et rappels"
FACILITATION = "Animation"
BOARD = "Tableau de bord"
# What members use most comes first; the facilitators' tools last.
SECTION_ORDER = (GENERAL, REFERENTIEL, DEPOSITS, AGENDA_AND_REMINDERS, FACILITATION, BOARD)


@dataclass(frozen=True)
class HelpTopic:
    """`!aide <name>`: a page on something that is no command, from help/topics/<name>.md.j2."""

    name: str
    # What the overview's last line says the page is about.
    about: str
    aliases: tuple[str, ...] = ()

    @property
    def template(self) -> str:
        return f"help/topics/{self.name}.md.j2"


TOPICS = (
    HelpTopic(
        "confidentialite",
        "vos données",
        aliases=("confidentialité", "donnees", "données", "rgpd", "vie privee", "vie privée"),
    ),
)


def find_topic(words: str) -> HelpTopic | None:
    wanted = fold_for_matching(words)
    for topic in TOPICS:
        if wanted in {fold_for_matching(name) for name in (topic.name, *topic.aliases)}:
            return topic
    return None


def retention_durations(retention: RetentionConfig) -> dict[str, str]:
    """Each [retention] period as a member reads it: « 12 mois », « 90 jours »."""
    return {name.removesuffix("_days"): _duration(getattr(retention, name)) for name in retention.__dataclass_fields__}


def _duration(days: int) -> str:
    months = days / (365 / 12)
    if days >= 180 and abs(months - round(months)) < 0.1:
        return f"{round(months)} mois"
    return f"{days} jours"


def _section_rank(section: str) -> tuple[int, str]:
    return (SECTION_ORDER.index(section) if section in SECTION_ORDER else len(SECTION_ORDER), section)


async def help_command(registry: CommandRegistry, ctx: CommandContext) -> Reply:
    prefix = ctx.services.config.bot.command_prefix
    room = ctx.message.room
    if ctx.args and (topic := find_topic(ctx.args.lstrip(prefix))) is not None:
        durations = retention_durations(ctx.services.config.retention)
        return Reply(template=topic.template, context={"prefix": prefix, "durations": durations})
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
        context={
            "prefix": prefix,
            "sections": sections,
            "room": room,
            "is_facilitator": ctx.is_facilitator,
            "topics": TOPICS,
        },
    )


# It reads the registry it is added to.
AIDE = CommandNeeding(
    name="aide",
    handler=help_command,
    aliases=("help", "aidez-moi", "?"),
    usage="aide [commande]",
    help="Affiche ce que je sais faire ici, le détail d'une commande, ou `aide confidentialite` : vos données.",
    section=GENERAL,
)


def register(registry: CommandRegistry) -> None:
    registry.add(AIDE.bind(registry))
