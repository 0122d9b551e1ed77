"""The rooms and members the question tests play in, on the whole bot (tests/unit/running_app.py):
a tribe room, a confidential peer group, the facilitators' room; Ana a member, Fanny a facilitator."""

from __future__ import annotations

from pathlib import Path

from bot.app import BotApp
from knowledge.embedders import Embedder
from storage.rooms import RoomRecord
from tests.unit.stand_ins import ANA, FANNY

TRIBE = "!tribe:h"
PEERS = "!peers:h"
FACILITATORS = "!fac:h"
ROOMS = [
    {"id": TRIBE, "kind": "tribe", "name": "Alimentation"},
    {"id": PEERS, "kind": "peer_group", "name": "Pairs — agents", "role": "agents"},
    {"id": FACILITATORS, "kind": "facilitators", "name": "Animation"},
]
MEMBERS = {TRIBE: [ANA, FANNY], PEERS: [ANA], FACILITATORS: [FANNY]}
OUT_OF_DOMAIN = "Quelle est la recette de la pâte à crêpes ?"


def peers_already_warned(app: BotApp) -> None:
    """The fake homeserver encrypts no room, so the bot would first warn the peer group that it is
    unencrypted (bot/matrix_bot.py, warn_if_unencrypted); as in an encrypted room, it says nothing."""
    with app.db.session() as session:
        session.add(RoomRecord(room_id=PEERS, warned_unencrypted=True))


def world(embedder: Embedder | None, data_dir: Path | None) -> dict[str, object]:
    """make_test_app's options for the bot in these rooms, searching the pack in `data_dir` with
    `embedder` (none: search is off)."""
    return {
        "members": MEMBERS,
        "rooms": ROOMS,
        "access": {"facilitators": [FANNY]},
        "prepare": peers_already_warned,
        "embedder": embedder,
        "data_dir": data_dir,
    }
