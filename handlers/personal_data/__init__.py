"""A member's personal data: see it and take it (`!mes-donnees`), erase it (`!oublier`); the same from
the command line for a request received outside Matrix (`manufacture-bot personal-data`)."""

from __future__ import annotations

from handlers.personal_data.chat import FORGET_TAG, MES_DONNEES, OUBLIER, forget_listener, on_forget_reaction
from handlers.registry import CommandRegistry


def register(registry: CommandRegistry) -> None:
    # Before the deposit form's and the offers' listeners: an answer to the erasure's question is its own,
    # even while a form is open in the same direct chat.
    registry.add_listener("forget-request", forget_listener)
    registry.add_reaction_handler(FORGET_TAG + ":", on_forget_reaction)
    registry.add(MES_DONNEES)
    registry.add(OUBLIER)
