"""Notices for the facilitators' room: a feed down or back, a reminder not delivered, a reminder
whose author lost facilitator rights.

The room is the one recorded in the database (rooms of the configuration are recorded at start).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from handlers.context import Services
from handlers.replies import Post, Reply
from storage.rooms import facilitators_room_id
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


async def notify_facilitators(
    services: Services,
    template: str,
    context: Mapping[str, object],
    txn_key: str,
    *,
    work: UnitOfWork | None = None,
) -> None:
    """Posts the notice; a failure is logged, never raised, since the reminders go on without it.
    `work`: the unit of the firing or event that has something to tell (else one of its own)."""
    room_id = await (work or services.units.run)(facilitators_room_id)
    if room_id is None:
        log.warning("no facilitators' room known for notice %s", txn_key)
        return
    try:
        posted = await services.post(
            Reply(template=template, context=dict(context), to=Post(room_id), txn_key=txn_key, tag="agenda-notice")
        )
    except Exception:
        log.exception("notice %s could not be posted", txn_key)
        posted = None
    if posted is None:
        log.warning("notice %s could not be posted to the facilitators' room", txn_key)
