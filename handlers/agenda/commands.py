"""Agenda and reminder commands: what is coming up, and facilitators' broadcasts and reminders."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from handlers.agenda.french_time import parse_when
from handlers.agenda.occurrences import Occurrence
from handlers.agenda.rows import due_time, saved_id
from handlers.agenda.service import ReminderService
from handlers.agenda.targets import shown_in_room, split_targets
from handlers.context import CommandContext
from handlers.french import format_date_fr, format_datetime_fr, format_time_fr
from handlers.help import AGENDA_AND_REMINDERS
from handlers.registry import CommandNeeding
from handlers.replies import Reply, UserError
from knowledge.folding import fold_accents
from storage.unit_of_work import UnitOfWork

AGENDA_DAYS = 31
AGENDA_MAX = 8
TARGETS_HELP = "Salons : ajoutez à la fin « -> tribus, pairs, animation, tous, #alias:serveur ou !id:serveur » (par défaut : tous)."


def _when(occurrence: Occurrence, tz: ZoneInfo) -> str:
    if occurrence.all_day:
        return f"{format_date_fr(occurrence.start, tz)} (toute la journée)"
    # « Combien de temps dure la permanence ? » is the follow-up members ask: the end answers it.
    start, end = occurrence.start.astimezone(tz), occurrence.end.astimezone(tz)
    if start < end and start.date() == end.date():
        return f"{format_date_fr(start, tz)} de {format_time_fr(start, tz)} à {format_time_fr(end, tz)}"
    return format_datetime_fr(occurrence.start, tz)


def _event_view(occurrence: Occurrence, tz: ZoneInfo) -> dict[str, str]:
    return {
        "title": occurrence.title,
        "when": _when(occurrence, tz),
        "location": occurrence.location,
        "link": occurrence.link,
    }


async def agenda(service: ReminderService, ctx: CommandContext) -> Reply:
    now = ctx.services.clock()
    occurrences = await service.occurrences(now, now + timedelta(days=AGENDA_DAYS), work=ctx.work)
    shown = [
        o for o in occurrences if not o.cancelled and shown_in_room(o.rooms, ctx.message.room, ctx.services.config)
    ]
    events = [_event_view(o, service.tz) for o in shown[:AGENDA_MAX]]
    # The permanence is the one date everyone looks for: shown even when it falls beyond the window.
    later = await next_permanence(service, now, ctx.work)
    return Reply(
        template="agenda/agenda.md.j2",
        context={"events": events, "days": AGENDA_DAYS, "permanence": later if later not in events else None},
    )


AGENDA = CommandNeeding(
    name="agenda",
    handler=agenda,
    usage="agenda",
    section=AGENDA_AND_REMINDERS,
    aliases=("événements",),
    help="Les prochains rendez-vous de la communauté pour ce salon.",
)


async def next_permanence(service: ReminderService, now: datetime, work: UnitOfWork) -> dict[str, str] | None:
    """The next permanence within the agenda's horizon, as templates show events; None if none."""
    horizon = now + timedelta(days=service.services.config.agenda.horizon_days)
    occurrences = await service.occurrences(now, horizon, work=work)
    found = next((o for o in occurrences if not o.cancelled and "permanence" in fold_accents(o.title)), None)
    return _event_view(found, service.tz) if found else None


async def permanence(service: ReminderService, ctx: CommandContext) -> Reply:
    return Reply(
        template="agenda/permanence.md.j2",
        context={
            "event": await next_permanence(service, ctx.services.clock(), ctx.work),
            "days": ctx.services.config.agenda.horizon_days,
        },
    )


PERMANENCE = CommandNeeding(
    name="permanence",
    handler=permanence,
    usage="permanence",
    section=AGENDA_AND_REMINDERS,
    help="La prochaine permanence, avec son lien.",
)


def _targets_text(targets: list[str]) -> str:
    return ", ".join(targets)


async def diffuser(service: ReminderService, ctx: CommandContext) -> Reply:
    message, targets = split_targets(ctx.args)
    if not message:
        raise UserError("Il manque le message. Exemple : `!diffuser L'Agora commence ! -> tribus`")
    await service.check_targets(targets)
    row = await service.broadcast_now(message, targets, ctx.message.sender, ctx.work)
    return Reply(
        template="agenda/broadcast_done.md.j2",
        context={"posted": len(row.posted_room_list), "problem": f"Détail : {row.reason}." if row.reason else ""},
    )


DIFFUSER = CommandNeeding(
    name="diffuser",
    handler=diffuser,
    usage="diffuser <message> [-> salons]",
    section=AGENDA_AND_REMINDERS,
    facilitators_only=True,
    help="Publie un message maintenant. " + TARGETS_HELP,
)


async def rappel(service: ReminderService, ctx: CommandContext) -> Reply:
    args = ctx.args.strip()
    words = args.split()
    if words and fold_accents(words[0]) == "annuler":
        if len(words) != 2 or not words[1].lstrip("n°").isdigit():
            raise UserError("Usage : `!rappel annuler <n°>` (le numéro vient de `!rappels`).")
        number = int(words[1].lstrip("n°"))
        pending = (await service.scheduled(work=ctx.work))[0]
        if not 1 <= number <= len(pending):
            raise UserError(f"Aucun rappel n°{number} : {_count_text(len(pending))}. La liste : `!rappels`.")
        row = await service.cancel_manual(saved_id(pending[number - 1]), ctx.work)
        # The list may have moved since it was read: saying which one was cancelled shows any mistake.
        return Reply(
            template="agenda/cancelled_one.md.j2",
            context={"number": number, "when": format_datetime_fr(due_time(row), service.tz), "text": _short(row.text)},
        )
    if not args:
        raise UserError(
            "Usage : `!rappel <quand> <message> [-> salons]`, par exemple "
            "`!rappel demain 9h Pensez à l'Agora -> tribus`."
        )
    text, targets = split_targets(args)
    moment, message = parse_when(text, ctx.services.clock(), service.tz)
    if not message:
        raise UserError("Il manque le message après la date. Exemple : `!rappel lundi 10h Atelier à 14h -> pairs`")
    await service.check_targets(targets)
    row = await service.schedule_manual(message, moment, targets, ctx.message.sender, ctx.work)
    return Reply(
        template="agenda/scheduled_one.md.j2",
        context={
            "number": await _number_in_list(service, saved_id(row), ctx),
            "when": format_datetime_fr(moment, service.tz),
            "targets": _targets_text(list(targets)),
        },
    )


RAPPEL = CommandNeeding(
    name="rappel",
    handler=rappel,
    section=AGENDA_AND_REMINDERS,
    facilitators_only=True,
    usage="rappel <quand> <message> [-> salons] | rappel annuler <n°>",
    help="Programme un message. Quand : « demain 9h », « le 12/03 à 14h30 », « dans 2 heures », "
    "« lundi 10h », « 12/03/2027 14:30 » (sans heure : 9h). " + TARGETS_HELP,
)


async def _number_in_list(service: ReminderService, row_id: int, ctx: CommandContext) -> int:
    """A reminder's number is its place in `!rappels` (soonest first), not a database id."""
    pending = (await service.scheduled(work=ctx.work))[0]
    return next(i for i, r in enumerate(pending, 1) if r.id == row_id)


def _count_text(count: int) -> str:
    return {0: "aucun rappel n'est programmé", 1: "un seul rappel est programmé"}.get(
        count, f"{count} rappels sont programmés"
    )


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:79] + "…"


async def rappels(service: ReminderService, ctx: CommandContext) -> Reply:
    manual, events = await service.scheduled(work=ctx.work)
    tz = service.tz
    return Reply(
        template="agenda/scheduled.md.j2",
        context={
            "manual": [
                {
                    "number": number,
                    "when": format_datetime_fr(due_time(r), tz),
                    "targets": _targets_text(r.target_list),
                    "text": _short(r.text),
                }
                for number, r in enumerate(manual, 1)
            ],
            "events": [
                {"when": format_datetime_fr(due_time(r), tz), "targets": _targets_text(r.target_list), "title": r.title}
                for r in events
            ],
        },
    )


RAPPELS = CommandNeeding(
    name="rappels",
    handler=rappels,
    usage="rappels",
    section=AGENDA_AND_REMINDERS,
    facilitators_only=True,
    help="Les rappels programmés (avec leur numéro) et les prochains rappels de l'agenda.",
)


# In the order the help lists them; each bound to the bot's one reminder service.
COMMANDS = (AGENDA, PERMANENCE, DIFFUSER, RAPPEL, RAPPELS)
