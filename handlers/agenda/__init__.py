"""Agenda and reminders: recurring events and calendar feeds, reminders posted exactly once.

Modules: occurrences (expanding events), feeds (fetching with a stored fallback), targets (room
names), french_time (« demain 9h »), service (ReminderService: rows, jobs, firing), commands, cli.
"""
from __future__ import annotations

from handlers.agenda.commands import register_commands
from handlers.agenda.service import ReminderService
from handlers.registry import CommandRegistry

__all__ = ["ReminderService", "register"]


def register(registry: CommandRegistry, reminders: ReminderService) -> None:
    register_commands(registry, reminders)
