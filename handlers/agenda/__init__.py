"""Agenda and reminders: recurring events and calendar feeds, reminders posted exactly once.

Modules: occurrences (expanding events), feeds (fetching with a stored fallback), calendars (both
over a window), planning and sync (occurrences -> reminder rows), jobs (scheduler), engine (posting
each row exactly once), notices (the facilitators' room), manual (!rappel, !diffuser), targets (room
names), french_time (« demain 9h »), service (ReminderService, the façade), commands, cli.
"""

from __future__ import annotations

from handlers.agenda.commands import COMMANDS
from handlers.agenda.service import ReminderService
from handlers.registry import CommandRegistry

__all__ = ["ReminderService", "register"]


def register(registry: CommandRegistry, reminders: ReminderService) -> None:
    for command in COMMANDS:
        registry.add(command.bind(reminders))
