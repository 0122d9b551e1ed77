"""The bot's configuration: parsed once from TOML into typed, frozen objects.

The bottom of the layering: this package imports nothing of the project, and every other
package may import it. One module per section; every error names the file and the dotted key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.access import AccessConfig, parse_access
from config.agenda import AgendaConfig, FeedConfig, RecurringEventConfig, parse_agenda, parse_offset_minutes
from config.board import BoardConfig, parse_board
from config.bot import BotConfig, parse_bot
from config.database import DatabaseConfig, parse_database
from config.deposits import DepositsConfig, parse_deposits
from config.knowledge import EMBEDDER_BACKENDS, KnowledgeConfig, parse_knowledge
from config.matrix import MatrixConfig, parse_matrix
from config.metrics import MetricsConfig, parse_metrics
from config.reader import ConfigError, TomlReader, read_toml
from config.retention import RetentionConfig, parse_retention
from config.rooms import PEER_ROLES, ROOM_KINDS, TARGET_KINDS, RoomConfig, parse_room

__all__ = [
    "EMBEDDER_BACKENDS",
    "PEER_ROLES",
    "ROOM_KINDS",
    "TARGET_KINDS",
    "AccessConfig",
    "AgendaConfig",
    "BoardConfig",
    "BotConfig",
    "Config",
    "ConfigError",
    "DatabaseConfig",
    "DepositsConfig",
    "FeedConfig",
    "KnowledgeConfig",
    "MatrixConfig",
    "MetricsConfig",
    "RecurringEventConfig",
    "RetentionConfig",
    "RoomConfig",
    "TomlReader",
    "default_config_path",
    "load_config",
    "parse_config",
    "parse_offset_minutes",
    "read_toml",
]


def default_config_path() -> str:
    """Where commands look for the configuration when --config is not given."""
    return os.environ.get("MANUFACTURE_CONFIG", "config.toml")


@dataclass(frozen=True)
class Config:
    path: Path
    matrix: MatrixConfig
    bot: BotConfig
    access: AccessConfig = field(default_factory=AccessConfig)
    rooms: tuple[RoomConfig, ...] = ()
    knowledge: KnowledgeConfig = field(default_factory=KnowledgeConfig)
    deposits: DepositsConfig = field(default_factory=DepositsConfig)
    agenda: AgendaConfig = field(default_factory=AgendaConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    board: BoardConfig = field(default_factory=BoardConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)

    @property
    def data_dir(self) -> Path:
        return self.bot.data_dir


def load_config(path: str | Path) -> Config:
    path = Path(path)
    return parse_config(read_toml(path), path)


def parse_config(raw: dict[str, Any], path: Path) -> Config:
    root = TomlReader(path, raw)
    config = Config(
        path=path,
        matrix=parse_matrix(root.sub("matrix")),
        bot=parse_bot(root.sub("bot")),
        access=parse_access(root.sub("access")),
        rooms=tuple(parse_room(r) for r in root.items("rooms")),
        knowledge=parse_knowledge(root.sub("knowledge")),
        deposits=parse_deposits(root.sub("deposits")),
        agenda=parse_agenda(root.sub("agenda")),
        metrics=parse_metrics(root.sub("metrics")),
        database=parse_database(root.sub("database")),
        board=parse_board(root.sub("board")),
        retention=parse_retention(root.sub("retention")),
    )
    root.no_unknown_keys()
    return config
