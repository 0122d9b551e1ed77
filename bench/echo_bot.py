"""The floor of the round trip (bench/roundtrip.py): a bare matrix-nio bot that joins when invited and
answers every message with a notice, in plain and encrypted rooms alike. It does what any bot must
(sync, decrypt, encrypt, send) and nothing else: the bot's figure minus this one is what the bot's
own work costs. It runs as its own process, as the bot does.

Given ANSWER_FILE, it answers with the content that file holds when the message comes (the bench writes
the bot's own last answer there), its body behind the echo's mark, replying to and mentioning the message
and its sender when the bot's answer did: the floor of sending that answer, whose size and relations
Synapse and the person's client pay for whoever sends it (a 4 KB `!aide` costs them about 10 ms more than a
one-line echo in a plain room, where Synapse indexes the text and reads the mention).

Run: .venv/bin/python -m bench.echo_bot HOMESERVER USER_ID PASSWORD STORE_DIR [ANSWER_FILE]
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    Event,
    LoginResponse,
    MatrixRoom,
    Response,
    RoomMessageText,
    SyncResponse,
)
from nio.store import SqliteStore

# What the echo starts its answers with: the round trip waits for it.
ECHO = "écho : "


def answer_to(event_id: str, sender: str, body: str, answer_file: Path | None) -> dict[str, Any]:
    """The echo's content: the file's, if there is one, else the message's own body."""
    if answer_file is None or not answer_file.exists():
        return {"msgtype": "m.notice", "body": ECHO + body}
    kept = json.loads(answer_file.read_text())
    content: dict[str, Any] = {key: kept[key] for key in ("format", "formatted_body") if key in kept}
    content.update(msgtype="m.notice", body=ECHO + kept.get("body", ""))
    if "m.relates_to" in kept:
        # The same relation (a reply, a thread), to this message.
        content["m.relates_to"] = _pointing_at(kept["m.relates_to"], event_id)
    if "m.mentions" in kept:
        content["m.mentions"] = {"user_ids": [sender]}
    return content


def _pointing_at(relation: Any, event_id: str) -> Any:
    if isinstance(relation, dict):
        return {
            key: event_id if key == "event_id" else _pointing_at(value, event_id) for key, value in relation.items()
        }
    return relation


async def main(homeserver: str, user_id: str, password: str, store: Path, answer_file: Path | None = None) -> None:
    client = AsyncClient(
        homeserver,
        user_id,
        store_path=str(store),
        config=AsyncClientConfig(store=SqliteStore, encryption_enabled=True, store_sync_tokens=True),
    )
    answer = await client.login(password, device_name="echo")
    if not isinstance(answer, LoginResponse):
        raise SystemExit(f"echo bot: login refused: {answer}")
    if client.should_upload_keys:
        await client.keys_upload()
    # History is not answered, as the bot does not answer it.
    await client.sync(timeout=0, full_state=True)

    async def on_sync(response: Response) -> None:
        if isinstance(response, SyncResponse):
            for room_id in response.rooms.invite:
                await client.join(room_id)

    async def on_message(room: MatrixRoom, event: Event) -> None:
        if isinstance(event, RoomMessageText) and event.sender != user_id:
            content = answer_to(event.event_id, event.sender, event.body, answer_file)
            await client.room_send(room.room_id, "m.room.message", content, ignore_unverified_devices=True)

    # nio annotates the callback as a coroutine object where it takes (and calls) a coroutine function.
    client.add_response_callback(on_sync, SyncResponse)  # type: ignore[arg-type]
    client.add_event_callback(on_message, RoomMessageText)
    try:
        await client.sync_forever(timeout=30000, full_state=True)
    finally:
        await client.close()


if __name__ == "__main__":
    homeserver, user_id, password, store = sys.argv[1:5]
    Path(store).mkdir(parents=True, exist_ok=True)
    answer_file = Path(sys.argv[5]) if len(sys.argv) > 5 else None
    asyncio.run(main(homeserver, user_id, password, Path(store), answer_file))
