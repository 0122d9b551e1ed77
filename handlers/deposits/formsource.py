"""Which form applies right now: the form loaded and checked at start, with today's tribes.

Tribes are rooms, so they can change while the bot runs; the file itself is read once, by the
composition root (and by check-config), so a broken form file stops start-up instead of
surprising a member at their first !deposer. Both are steps of a unit of work
(`form = await ctx.work(form_for, services)`): the tribes are read from the database.
"""

from __future__ import annotations

from sqlmodel import Session

from handlers.context import Services
from handlers.deposits.form import FormDef
from handlers.text import fold_for_matching
from storage.rooms import rooms_of_kind


def form_for(session: Session, services: Services) -> FormDef:
    if services.deposit_form is None:
        raise RuntimeError("the deposit form is loaded by the composition root")
    return services.deposit_form.with_tribes(tribe_names(session, services))


def tribe_names(session: Session, services: Services) -> list[str]:
    """Tribe rooms from the config and from the database (rooms classified at run time)."""
    names = [room.name for room in services.config.rooms if room.kind == "tribe" and room.name]
    names += [room.name for room in rooms_of_kind(session, "tribe") if room.name]
    unique: dict[str, str] = {}
    for name in names:
        unique.setdefault(fold_for_matching(name), name)
    return list(unique.values())
