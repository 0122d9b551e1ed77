"""Round trip (a person sends a message, the bot's reply arrives) in a plain and an encrypted room,
side by side with its floors: bare matrix-nio bots answering the same message (bench/echo_bot.py),
sent alternately so all see the same load. And the bot's memory. Every bot runs as its own process,
as in production.

Two floors: « plancher », the one-line echo; « même réponse », an echo that answers with the bot's own
last answer, its text and markup byte for byte, replying to and mentioning as it does. The second tells
the bot's own work apart from what its answer itself costs Synapse and the person's client (in a plain
room Synapse indexes the text and reads the mention: about 10 ms for the 4 KB of `!aide`).

Run: .venv/bin/python -m bench.roundtrip [--messages 100] [--with-model]
Targets: median < 150 ms, p95 < 300 ms, RSS < 150 MB without a search model (issue 2); `!aide`
≤ 1.05× the floor, a question (with the model) ≤ the floor + 25 ms (issue 18).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from bench.echo_bot import ECHO
from bot.devtools.local_synapse import LocalSynapse, RegisteredUser
from bot.devtools.person import ScriptedPerson

WARM_UP = 10
QUESTION = "!q c'est quoi une balise ?"
# What each one's answer to `!aide` holds; any message answers a question.
HELP_ANSWER = {"bot": "Ce que je peux faire", "plancher": ECHO, "même réponse": ECHO}
FLOORS = ("plancher", "même réponse")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def round_trip(
    human: ScriptedPerson, room_id: str, responder: str, body: str, contains: str
) -> tuple[float, dict[str, Any]]:
    """Milliseconds from sending `body` to the answer, and the answer's content."""
    before = len(human.messages(room_id, responder))
    started = time.perf_counter()
    await human.send(room_id, body)
    answer = await human.wait_for_message(room_id, responder, contains=contains, after=before, timeout=30)
    return (time.perf_counter() - started) * 1000, answer.source.get("content", {})


async def side_by_side(
    human: ScriptedPerson, rooms: dict[str, tuple[str, str]], body: str, count: int, answer_file: Path
) -> dict[str, list[float]]:
    """`rooms`: name → (room, responder), the bot first. The first WARM_UP round trips (key sharing,
    caches of a fresh Synapse and bot) are not counted. Each bot answer is written to `answer_file`,
    which the « même réponse » floor sends back in its turn."""
    timings: dict[str, list[float]] = {name: [] for name in rooms}
    for _ in range(WARM_UP + count):
        for name, (room_id, responder) in rooms.items():
            contains = HELP_ANSWER[name] if body == "!aide" else ""
            milliseconds, content = await round_trip(human, room_id, responder, body, contains)
            timings[name].append(milliseconds)
            if name == "bot":
                await asyncio.to_thread(answer_file.write_text, json.dumps(content))
    return {name: values[WARM_UP:] for name, values in timings.items()}


def bot_command(tmp: Path, synapse: LocalSynapse, bot: RegisteredUser, with_model: bool) -> list[str]:
    """Writes the bot's configuration; the arguments of Python that run the bot with it."""
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
    return ["-m", "bot", "run", "--config", str(tmp / "config.toml")]


async def stop(process: asyncio.subprocess.Process | None) -> None:
    if process and process.returncode is None:
        with contextlib.suppress(ProcessLookupError):  # it may have ended meanwhile
            process.terminate()
        await asyncio.wait_for(process.wait(), timeout=20)


async def main(count: int, with_model: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        synapse = LocalSynapse(tmp / "synapse").start()
        answer_file = tmp / "bot-answer.json"
        bot_process = None
        echo_processes: list[asyncio.subprocess.Process] = []
        try:
            bot, person = synapse.register("bot"), synapse.register("human")
            echo, same = synapse.register("echo"), synapse.register("echo-same")
            bot_process = await asyncio.create_subprocess_exec(
                sys.executable, *bot_command(tmp, synapse, bot, with_model)
            )
            for user, store, extra in ((echo, "echo", []), (same, "echo-same", [str(answer_file)])):
                echo_processes.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        *("-m", "bench.echo_bot", synapse.url, user.user_id, user.password),
                        *(str(tmp / store), *extra),
                    )
                )
            human = await ScriptedPerson(synapse.url, person, tmp / "human").start()
            try:
                results: dict[tuple[str, str], dict[str, list[float]]] = {}
                for label, encrypted in (("salon chiffré", True), ("salon non chiffré", False)):
                    rooms = {}
                    responders = (("bot", bot.user_id), ("plancher", echo.user_id), ("même réponse", same.user_id))
                    for name, responder in responders:
                        room_id = await human.create_room("bench", encrypted=encrypted, invite=(responder,))
                        # With the model, the bot indexes the référentiel before it serves.
                        await human.wait_joined(room_id, responder, timeout=300)
                        rooms[name] = (room_id, responder)
                    for body in ("!aide", QUESTION) if with_model else ("!aide",):
                        results[(body, label)] = await side_by_side(human, rooms, body, count, answer_file)
                rss = psutil.Process(bot_process.pid).memory_info().rss / 2**20
            finally:
                await human.stop()
        finally:
            await stop(bot_process)
            for process in echo_processes:
                await stop(process)
            synapse.stop()
    print(
        f"Aller-retour message → réponse, {count} messages par salon après {WARM_UP} d'échauffement, le bot et ses "
        "planchers en alternance : un bot nio nu qui répond en écho d'une ligne (plancher), et le même qui répond "
        "la dernière réponse du bot, même texte, même mise en forme, en réponse et en mention comme elle (même réponse)"
    )
    print("(cibles : médiane < 150 ms, p95 < 300 ms ; `!aide` ≤ 1,05 × le plancher, une question ≤ plancher + 25 ms)")
    for (body, label), timings in results.items():
        bot_median = statistics.median(timings["bot"])
        print(f"  {body} — {label}")
        for name, values in timings.items():
            print(
                f"    {name:12s} médiane {statistics.median(values):6.1f} ms   p95 {percentile(values, 0.95):6.1f} ms"
                f"   max {max(values):6.1f} ms"
            )
        for floor in FLOORS:
            floor_median = statistics.median(timings[floor])
            print(
                f"    bot / {floor} : {bot_median / floor_median:.2f} × ({bot_median - floor_median:+.1f} ms en médiane)"
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
        help="load the default search model (issue 3's memory figure, and a question's round trip) instead of none",
    )
    arguments = parser.parse_args()
    asyncio.run(main(arguments.messages, arguments.with_model))
