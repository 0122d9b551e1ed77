"""A room the bot joins is checked off the sync that brings it: an unencrypted peer group's alert goes to
the facilitators' room, which may come a sync later (two invitations accepted a moment apart)."""

from __future__ import annotations

import asyncio

from bot.devtools.fake_homeserver import sync_once
from tests.unit.stand_ins import ANA, FANNY

PEERS, ANIMATION = "!peers:h", "!animation:h"
ROOMS = [
    {"id": PEERS, "kind": "peer_group", "name": "Pairs élus", "role": "elus"},
    {"id": ANIMATION, "kind": "facilitators", "name": "Animation"},
]


async def test_the_alert_waits_for_the_facilitators_room_without_holding_the_sync_that_brings_it(make_test_app):
    async with make_test_app(members={}, rooms=ROOMS) as app:
        app.homeserver.room(PEERS, [ANA])
        # The sync that brings the peer group returns at once, its room check still under way…
        async with asyncio.timeout(2):
            await sync_once(app.app)
        # …so that the next one brings the facilitators' room the alert waits for.
        app.homeserver.room(ANIMATION, [FANNY])
        await app.settle()
        warning = next(s for s in app.sent if s.room_id == PEERS)
        alert = next(s for s in app.sent if s.room_id == ANIMATION)
        assert "pas chiffré" in warning.content["body"]
        assert "Pairs élus" in alert.content["body"] and "non chiffré" in alert.content["body"]
