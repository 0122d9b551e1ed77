"""Room targets: how commands and configuration name rooms, and which rooms that means now.

Targets are stored as written ("tribus", "!id:server", "#alias:server") and resolved when a
message goes out, so a tribe room created after a reminder was scheduled still receives it.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable

from sqlmodel import Session

from config import TARGET_KINDS, Config
from handlers.context import RoomInfo
from handlers.replies import UserError
from handlers.text import quote
from knowledge.folding import fold_accents
from storage.rooms import room_ids_of_kinds

# What people type for the same thing.
_SYNONYMS = {
    "tribu": "tribus",
    "tribus": "tribus",
    "pair": "pairs",
    "pairs": "pairs",
    "groupes-de-pairs": "pairs",
    "animation": "animation",
    "animateurs": "animation",
    "animatrices": "animation",
    "tous": "tous",
    "tout": "tous",
    "toutes": "tous",
}
# The room kind whose messages !agenda shows, per target word.
_KIND_OF_TARGET = {target: set(kinds) for target, kinds in TARGET_KINDS.items()}

# Alias -> room id, or None when unknown; may be a coroutine function (a homeserver lookup).
AliasResolver = Callable[[str], "str | Awaitable[str | None] | None"]


def parse_targets(text: str) -> tuple[str, ...]:
    """'tribus, #atelier:exemple.org' -> ('tribus', '#atelier:exemple.org'); UserError otherwise."""
    targets: list[str] = []
    for word in re.split(r"[,\s]+", text.strip()):
        if not word:
            continue
        if word[0] in "!#":
            if not re.fullmatch(r"[!#][^:\s]+:\S+", word):
                raise UserError(
                    f"« {quote(word)} » n'est pas un salon valide : un identifiant ressemble à "
                    "!abc:serveur et un alias à #nom:serveur."
                )
            target = word
        else:
            target = _SYNONYMS.get(fold_accents(word))
            if target is None:
                raise UserError(
                    f"Salon « {quote(word)} » inconnu. Indiquez tous, tribus, pairs, animation, "
                    "un alias (#nom:serveur) ou un identifiant (!abc:serveur), séparés par des virgules."
                )
        if target not in targets:
            targets.append(target)
    if not targets:
        raise UserError("Aucun salon indiqué après « -> ».")
    return tuple(targets)


def split_targets(args: str, default: tuple[str, ...] = ("tous",)) -> tuple[str, tuple[str, ...]]:
    """'texte -> tribus, pairs' -> ('texte', ('tribus', 'pairs')). The last '->' wins, so a message
    may itself contain an arrow."""
    if "->" not in args:
        return args.strip(), default
    message, _, targets = args.rpartition("->")
    return message.strip(), parse_targets(targets)


async def resolve_aliases(
    targets: Iterable[str], config: Config, resolve_alias: AliasResolver | None
) -> dict[str, str | None]:
    """Room ids for the aliases among ``targets``: the configuration's mapping first (no network),
    then ``resolve_alias`` (e.g. the bot's directory asking the homeserver)."""
    known = {room.alias: room.id for room in config.rooms if room.alias and room.id}
    resolved: dict[str, str | None] = {}
    for target in targets:
        if not target.startswith("#") or target in resolved:
            continue
        room_id = known.get(target)
        if room_id is None and resolve_alias is not None:
            answer = resolve_alias(target)
            room_id = await answer if inspect.isawaitable(answer) else answer
        resolved[target] = room_id
    return resolved


def resolve_targets(
    targets: Iterable[str], session: Session, aliases: dict[str, str | None]
) -> tuple[list[str], list[str]]:
    """Room ids for the targets now, in a stable order, and the targets that match no room.
    ``aliases`` comes from resolve_aliases()."""
    room_ids: list[str] = []
    unresolved: list[str] = []
    for target in targets:
        if target in TARGET_KINDS:
            found = room_ids_of_kinds(session, TARGET_KINDS[target])
        elif target.startswith("#"):
            room_id = aliases.get(target)
            found = [room_id] if room_id else []
        else:
            found = [target]
        if not found:
            unresolved.append(target)
        room_ids.extend(r for r in found if r not in room_ids)
    return room_ids, unresolved


def shown_in_room(targets: Iterable[str], room: RoomInfo, config: Config) -> bool:
    """Whether an event aimed at these targets belongs in this room's !agenda.

    A direct chat, or a room not classified yet, sees every event: someone asking the bot
    privately wants the whole agenda.
    """
    if room.is_direct or room.kind is None:
        return True
    aliases = {r.alias for r in config.rooms if r.id == room.room_id and r.alias}
    for target in targets:
        if target == room.room_id or target in aliases:
            return True
        if room.kind in _KIND_OF_TARGET.get(target, ()):
            return True
    return False
