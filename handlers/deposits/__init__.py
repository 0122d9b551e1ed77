"""Project deposits (« déposer un projet à la Manufacture »): a conversational form whose state
is saved after every step, numbered deposits, facilitators' follow-up and export.

The lead wires: register(registry) at start, check_idle_drafts(services) from the scheduler,
and register_cli(subparsers) from handlers.deposits.cli in bot/cli.py.
"""

from __future__ import annotations

from handlers.deposits.conversation import (
    ANNULER,
    DEPOSER,
    REPRENDRE,
    form_listener,
    on_poll_vote,
    on_recap_reaction,
)
from handlers.deposits.facilitation import DEPOT, DEPOTS, MES_DEPOTS
from handlers.deposits.idle import check_idle_drafts
from handlers.deposits.machine import POLL_TAG
from handlers.deposits.sharing import PARTAGER
from handlers.registry import CommandRegistry

__all__ = ["check_idle_drafts", "register"]

# In the order the help lists them.
COMMANDS = (DEPOSER, REPRENDRE, ANNULER, MES_DEPOTS, PARTAGER, DEPOTS, DEPOT)


def register(registry: CommandRegistry) -> None:
    for command in COMMANDS:
        registry.add(command)
    # Listeners run before commands: inside a form's thread, !retour, !passer, !aide… are the form's.
    registry.add_listener("deposits", form_listener)
    registry.add_reaction_handler("deposit-recap:", on_recap_reaction)
    registry.add_poll_handler(POLL_TAG + ":", on_poll_vote)
