"""[deposits]: the deposit form, announcements and the reminders of unfinished forms."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from config.reader import TomlReader, resolve_path


@dataclass(frozen=True)
class DepositsConfig:
    # None: the form shipped with the bot.
    form_path: Path | None = None
    announce_in_tribe: bool = True
    reminder_after_hours: float = 24.0
    abandon_after_days: float = 7.0


def parse_deposits(d: TomlReader) -> DepositsConfig:
    form_path = d.get("form_path", str, "")
    config = DepositsConfig(
        form_path=resolve_path(d.base, form_path) if form_path else None,
        announce_in_tribe=d.get("announce_in_tribe", bool, DepositsConfig.announce_in_tribe),
        reminder_after_hours=d.get("reminder_after_hours", float, DepositsConfig.reminder_after_hours),
        abandon_after_days=d.get("abandon_after_days", float, DepositsConfig.abandon_after_days),
    )
    d.no_unknown_keys()
    return config
