"""A sample context for every shipped template, so a test can render each one."""
from types import SimpleNamespace

from handlers.context import RoomInfo
from handlers.registry import Command


async def _noop(ctx):
    return None


_COMMAND = Command(name="aide", handler=_noop, usage="aide [commande]", help="Affiche l'aide.", aliases=("help",))

SAMPLES = {
    "help/overview.md.j2": {"prefix": "!", "sections": [("Général", [_COMMAND])],
                            "room": RoomInfo(room_id="!r:x", kind="tribe", name="Alimentation"),
                            "is_facilitator": False},
    "help/command.md.j2": {"prefix": "!", "command": _COMMAND},
    "rooms/unencrypted_warning.md.j2": {"name": "Pairs — agents"},
    "rooms/unencrypted_alert.md.j2": {"name": "Pairs — agents"},
}
