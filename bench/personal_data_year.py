"""A year of traffic and the retention purge (issue 20).

A SQLite database gets a year of a busy community at once, by bulk inserts: 1,000,000 handled events,
100,000 questions answered (with as many answer messages the bot sent), 20,000 votes, 10,000 offers
to forward a question and 5,000 forwarded questions, 5,000 deposits with their drafts plus 2,000
abandoned drafts, 3,000 reminders, all spread over the last 365 days. Then:

- a message's database cost, with the year loaded and with an empty database: the real app
  (bot.app.build_app, the shipped pack indexed by the default model) handles `!aide` and a question
  as a sync brings them, through its unit of work; the time its SQL statements take (SQLAlchemy's
  cursor events, from the driver's call to its return) is summed per event, and its p95 given;
- the purge at the end of that year ([retention]'s defaults), then a year later (every question,
  vote and finished draft goes too, counted per week first): its time per million rows deleted;
- the database's size loaded, after the purges, and after VACUUM.

Run: .venv/bin/python -m bench.personal_data_year [--rounds 100] [--events 1000000]
Target (issue 20): the year's p95 within 10% of the empty database's.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from bench.database_work import BOT, DIRECT, EVENTS, HUMAN, ROOM, handle
from bot.app import BotApp, build_app
from bot.devtools.fake_homeserver import FakeHomeserver, start_app
from config import RetentionConfig, parse_config
from knowledge.embedders import Embedder
from storage.database import DATABASE_FILE, Database
from storage.retention import Cutoffs, purge

YEAR = timedelta(days=365)
ROOMS = [ROOM, *(f"!tribe{i}:bench" for i in range(29))]
MEMBERS = [HUMAN, *(f"@member{i}:bench" for i in range(599))]


@dataclass(frozen=True)
class Volumes:
    events: int = 1_000_000
    questions: int = 100_000
    votes: int = 20_000
    offers: int = 10_000
    forwarded: int = 5_000
    deposits: int = 5_000
    abandoned_drafts: int = 2_000
    reminders: int = 3_000

    def scaled(self, events: int) -> Volumes:
        ratio = events / self.events
        return Volumes(*(max(1, round(getattr(self, name) * ratio)) for name in self.__dataclass_fields__))


def _stamp(moment: datetime) -> str:
    # As SQLAlchemy's DateTime writes a naive UTC moment in SQLite.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def load_year(path: Path, now: datetime, volumes: Volumes, seed: int = 20) -> int:
    """The year's rows, inserted by executemany in one transaction each table; how many rows."""
    rng = random.Random(seed)
    start = now - YEAR

    def moments(count: int) -> Iterator[datetime]:
        # Spread evenly over the year, in order, as traffic comes.
        step = YEAR / count
        for i in range(count):
            yield start + step * i + timedelta(seconds=rng.random() * 60)

    rows = 0
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=OFF")
        with connection:
            connection.executemany(
                "INSERT INTO handledevent (event_id, handled_at, room_id, kind, origin_ts, done) VALUES (?,?,?,?,?,1)",
                (
                    (f"$ev{i}:bench", _stamp(at), rng.choice(ROOMS), "message", int(at.timestamp() * 1000))
                    for i, at in enumerate(moments(volumes.events))
                ),
            )
        rows += volumes.events
        question_times = list(moments(volumes.questions))
        with connection:
            connection.executemany(
                "INSERT INTO answerrecord (id, room_id, asker, question, answered, heading, source, confidential, "
                "created_at) VALUES (?,?,?,?,?,?,?,0,?)",
                (
                    (
                        i + 1,
                        rng.choice(ROOMS),
                        rng.choice(MEMBERS),
                        f"Question numéro {i} sur la rénovation énergétique des écoles ?",
                        rng.random() < 0.7,
                        "Rénovation",
                        "referentiel/renovation.md",
                        _stamp(at),
                    )
                    for i, at in enumerate(question_times)
                ),
            )
            # The bot's answer to each question, tagged so votes and follow-ups find it.
            connection.executemany(
                "INSERT INTO sentmessage (event_id, room_id, tag, thread_root, sent_at) VALUES (?,?,?,?,?)",
                (
                    (f"$answer{i}:bench", rng.choice(ROOMS), f"answer:{i + 1}", f"$ev{i * 7}:bench", _stamp(at))
                    for i, at in enumerate(question_times)
                ),
            )
        rows += 2 * volumes.questions
        with connection:
            connection.executemany(
                "INSERT INTO answerfeedback (answer_id, user_id, vote, created_at, event_id) VALUES (?,?,?,?,?)",
                (
                    (
                        rng.randrange(volumes.questions) + 1,
                        rng.choice(MEMBERS),
                        "up" if rng.random() < 0.8 else "down",
                        _stamp(at),
                        f"$vote{i}:bench",
                    )
                    for i, at in enumerate(moments(volumes.votes))
                ),
            )
            offer_times = list(moments(volumes.offers))
            connection.executemany(
                "INSERT INTO forwardoffer (room_id, asker, question, event_id, created_at, state) VALUES (?,?,?,?,?,?)",
                (
                    (rng.choice(ROOMS), rng.choice(MEMBERS), f"Question {i} ?", f"$q{i}:bench", _stamp(at), "declined")
                    for i, at in enumerate(offer_times)
                ),
            )
            connection.executemany(
                "INSERT INTO sentmessage (event_id, room_id, tag, thread_root, sent_at) VALUES (?,?,?,NULL,?)",
                (
                    (f"$offer{i}:bench", rng.choice(ROOMS), f"forward-offer:{i + 1}", _stamp(at))
                    for i, at in enumerate(offer_times)
                ),
            )
            connection.executemany(
                "INSERT INTO forwardedquestion (room_id, room_name, asker, question, event_id, created_at, "
                "answered_by, answer, answered_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    (
                        rng.choice(ROOMS),
                        "Alimentation",
                        rng.choice(MEMBERS),
                        f"Question transmise {i} ?",
                        f"$fq{i}:bench",
                        _stamp(at),
                        "@alice:bench",
                        "Voici ce que nous savons.",
                        _stamp(at + timedelta(days=2)),
                    )
                    for i, at in enumerate(moments(volumes.forwarded))
                ),
            )
        rows += volumes.votes + 2 * volumes.offers + volumes.forwarded
        with connection:
            deposit_times = list(moments(volumes.deposits))
            connection.executemany(
                "INSERT INTO depositdraft (id, room_id, user_id, origin_room_id, origin_confidential, state, "
                "status, created_at, updated_at, deposit_reference) VALUES (?,?,?,?,0,?,?,?,?,?)",
                (
                    (
                        i + 1,
                        f"!dm{i}:bench",
                        rng.choice(MEMBERS),
                        rng.choice(ROOMS),
                        '{"status": "confirmed", "answers": {"titre": "Un projet"}}',
                        "confirmed",
                        _stamp(at - timedelta(hours=1)),
                        _stamp(at),
                        f"DEP-{at.year}-{i + 1:04d}",
                    )
                    for i, at in enumerate(deposit_times)
                ),
            )
            connection.executemany(
                "INSERT INTO deposit (reference, year, sequence, draft_id, title, tribe, carrier, depositor, status, "
                "visibility, origin_room_id, origin_confidential, content_shared, created_at, answers, history) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,0,1,?,?,?)",
                (
                    (
                        f"DEP-{at.year}-{i + 1:04d}",
                        at.year,
                        i + 1,
                        i + 1,
                        f"Projet {i}",
                        "Alimentation",
                        "Commune de Bench",
                        rng.choice(MEMBERS),
                        "nouveau",
                        "community",
                        rng.choice(ROOMS),
                        _stamp(at),
                        '{"titre": "Un projet", "description": "Une cantine locale."}',
                        "[]",
                    )
                    for i, at in enumerate(deposit_times)
                ),
            )
            connection.executemany(
                "INSERT INTO depositdraft (room_id, user_id, origin_room_id, origin_confidential, state, status, "
                "created_at, updated_at) VALUES (?,?,?,0,?,?,?,?)",
                (
                    (
                        f"!dm{i}:bench",
                        rng.choice(MEMBERS),
                        rng.choice(ROOMS),
                        '{"status": "abandoned", "answers": {"titre": "Un projet"}}',
                        "abandoned",
                        _stamp(at),
                        _stamp(at + timedelta(days=7)),
                    )
                    for i, at in enumerate(moments(volumes.abandoned_drafts))
                ),
            )
            connection.executemany(
                "INSERT INTO agenda_reminder (kind, source, occurrence_key, title, start, offset_minutes, due_at, "
                "targets, created_by, status, sent_at, late, superseded, reason, posted_rooms, text, context, "
                "created_at) VALUES ('broadcast','manual',?,'',?,0,?,'[\"tous\"]',?,'sent',?,0,0,'','[]',?,'{}',?)",
                (
                    (f"manual-{i}", _stamp(at), _stamp(at), "@alice:bench", _stamp(at), f"Rappel {i}", _stamp(at))
                    for i, at in enumerate(moments(volumes.reminders))
                ),
            )
        rows += 2 * volumes.deposits + volumes.abandoned_drafts + volumes.reminders
    return rows


@dataclass
class Timings:
    # Per event: seconds spent in SQL statements, statements run, seconds from the sync to the answer.
    database: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)


class StatementClock:
    """Sums the time of every statement run on `engine` (any thread) while a measure is open."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.started = threading.local()
        self.seconds, self.count = 0.0, 0
        self.lock = threading.Lock()

    def __enter__(self) -> StatementClock:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc_info: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def reset(self) -> None:
        with self.lock:
            self.seconds, self.count = 0.0, 0

    def _before(self, *_: Any) -> None:
        self.started.at = time.perf_counter()

    def _after(self, *_: Any) -> None:
        elapsed = time.perf_counter() - self.started.at
        with self.lock:
            self.seconds += elapsed
            self.count += 1


def _config(folder: Path) -> Any:
    return parse_config(
        {
            "matrix": {"homeserver": "http://homeserver.invalid", "user_id": BOT, "password": "bench"},
            "bot": {"data_dir": str(folder / "data"), "log_level": "WARNING"},
            "access": {"allowed_inviters": [HUMAN]},
        },
        folder / "config.toml",
    )


@asynccontextmanager
async def started(folder: Path, embedder: Embedder | None) -> AsyncIterator[tuple[BotApp, FakeHomeserver]]:
    """The real app on the data folder `folder`, started over its own fake homeserver."""
    app = build_app(_config(folder), embedder=embedder)
    homeserver = FakeHomeserver(BOT)
    homeserver.room(ROOM, [HUMAN])
    homeserver.direct_room(DIRECT, HUMAN)
    try:
        with homeserver.serving(app.client):
            await start_app(app)
            await app.sender.direct_chats.adopt(DIRECT, HUMAN)
            yield app, homeserver
    finally:
        await app.close()


async def measure(empty: Path, year: Path, rounds: int) -> dict[str, tuple[Timings, Timings]]:
    """`!aide` and the questions of bench.database_work, `rounds` times each (after a warm-up), on the
    empty database and on the year's in turn: both bots run side by side, so the machine's load
    weighs the same on both."""
    results: dict[str, tuple[Timings, Timings]] = {}
    async with AsyncExitStack() as stack:
        empty_app = await stack.enter_async_context(started(empty, None))
        search = empty_app[0].services.search
        year_app = await stack.enter_async_context(started(year, search.embedder if search is not None else None))
        clocks = [stack.enter_context(StatementClock(app.db.engine)) for app, _ in (empty_app, year_app)]
        for label, room_id, body in EVENTS:
            timings = results.setdefault(label, (Timings(), Timings()))
            for app, homeserver in (empty_app, year_app):
                await handle(app, homeserver, room_id, body)
            for round_ in range(rounds):
                # Each goes first every other round.
                order = (0, 1) if round_ % 2 == 0 else (1, 0)
                for which in order:
                    app, homeserver = (empty_app, year_app)[which]
                    clock = clocks[which]
                    clock.reset()
                    began = time.perf_counter()
                    await handle(app, homeserver, room_id, body)
                    timings[which].wall.append(time.perf_counter() - began)
                    timings[which].database.append(clock.seconds)
                    timings[which].statements.append(clock.count)
    return results


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else values[0]


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def vacuum(path: Path) -> None:
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("VACUUM")


def timed_purge(path: Path, cut: Cutoffs) -> tuple[int, float]:
    db = Database(f"sqlite:///{path}")
    try:
        started = time.perf_counter()
        with db.session() as session:
            deleted = purge(session, cut)
        return sum(deleted.values()), time.perf_counter() - started
    finally:
        db.close()


def _n(count: int) -> str:
    return f"{count:,}".replace(",", "\u202f")


def mib(count: int) -> str:
    return f"{count / 2**20:.1f} Mio"


async def main(rounds: int, events: int) -> int:
    volumes = Volumes().scaled(events) if events != Volumes.events else Volumes()
    with tempfile.TemporaryDirectory() as empty_folder, tempfile.TemporaryDirectory() as year_folder:
        empty, year = Path(empty_folder), Path(year_folder)
        for folder in (empty, year):
            (folder / "data").mkdir()
        path = year / "data" / DATABASE_FILE
        Database.in_dir(year / "data").create_all()
        now = datetime.now(UTC)
        started = time.perf_counter()
        rows = load_year(path, now, volumes)
        held = ", ".join(f"{name} {_n(getattr(volumes, name))}" for name in volumes.__dataclass_fields__)
        print(f"Une année chargée : {_n(rows)} lignes en {time.perf_counter() - started:.0f} s ({held})")

        results = await measure(empty, year, rounds)
        vacuum(path)
        loaded = size(path)

        print(
            f"\nCoût en base d'un message, p95 sur {rounds} mesures (base vide → année chargée ; cible : +10 % au plus)"
        )
        for label, (before, after) in results.items():
            db_before, db_after = p95(before.database) * 1000, p95(after.database) * 1000
            print(
                f"  {label} : requêtes SQL {db_before:.2f} ms → {db_after:.2f} ms ({(db_after / db_before - 1) * 100:+.0f} %)"
                f" (médiane {statistics.median(before.database) * 1000:.2f} → "
                f"{statistics.median(after.database) * 1000:.2f} ms), "
                f"{statistics.median(before.statements):.0f} → {statistics.median(after.statements):.0f} requêtes ; "
                f"de la synchronisation à la réponse {p95(before.wall) * 1000:.1f} ms → {p95(after.wall) * 1000:.1f} ms"
            )

        retention = RetentionConfig()
        print(f"\nPurge ([retention] par défaut : {retention})")
        for title, moment in (("au bout de l'année", now), ("un an plus tard", now + YEAR)):
            deleted, seconds = timed_purge(path, Cutoffs.of(retention, moment, kept_tags=["introduction"]))
            per_million = seconds / deleted * 1_000_000 if deleted else 0.0
            print(
                f"  {title} : {_n(deleted)} lignes supprimées en {seconds:.1f} s, soit {per_million:.1f} s par million "
                "de lignes"
            )
            purged = size(path)
            vacuum(path)
            print(
                f"    taille de la base : {mib(loaded)} → {mib(purged)} après la purge → {mib(size(path))} après VACUUM"
            )
            loaded = size(path)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--events", type=int, default=Volumes.events, help="handled events (the rest scales with it)")
    arguments = parser.parse_args()
    sys.exit(asyncio.run(main(arguments.rounds, arguments.events)))
