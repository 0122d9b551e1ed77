"""[access]: who may invite the bot, and who the facilitators are."""

from __future__ import annotations

from dataclasses import dataclass

from config.reader import TomlReader


@dataclass(frozen=True)
class AccessConfig:
    allowed_inviters: tuple[str, ...] = ()
    facilitators: tuple[str, ...] = ()
    facilitator_power_level: int = 50
    # Whether someone listed in `facilitators` must also be a joined member of the facilitators' room:
    # then leaving it, or a kick or a ban, takes their rights away as it does for everyone else.
    listed_must_join: bool = False


def parse_access(a: TomlReader) -> AccessConfig:
    config = AccessConfig(
        allowed_inviters=a.strings("allowed_inviters"),
        facilitators=a.strings("facilitators"),
        facilitator_power_level=a.get("facilitator_power_level", int, AccessConfig.facilitator_power_level),
        listed_must_join=a.get("listed_must_join", bool, AccessConfig.listed_must_join),
    )
    a.no_unknown_keys()
    return config
