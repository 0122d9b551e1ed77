"""[[rooms]]: which room is what, and the words that name groups of rooms in config and commands."""

from __future__ import annotations

from dataclasses import dataclass

from config.reader import TomlReader

ROOM_KINDS = ("tribe", "peer_group", "facilitators")
PEER_ROLES = ("elus", "agents", "etat", "acteurs")
# Room targets as written in config and commands: these words, a room id (!…) or an alias (#…).
TARGET_KINDS = {
    "tribus": ("tribe",),
    "pairs": ("peer_group",),
    "animation": ("facilitators",),
    "tous": ("tribe", "peer_group"),
}


@dataclass(frozen=True)
class RoomConfig:
    kind: str
    name: str
    id: str | None = None
    alias: str | None = None
    role: str | None = None


def parse_room(r: TomlReader) -> RoomConfig:
    room_id, alias = r.get("id", str, None), r.get("alias", str, None)
    if not room_id and not alias:
        raise r.fail("id", "il faut « id » (!…) ou « alias » (#…)")
    if room_id and not room_id.startswith("!"):
        raise r.fail("id", "un identifiant de salon commence par « ! »")
    if alias and not alias.startswith("#"):
        raise r.fail("alias", "un alias de salon commence par « # »")
    kind = r.get("kind", str, required=True)
    if kind not in ROOM_KINDS:
        raise r.fail("kind", f"« {kind} » : valeurs possibles {', '.join(ROOM_KINDS)}")
    role = r.get("role", str, None)
    if kind == "peer_group" and role not in PEER_ROLES:
        raise r.fail("role", f"obligatoire pour un groupe de pairs : {', '.join(PEER_ROLES)}")
    config = RoomConfig(kind=kind, name=r.get("name", str, alias or room_id or ""), id=room_id, alias=alias, role=role)
    r.no_unknown_keys()
    return config


def room_targets(reader: TomlReader, name: str) -> tuple[str, ...]:
    """A list of room targets (« tous », « tribus »…, « !id », « #alias »), checked."""
    targets = reader.strings(name, ("tous",))
    for target in targets:
        if target not in TARGET_KINDS and target[:1] not in "!#":
            raise reader.fail(
                name,
                f"« {target} » n'est ni tous/tribus/pairs/animation, ni un identifiant (!…) ou alias (#…) de salon",
            )
    return targets
