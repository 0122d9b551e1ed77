"""Notices go to the facilitators' room recorded in the database, or nowhere."""

from __future__ import annotations

import logging

from handlers.agenda.notices import notify_facilitators
from storage.rooms import RoomRecord
from tests.unit.handlers.agenda.harness import FACILITATORS


async def test_a_notice_goes_to_the_recorded_facilitators_room(harness):
    services = harness.service().services
    await notify_facilitators(services, "agenda/feed_back.md.j2", {"feed": "Framagenda"}, "feed-back-1")
    [(room, key, text)] = harness.poster.attempts
    assert (room, key) == (FACILITATORS, "feed-back-1") and "Framagenda" in text
    assert harness.poster.tags == ["agenda-notice"]


async def test_without_a_recorded_facilitators_room_a_notice_is_dropped_with_a_warning(harness, caplog):
    with harness.db.session() as session:
        session.delete(session.get(RoomRecord, FACILITATORS))
    with caplog.at_level(logging.WARNING, logger="handlers.agenda.notices"):
        await notify_facilitators(harness.service().services, "agenda/feed_back.md.j2", {"feed": "F"}, "feed-back-2")
    assert harness.poster.attempts == []
    assert "no facilitators' room known for notice feed-back-2" in caplog.text
