"""Which form applies right now: the configured file (parsed once per Services) with today's tribes.

Tribes are rooms, so they can change while the bot runs; the file itself is read only once,
in a thread, and cached in services.extras rather than in a module-level variable.
"""
from __future__ import annotations

import asyncio

from handlers.context import Services
from handlers.text import fold
from handlers.deposits.form import DEFAULT_FORM_PATH, FormDef, FormError, load_form
from handlers.replies import UserError
from storage.rooms import RoomRecord
from sqlmodel import select

_CACHE_KEY = "deposits.form"


async def form_for(services: Services) -> FormDef:
    path = services.config.deposits.form_path or DEFAULT_FORM_PATH
    cached = services.extras.get(_CACHE_KEY)
    if cached is None or cached[0] != str(path):
        try:
            form = await asyncio.to_thread(load_form, path)
        except FormError as exc:
            raise UserError(f"Le formulaire de dépôt est mal configuré, l'équipe d'animation doit le corriger "
                            f"({exc}).") from exc
        cached = (str(path), form)
        services.extras[_CACHE_KEY] = cached
    return cached[1].with_tribes(tribe_names(services))


def tribe_names(services: Services) -> list[str]:
    """Tribe rooms from the config and from the database (rooms classified at run time)."""
    names = [room.name for room in services.config.rooms if room.kind == "tribe" and room.name]
    with services.db.session() as session:
        names += [r.name for r in session.exec(select(RoomRecord).where(RoomRecord.kind == "tribe")) if r.name]
    unique: dict[str, str] = {}
    for name in names:
        unique.setdefault(fold(name), name)
    return list(unique.values())

