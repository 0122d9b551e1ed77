"""[bot]: the process itself (data folder, time zone, prefix, limits, logs, templates)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from config.reader import TomlReader, resolve_path

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class BotConfig:
    data_dir: Path
    timezone: str = "Europe/Paris"
    command_prefix: str = "!"
    max_message_length: int = 4000
    log_level: str = "INFO"
    templates_dir: Path | None = None
    # A member who has not joined the bot's direct chat after this long is told so where they asked.
    direct_chat_wait_minutes: float = 10.0

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def parse_bot(b: TomlReader) -> BotConfig:
    timezone = b.get("timezone", str, BotConfig.timezone)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise b.fail("timezone", f"fuseau horaire inconnu « {timezone} »") from None
    max_len = b.get("max_message_length", int, BotConfig.max_message_length)
    if max_len < 100:
        raise b.fail("max_message_length", "doit valoir au moins 100")
    log_level = b.get("log_level", str, BotConfig.log_level).upper()
    if log_level not in LOG_LEVELS:
        raise b.fail("log_level", "DEBUG, INFO, WARNING ou ERROR")
    templates_dir = b.get("templates_dir", str, "")
    direct_wait = b.get("direct_chat_wait_minutes", float, BotConfig.direct_chat_wait_minutes)
    if direct_wait <= 0:
        raise b.fail("direct_chat_wait_minutes", "doit être positif")
    config = BotConfig(
        data_dir=resolve_path(b.base, b.get("data_dir", str, "./data")),
        timezone=timezone,
        command_prefix=b.get("command_prefix", str, BotConfig.command_prefix) or BotConfig.command_prefix,
        max_message_length=max_len,
        log_level=log_level,
        templates_dir=resolve_path(b.base, templates_dir) if templates_dir else None,
        direct_chat_wait_minutes=direct_wait,
    )
    b.no_unknown_keys()
    return config
