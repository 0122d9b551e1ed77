"""The rooms and members the question tests play in, on the whole bot (tests/unit/running_app.py):
a tribe room, a confidential peer group, the facilitators' room; Ana a member, Fanny a facilitator."""

from __future__ import annotations

from bot.app import BotApp
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
