"""Lateness of reminders that all fall due in the same minute: 1,000 reminders across 100 rooms
of a real Synapse (rate limits lifted), posted by the bot's real scheduler and sender.

Lateness = the server's timestamp of the posted message minus the reminder's due time.
Run: .venv/bin/python -m bench.reminder_lateness [--rooms 100] [--per-room 10]
Target (issue 5): p95 under 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

from bench.roundtrip import percentile
from bot.app import build_app
from bot.devtools.local_synapse import LocalSynapse
from bot.devtools.person import ScriptedPerson
from config import parse_config

LEAD_SECONDS = 20


def delivered(events) -> int:
    return sum(len(re.findall(r"Rappel n°(\d+)", e.body)) for e in events)


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


async def main(rooms: int, per_room: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        synapse = LocalSynapse(tmp / "synapse").start()
        assert synapse.process is not None  # start() returns once the server answers
        synapse_pid = synapse.process.pid
        try:
            bot = synapse.register("bot")
            human = await ScriptedPerson(synapse.url, synapse.register("human"), tmp / "human").start()
            room_ids = [await human.create_room(f"Tribu {n}", invite=(bot.user_id,)) for n in range(rooms)]
            config = parse_config(
                {
                    "matrix": {"homeserver": synapse.url, "user_id": bot.user_id, "password": bot.password},
                    "bot": {"data_dir": str(tmp / "data"), "log_level": "WARNING"},
                    "access": {"allowed_inviters": ["@human:localhost"], "facilitators": ["@human:localhost"]},
                    "rooms": [
                        {"id": room_id, "kind": "tribe", "name": f"Tribu {n}"} for n, room_id in enumerate(room_ids)
                    ],
                },
                tmp / "config.toml",
            )
            app = build_app(config)
            await app.start()
            sync = asyncio.create_task(app.matrix.sync_forever())
            try:
                for room_id in room_ids:
                    await human.wait_joined(room_id, bot.user_id, timeout=120)
                due = datetime.now(UTC) + timedelta(seconds=LEAD_SECONDS)
                cpu_before = cpu_seconds(synapse_pid), cpu_seconds(os.getpid())
                started = time.perf_counter()
                for room_id in room_ids:
                    for n in range(per_room):
                        await app.reminders.schedule_manual(f"Rappel n°{n}", due, (room_id,), "@human:localhost")
                planning = time.perf_counter() - started
                total = rooms * per_room
                await human.wait_until(
                    lambda: delivered(human.messages(sender=bot.user_id)) >= total,
                    timeout=LEAD_SECONDS + 300,
                    what=f"{total} reminders",
                )
                cpu_synapse = cpu_seconds(synapse_pid) - cpu_before[0]
                cpu_bot = cpu_seconds(os.getpid()) - cpu_before[1]
                await asyncio.sleep(2)
                received = human.messages(sender=bot.user_id)
                # One entry per reminder: a digest carries several, each as late as its message.
                items = [
                    (human.room_of[e.event_id], n, e.server_timestamp / 1000 - due.timestamp())
                    for e in received
                    for n in re.findall(r"Rappel n°(\d+)", e.body)
                ]
                lateness = [late for _, _, late in items]
            finally:
                sync.cancel()
                await app.close()
                await human.stop()
        finally:
            synapse.stop()
    print(f"{total} rappels dus à la même seconde dans {rooms} salons (cible : p95 du retard < 5 s)")
    print(f"  planification : {planning * 1000:.0f} ms pour {total} rappels (lignes + tâches)")
    print(
        f"  messages reçus : {len(received)} ; rappels reçus : {len(items)} "
        f"(doublons : {len(items) - len({(room, n) for room, n, _ in items})})"
    )
    print(
        f"  retard : médiane {statistics.median(lateness):.2f} s   p95 {percentile(lateness, 0.95):.2f} s"
        f"   min {min(lateness):.2f} s   max {max(lateness):.2f} s"
    )
    print(f"  CPU pendant la salve : Synapse {cpu_synapse:.1f} s, bot et client de test {cpu_bot:.1f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--per-room", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(main(args.rooms, args.per_room))
