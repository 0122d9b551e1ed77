"""The database work of one event (issue 18): how many sessions and SQL statements the bot spends on
a `!aide` and on a question, and how many of them run on the event loop's thread.

The real app (bot.app.build_app, the shipped pack indexed by the default model) is started as
BotApp.start() does, minus what needs a real homeserver or runs on a timer (cross-signing, the
scheduler's jobs, the metrics and board servers): nio's client runs whole, only its HTTP exchange is
answered in-process (FakeHomeserver). Each event comes the way a sync brings it: nio parses the sync,
runs its callbacks, the inbox records the event, handles it, the reply is sent and the event marked
done. Everything the bot asks of its database engine meanwhile is counted:

- sessions: ORM sessions that began a transaction on the bot's engine, however they were opened
  (Database.session() or a Session of its own), read from SQLAlchemy's session events;
- statements: what reaches the database driver (SQLAlchemy's before_cursor_execute);
- on the loop: opened (a session) or executed (a statement) on the thread running the event loop,
  where each one blocks every other event meanwhile.

Run: .venv/bin/python -m bench.database_work [--rounds 5]
Target (issue 18): one session per event, none on the loop.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import Session, SessionTransaction

from bot.app import BotApp, build_app
from bot.devtools.fake_homeserver import FakeHomeserver, settle, start_app
from config import parse_config

BOT, HUMAN = "@bot:bench", "@human:bench"
ROOM, DIRECT = "!room:bench", "!direct:bench"
QUESTION = "c'est quoi une balise ?"
# The events measured: label, room, body. The first round of each is a warm-up, not counted.
EVENTS = (
    ("!aide", ROOM, "!aide"),
    ("question (`!q` dans un salon)", ROOM, f"!q {QUESTION}"),
    ("question (conversation privée)", DIRECT, QUESTION),
)
REPOSITORY = Path(__file__).resolve().parents[1]
# Where a session is opened from is told by the first frame of the bot's own code outside these.
PLUMBING = ("storage/", "bench/")
KEY = "bench.database_work"


@dataclass
class Tally:
    sessions: int = 0
    sessions_on_loop: int = 0
    statements: int = 0
    statements_on_loop: int = 0
    # Where each session was opened from (module:function), on the loop or not.
    openers: Counter[str] = field(default_factory=Counter)

    def line(self) -> str:
        return (
            f"{self.sessions} sessions ({self.sessions_on_loop} sur la boucle), "
            f"{self.statements} requêtes SQL ({self.statements_on_loop} sur la boucle)"
        )


class DatabaseWork:
    """Counts the sessions and statements run on one engine, and which ran on `loop_thread`.

    Used as a context manager: the listeners are on while it is open, and each measure() counts
    afresh."""

    def __init__(self, engine: Engine, loop_thread: int) -> None:
        self.engine, self.loop_thread = engine, loop_thread
        self.tally = Tally()

    def __enter__(self) -> DatabaseWork:
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(Session, "after_begin", self._begin)
        return self

    def __exit__(self, *exc_info: object) -> None:
        event.remove(Session, "after_begin", self._begin)
        event.remove(self.engine, "before_cursor_execute", self._statement)

    @contextmanager
    def measure(self) -> Iterator[Tally]:
        """What runs inside the block, in the tally it yields (complete once the block is left)."""
        self.tally = tally = Tally()
        try:
            yield tally
        finally:
            self.tally = Tally()

    def _on_loop(self) -> bool:
        return threading.get_ident() == self.loop_thread

    def _statement(self, *_: object) -> None:
        self.tally.statements += 1
        self.tally.statements_on_loop += self._on_loop()

    def _begin(self, session: Session, _transaction: SessionTransaction, connection: Connection) -> None:
        # A session begins a transaction after each commit: it is counted at its first only.
        if connection.engine is not self.engine or KEY in session.info:
            return
        session.info[KEY] = True
        on_loop = self._on_loop()
        self.tally.sessions += 1
        self.tally.sessions_on_loop += on_loop
        self.tally.openers[f"{opener(sys._getframe(1))}{'' if on_loop else ' (hors boucle)'}"] += 1


def opener(frame: FrameType | None) -> str:
    """The innermost function of the bot's own code on the stack, outside storage/ (which only runs
    what it is asked) if there is one."""
    own: list[str] = []
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        # A virtualenv inside the clone (as `make` makes it) holds libraries, not the bot's code.
        if path.is_relative_to(REPOSITORY) and "site-packages" not in path.parts:
            relative = path.relative_to(REPOSITORY).as_posix()
            if not relative.startswith(PLUMBING):
                return f"{relative}:{frame.f_code.co_name}"
            if not relative.startswith("bench/"):
                own.append(f"{relative}:{frame.f_code.co_name}")
        frame = frame.f_back
    return own[0] if own else "?"


async def handle(app: BotApp, homeserver: FakeHomeserver, room_id: str, body: str) -> None:
    """One message through a sync, until it is answered and marked done."""
    answered = len(homeserver.sent)
    homeserver.message(HUMAN, room_id, body)
    await settle(app, homeserver)
    if len(homeserver.sent) == answered:
        raise AssertionError(f"no answer to « {body} »")


async def main(rounds: int) -> int:
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        config = parse_config(
            {
                "matrix": {"homeserver": "http://homeserver.invalid", "user_id": BOT, "password": "bench"},
                "bot": {"data_dir": str(data / "data"), "log_level": "WARNING"},
                "access": {"allowed_inviters": [HUMAN]},
            },
            data / "config.toml",
        )
        app = build_app(config)
        homeserver = FakeHomeserver(BOT)
        # A room the member created and invited the bot to, and their direct chat with it.
        homeserver.room(ROOM, [HUMAN])
        homeserver.direct_room(DIRECT, HUMAN)
        results: dict[str, list[Tally]] = {}
        try:
            with homeserver.serving(app.client):
                indexed = await start_app(app)
                print(f"Référentiel indexé par le modèle par défaut en {indexed:.0f} s", flush=True)
                # The member invited the bot to the direct chat (MatrixBot._on_invite records it so).
                await app.sender.direct_chats.adopt(DIRECT, HUMAN)
                with DatabaseWork(app.db.engine, threading.get_ident()) as work:
                    for label, room_id, body in EVENTS:
                        await handle(app, homeserver, room_id, body)  # warm-up
                        for _ in range(rounds):
                            with work.measure() as tally:
                                await handle(app, homeserver, room_id, body)
                            results.setdefault(label, []).append(tally)
        finally:
            await app.close()
    print(f"\nTravail de la base par événement, de la synchronisation qui l'apporte à sa réponse ({rounds} mesures)")
    print("(cible, issue 18 : une session par événement, aucune sur la boucle d'événements)")
    for label, tallies in results.items():
        varies = {t.line() for t in tallies}
        shown = tallies[-1].line() if len(varies) == 1 else " | ".join(sorted(varies))
        print(f"  {label} : {shown}")
        for where, count in sorted(tallies[-1].openers.items()):
            print(f"      {count} × {where}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    sys.exit(asyncio.run(main(parser.parse_args().rounds)))
