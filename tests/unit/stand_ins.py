"""What the unit tests stand in for, shared by the fixtures of tests/unit/conftest.py and by the
harnesses that build their pieces outside a fixture: the clock, the bot's configuration, and the
members' direct chats for tests that build Services by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from config import Config, parse_config

BOT = "@bot:h"
# The test app's room and members (tests/unit/conftest.py, test_app).
ROOM = "!tribu:h"
ANA, FANNY = "@ana:h", "@fanny:h"
START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


class Clock:
    """Stands for the bot's clocks (Services.clock, LateKeys', the board's; Metrics' through
    `timestamp`): it is the time the test says, and moves only when the test moves it."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def timestamp(self) -> float:
        """The same moment in seconds since the epoch, as time.time gives it."""
        return self.now.timestamp()


def build_config(folder: Path, **tables: object) -> Config:
    """The configuration of the bot BOT with its data folder in `folder`; each keyword is a TOML table
    (merged over [matrix] and [bot]) or array of tables, e.g.
    build_config(folder, bot={"max_message_length": 200}, rooms=[{"id": "!r:h", "kind": "tribe"}]).
    It is written at config.path too, for the tests that run the command line on it."""
    raw: dict[str, object] = {
        "matrix": {"homeserver": "http://h", "user_id": BOT},
        "bot": {"data_dir": str(folder / "data")},
    }
    for name, value in tables.items():
        base = raw.get(name)
        raw[name] = {**base, **value} if isinstance(base, dict) and isinstance(value, dict) else value
    path = folder / "config.toml"
    path.write_text(toml_text(raw), encoding="utf-8")
    return parse_config(raw, path)


def toml_text(raw: dict[str, object]) -> str:
    """TOML for the shapes configurations take: tables and arrays of tables of strings, numbers,
    booleans and lists of them."""
    lines: list[str] = []
    for name, value in raw.items():
        if isinstance(value, dict):
            lines += [f"[{name}]", *(f"{key} = {_toml_value(item)}" for key, item in value.items())]
        elif isinstance(value, list) and all(isinstance(item, dict) for item in value):
            for table in value:
                lines += [f"[[{name}]]", *(f"{key} = {_toml_value(item)}" for key, item in table.items())]
        else:
            raise ValueError(f"{name}: only tables and arrays of tables are written")
    return "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    # A JSON string, number or boolean is a TOML one too.
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(key)} = {_toml_value(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return json.dumps(value)


class FakeDirectChats:
    """Stands for bot/direct_chats.py: each member has one direct chat, « !dm-<name>:test », known
    from their id; `joined` says whether its member has joined it."""

    def __init__(self) -> None:
        self.joined = True

    async def room_for(self, user_id: str) -> str:
        return f"!dm-{user_id[1:].split(':')[0]}:test"

    def member_joined(self, room_id: str) -> bool:
        # As the real one: a room that is no direct chat can always be written to.
        return self.joined or not room_id.startswith("!dm-")

    def member_of(self, room_id: str) -> str | None:
        return f"@{room_id[4:]}" if room_id.startswith("!dm-") else None
