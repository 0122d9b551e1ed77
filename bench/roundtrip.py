"""Round trip (a person sends `!aide`, the bot's reply arrives) in a plain and an encrypted room,
and the bot's memory. The bot runs as its own process, as in production.

Run: .venv/bin/python -m bench.roundtrip [--messages 100]
Targets (issue 2): median < 150 ms, p95 < 300 ms, RSS < 150 MB without a search model.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bot.matrix_person import MatrixUser
from bot.synapse_local import LocalSynapse

WARM_UP = 10


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def measure_room(human: MatrixUser, bot_user_id: str, encrypted: bool, count: int) -> list[float]:
    room_id = await human.create_room("bench", encrypted=encrypted, invite=(bot_user_id,))
    await human.wait_joined(room_id, bot_user_id, timeout=60)
    timings = []
    # The first WARM_UP round trips (key sharing, caches of a fresh Synapse and bot) are not counted.
    for _ in range(WARM_UP + count):
        before = len(human.messages(room_id, bot_user_id))
        started = time.perf_counter()
        await human.send(room_id, "!aide")
        await human.wait_for_message(room_id, bot_user_id, contains="Ce que je peux faire", after=before, timeout=30)
        timings.append((time.perf_counter() - started) * 1000)
    return timings[WARM_UP:]


async def main(count: int, with_model: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        synapse = LocalSynapse(tmp / "synapse").start()
        bot_process = None
        try:
            bot = synapse.register("bot")
            person = synapse.register("human")
            (tmp / "config.toml").write_text(f'''
[matrix]
homeserver = "{synapse.url}"
user_id = "{bot.user_id}"
password = "{bot.password}"
[bot]
data_dir = "{tmp / "data"}"
log_level = "WARNING"
[access]
allowed_inviters = ["@human:localhost"]
[knowledge]
enabled = {"true" if with_model else "false"}
''')
            bot_process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "--config", str(tmp / "config.toml")
            )
            human = await MatrixUser(synapse.url, person, tmp / "human").start()
            try:
                results = {}
                for label, encrypted in (("salon chiffré", True), ("salon non chiffré", False)):
                    results[label] = await measure_room(human, bot.user_id, encrypted, count)
                rss = psutil.Process(bot_process.pid).memory_info().rss / 2**20
            finally:
                await human.stop()
        finally:
            if bot_process and bot_process.returncode is None:
                with contextlib.suppress(ProcessLookupError):  # it may have ended meanwhile
                    bot_process.terminate()
                await asyncio.wait_for(bot_process.wait(), timeout=20)
            synapse.stop()
    print(
        f"Aller-retour `!aide` → réponse, {count} messages par salon après {WARM_UP} d'échauffement (cible : médiane < 150 ms, p95 < 300 ms)"
    )
    for label, timings in results.items():
        print(
            f"  {label:18s} médiane {statistics.median(timings):6.1f} ms   p95 {percentile(timings, 0.95):6.1f} ms"
            f"   max {max(timings):6.1f} ms"
        )
    if with_model:
        print(
            f"Mémoire du bot (RSS, modèle de recherche par défaut chargé, référentiel indexé) : {rss:.0f} MiB "
            "(cible < 500 MB)"
        )
    else:
        print(
            f"Mémoire du bot (RSS, sans modèle de recherche : knowledge.enabled = false) : {rss:.0f} MiB "
            "(cible < 150 MB)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument(
        "--with-model",
        action="store_true",
        help="load the default search model (issue 3's memory figure) instead of none (issue 2's)",
    )
    arguments = parser.parse_args()
    asyncio.run(main(arguments.messages, arguments.with_model))
