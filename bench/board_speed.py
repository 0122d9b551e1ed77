"""The facilitators' board under load (issue 12): every page under 100 ms of server time with 5,000
deposits and 20,000 questions (plus answers, votes, FAQ entries and reminders).

Each page is asked in-process through aiohttp's test client, over loopback, logged in as a
facilitator: the figure is the whole request (routing, session and rights check, queries, template),
an upper bound of the server's time. The CSV export, a download of every deposit rather than a
page, is timed beside them.

Run: .venv/bin/python -m bench.board_speed
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bot.board.auth import Auth
from bot.board.context import BoardContext
from bot.board.server import BoardServer
from bot.rendering import Renderer, build_template_environment
from config import parse_config
from handlers.agenda import ReminderService
from handlers.board.links import LoginLinks
from handlers.context import Services
from handlers.deposits.form import load_form
from storage.agenda import BROADCAST, EVENT, ReminderRow
from storage.database import Database
from storage.deposits import DEPOSIT_STATUSES, Deposit
from storage.knowledge import FAQ, KnowledgeChunk, KnowledgeDocument
from storage.questions import AnswerFeedback, AnswerRecord, ForwardedQuestion
from storage.unit_of_work import UnitsOfWork

DEPOSITS, QUESTIONS, WAITING, VOTES, FAQ_ENTRIES, REMINDERS = 5_000, 20_000, 2_000, 10_000, 300, 500
TRIBES = ("Alimentation", "Énergie", "Mobilité", "Habitat", "Eau", "Culture")
TARGET_MS = 100.0
ROUNDS = 30
FACILITATOR = "@fanny:bench"
NOW = datetime.now(UTC)


def fill(db: Database) -> None:
    rng = random.Random(12)
    with db.session() as session:
        for n in range(1, DEPOSITS + 1):
            created = NOW - timedelta(minutes=rng.randrange(365 * 24 * 60))
            shared = rng.random() > 0.1
            tribe = rng.choice(TRIBES)
            title = f"Projet n°{n} pour le territoire"
            session.add(
                Deposit(
                    reference=f"DEP-2026-{n:04d}",
                    year=2026,
                    sequence=n,
                    title=title,
                    tribe=tribe,
                    carrier=f"@membre{n % 400}:bench",
                    depositor=f"@membre{n % 400}:bench",
                    status=rng.choice(DEPOSIT_STATUSES),
                    visibility="facilitators",
                    origin_room_id="!tribu:bench",
                    origin_confidential=not shared,
                    content_shared=shared,
                    created_at=created,
                    answers={
                        "title": title,
                        "tribe": tribe,
                        "territory": "Diois",
                        "description": "Un projet. " * 20,
                        "needs": ["partners", "funding"],
                        "stage": "idea",
                        "contact": "porteur@example.org",
                    },
                    history=[
                        {"status": "nouveau", "at": created.isoformat(), "by": f"@membre{n % 400}:bench", "comment": ""}
                    ],
                )
            )
        for n in range(QUESTIONS):
            asked = NOW - timedelta(minutes=rng.randrange(120 * 24 * 60))
            session.add(
                AnswerRecord(
                    room_id="!tribu:bench",
                    asker=f"@membre{n % 400}:bench",
                    question=f"Question n°{n} ?",
                    answered=rng.random() > 0.3,
                    created_at=asked,
                )
            )
            waiting = n >= QUESTIONS - WAITING
            session.add(
                ForwardedQuestion(
                    room_id="!tribu:bench",
                    room_name="Alimentation",
                    asker=f"@membre{n % 400}:bench",
                    question=f"Question transmise n°{n} : qui contacter pour un local ?",
                    event_id=f"$q{n}",
                    created_at=asked,
                    answer=None if waiting else "Réponse.",
                    answered_by=None if waiting else FACILITATOR,
                    answered_at=None if waiting else asked + timedelta(hours=3),
                )
            )
        for n in range(VOTES):
            session.add(
                AnswerFeedback(
                    answer_id=rng.randrange(1, QUESTIONS),
                    user_id=f"@membre{n % 400}:bench",
                    vote=rng.choice(("up", "up", "down")),
                    created_at=NOW - timedelta(minutes=rng.randrange(120 * 24 * 60)),
                )
            )
        for n in range(FAQ_ENTRIES):
            source = f"faq/{n:012d}"
            session.add(KnowledgeDocument(collection=FAQ, source=source, root="faq", title="FAQ", doc_hash=str(n)))
            session.add(
                KnowledgeChunk(
                    collection=FAQ,
                    source=source,
                    heading=f"Question fréquente n°{n} ?",
                    heading_path=["FAQ", f"Question fréquente n°{n} ?"],
                    text="Réponse. " * 30,
                    content_hash=str(n),
                )
            )
        for n in range(REMINDERS):
            due = NOW + timedelta(hours=rng.randrange(1, 24 * 60))
            manual = n % 2 == 0
            session.add(
                ReminderRow(
                    kind=BROADCAST if manual else EVENT,
                    source="manual" if manual else "config",
                    occurrence_key=f"r{n}",
                    title=f"Atelier {n}",
                    text=f"Pensez à l'atelier {n}",
                    due_at=due,
                    start=due + timedelta(days=1),
                    targets=json.dumps([rng.choice(["tribus", "pairs", "tous"])]),
                )
            )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        config = parse_config(
            {
                "matrix": {"homeserver": "http://127.0.0.1:1", "user_id": "@bot:bench"},
                "bot": {"data_dir": str(data)},
                "access": {"facilitators": [FACILITATOR]},
                "board": {"listen": "127.0.0.1:8470"},
                "rooms": [{"id": "!tribu:bench", "kind": "tribe", "name": tribe} for tribe in TRIBES[:1]],
                "agenda": {
                    "recurring": [
                        {
                            "title": "Permanence",
                            "rrule": "FREQ=WEEKLY;BYDAY=TU",
                            "time": "10:00",
                            "rooms": ["tous"],
                            "reminders": ["1d"],
                        }
                    ]
                },
            },
            data / "config.toml",
        )
        db = Database.in_dir(data)
        db.create_all()
        started = time.perf_counter()
        fill(db)
        print(
            f"Base remplie en {time.perf_counter() - started:.1f} s : {DEPOSITS} dépôts, {QUESTIONS} questions "
            f"posées et {QUESTIONS} transmises ({WAITING} en attente), {VOTES} votes, {FAQ_ENTRIES} entrées de FAQ, "
            f"{REMINDERS} rappels."
        )

        async def post(reply):
            return None

        units = UnitsOfWork(db)
        services = Services(
            config=config,
            units=units,
            bot_user_id="@bot:bench",
            post=post,
            deposit_form=load_form(config.deposits.form_path),
        )
        links = LoginLinks(b"b" * 32, config.board.base_url, services.clock)
        renderer = Renderer(build_template_environment())
        auth = Auth(units, links, config.board, lambda user: user == FACILITATOR, services.clock)
        board = BoardContext(services, ReminderService(services), auth, renderer.env, renderer)
        client = TestClient(TestServer(BoardServer(board, config.board).application()))
        await client.start_server()
        try:
            login = await client.post("/connexion", data={"jeton": links.token(FACILITATOR)}, allow_redirects=False)
            assert login.status == 303, await login.text()
            pages = {
                "Dépôts (1re page)": "/depots",
                "Dépôts filtrés (statut, tribu, dates)": "/depots?statut=clos&tribu=%C3%89nergie&du=2026-03-01",
                "Dépôts (dernière page)": f"/depots?page={DEPOSITS // 50}",
                "Un dépôt": "/depots/DEP-2026-2500",
                "Questions et FAQ": "/questions",
                "Questions (dernière page)": f"/questions?page={WAITING // 30}",
                "Agenda": "/agenda",
                "Usage": "/usage",
            }
            print(f"\n{'page':40} {'médiane':>9} {'p95':>9}  (objectif {TARGET_MS:.0f} ms, {ROUNDS} requêtes)")
            worst = 0.0
            for name, path in pages.items():
                times = []
                for _ in range(ROUNDS):
                    began = time.perf_counter()
                    response = await client.get(path)
                    await response.read()
                    times.append((time.perf_counter() - began) * 1000)
                    assert response.status == 200, (path, response.status)
                median, p95 = statistics.median(times), percentile(times, 0.95)
                worst = max(worst, p95)
                print(f"{name:40} {median:7.1f} ms {p95:7.1f} ms  {'ok' if p95 < TARGET_MS else 'TROP LENT'}")
            times = []
            for _ in range(5):
                began = time.perf_counter()
                response = await client.get("/depots/export.csv")
                body = await response.read()
                times.append((time.perf_counter() - began) * 1000)
            print(
                f"{'Export CSV (téléchargement, ' + str(DEPOSITS) + ' dépôts)':40} {statistics.median(times):7.1f} ms "
                f"{max(times):7.1f} ms  ({len(body) // 1024} Ko, hors objectif : un fichier, pas une page)"
            )
            print(
                f"\nPire p95 des pages : {worst:.1f} ms — {'objectif tenu' if worst < TARGET_MS else 'objectif MANQUÉ'}"
            )
            return 0 if worst < TARGET_MS else 1
        finally:
            await client.close()
            units.close()
            db.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
