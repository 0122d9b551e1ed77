"""Which room is what — kinds from the config and from chat, kept in the database — and who the
facilitators are: listed in the config, or holding power (or a creator's rights) in their room."""

from __future__ import annotations

import logging

from nio import MatrixRoom, RoomGetStateResponse, RoomResolveAliasError, RoomResolveAliasResponse

from bot import room_directory
from bot.room_directory import RoomDirectory
from storage.rooms import RoomRecord, facilitators_room_id

BOT = "@bot:h"
TRIBE, PEERS, MOBILITY, FAC, DM = "!tribe:h", "!peers:h", "!mobilite:h", "!fac:h", "!dm:h"


class Homeserver:
    """What the directory asks of nio's client: its view of the rooms, alias lookups, room state."""

    def __init__(self) -> None:
        self.rooms: dict[str, MatrixRoom] = {}
        self.aliases: dict[str, str] = {}
        self.create_events: dict[str, dict] = {}
        self.state_requests: list[str] = []

    def join(
        self,
        room_id: str,
        *,
        name: str | None = None,
        encrypted: bool = False,
        levels: dict[str, int] | None = None,
        members: tuple[str, ...] | None = None,
        invited: tuple[str, ...] = (),
    ) -> None:
        """The bot's view of a room it is in; `members` (joined) default to everyone with a level."""
        room = MatrixRoom(room_id, BOT, encrypted=encrypted)
        room.name = name
        room.power_levels.users.update(levels or {})
        for user_id in (*(members if members is not None else tuple(levels or ())), BOT):
            room.add_member(user_id, None, None)
        for user_id in invited:
            room.add_member(user_id, None, None, invited=True)
        self.rooms[room_id] = room

    async def room_resolve_alias(self, alias: str):
        if alias not in self.aliases:
            return RoomResolveAliasError("Room alias not found", "M_NOT_FOUND")
        return RoomResolveAliasResponse(alias, self.aliases[alias], ["h"])

    async def room_get_state(self, room_id: str):
        self.state_requests.append(room_id)
        return RoomGetStateResponse([self.create_events[room_id]], room_id)


def declare(db, room_id: str, kind: str, name: str = "") -> None:
    """A kind given in chat (`!salon`), as it is stored."""
    with db.session() as session:
        session.add(RoomRecord(room_id=room_id, kind=kind, name=name))


async def test_config_kinds_are_stored_by_id_or_alias_and_a_kind_set_in_chat_stays(make_config, db, units, caplog):
    config = make_config(
        rooms=[
            {"id": TRIBE, "kind": "tribe", "name": "Alimentation"},
            {"alias": "#pairs:h", "kind": "peer_group", "role": "elus", "name": "Pairs élus"},
            {"alias": "#disparu:h", "kind": "tribe"},
        ]
    )
    server = Homeserver()
    server.aliases["#pairs:h"] = PEERS
    declare(db, MOBILITY, "tribe", "Mobilité")  # a room the config does not list
    declare(db, TRIBE, "facilitators", "Ancien nom")  # a room the config lists otherwise
    directory = RoomDirectory(config, units, server)
    with caplog.at_level(logging.WARNING, logger="bot.room_directory"):
        await directory.apply_config()
    tribe, peers, mobility = await directory.info(TRIBE), await directory.info(PEERS), await directory.info(MOBILITY)
    assert (tribe.kind, tribe.name, tribe.confidential) == ("tribe", "Alimentation", False)
    assert (peers.kind, peers.name, peers.role, peers.confidential) == ("peer_group", "Pairs élus", "elus", True)
    assert (mobility.kind, mobility.name) == ("tribe", "Mobilité")
    assert [r.getMessage() for r in caplog.records] == ["Room alias #disparu:h could not be resolved; skipped"]


async def test_a_room_without_a_kind_is_named_by_matrix_and_a_direct_chat_known_by_its_invitation(
    make_config, db, units
):
    server = Homeserver()
    server.join("!nouveau:h", name="Nouveau salon", encrypted=True)
    server.join(DM, encrypted=True)
    directory = RoomDirectory(make_config(), units, server)
    new = await directory.info("!nouveau:h")
    assert (new.kind, new.name, new.encrypted, new.is_direct, new.confidential) == (
        None,
        "Nouveau salon",
        True,
        False,
        False,
    )
    assert (await directory.info("!inconnu:h")).name == "!inconnu:h"
    await units.run(RoomDirectory.mark_direct, DM)
    assert (await directory.info(DM)).is_direct and (await directory.info(DM)).confidential
    # A room a facilitator declared is of that kind, whatever its invitation said.
    with db.session() as session:
        record = session.get(RoomRecord, DM)
        record.kind = "tribe"
        session.add(record)
    assert not (await directory.info(DM)).is_direct


async def test_facilitators_listed_in_the_config_by_id_or_pattern(make_config, db, units):
    config = make_config(access={"facilitators": ["@ana:h", "@*:animation.example"]})
    directory = RoomDirectory(config, units, Homeserver())
    assert directory.is_facilitator("@ana:h") and directory.is_facilitator("@leo:animation.example")
    assert not directory.is_facilitator("@bea:h")  # and there is no facilitators' room to look at


async def test_facilitators_by_power_level_in_the_facilitators_room_only(make_config, db, units):
    server = Homeserver()
    server.join(FAC, levels={"@mod:h": 50, "@membre:h": 49})
    server.join(TRIBE, levels={"@admin-tribu:h": 100})
    declare(db, FAC, "facilitators")
    declare(db, TRIBE, "tribe")
    directory = RoomDirectory(make_config(), units, server)
    # Rights are read from the facilitators' room the directory last read (at start, after each message).
    assert not directory.is_facilitator("@mod:h")
    await directory.refresh()
    assert directory.is_facilitator("@mod:h")
    assert not directory.is_facilitator("@membre:h") and not directory.is_facilitator("@admin-tribu:h")
    lower = RoomDirectory(make_config(access={"facilitator_power_level": 40}), units, server)
    await lower.refresh()
    assert lower.is_facilitator("@membre:h")


async def test_a_facilitator_must_be_joined_to_the_facilitators_room(make_config, db, units):
    server = Homeserver()
    # Synapse keeps a kicked, banned or departed member's power-level entry: membership decides.
    server.join(
        FAC, levels={"@mod:h": 50, "@parti:h": 100, "@invite:h": 50}, members=("@mod:h",), invited=("@invite:h",)
    )
    declare(db, FAC, "facilitators")
    directory = RoomDirectory(make_config(), units, server)
    await directory.refresh()
    assert directory.is_facilitator("@mod:h")
    assert not directory.is_facilitator("@parti:h") and not directory.is_facilitator("@invite:h")
    server.rooms[FAC].remove_member("@mod:h")  # a kick, a ban or a leave, as nio applies it
    assert not directory.is_facilitator("@mod:h")


async def test_a_listed_facilitator_must_be_joined_only_when_the_config_says_so(make_config, db, units):
    server = Homeserver()
    server.join(FAC, members=("@ana:h",))
    declare(db, FAC, "facilitators")
    loose = RoomDirectory(make_config(access={"facilitators": ["@ana:h", "@leo:h"]}), units, server)
    await loose.refresh()
    assert loose.is_facilitator("@ana:h") and loose.is_facilitator("@leo:h")
    strict = RoomDirectory(
        make_config(access={"facilitators": ["@ana:h", "@leo:h"], "listed_must_join": True}), units, server
    )
    await strict.refresh()
    assert strict.is_facilitator("@ana:h") and not strict.is_facilitator("@leo:h")
    server.rooms[FAC].remove_member("@ana:h")
    assert not strict.is_facilitator("@ana:h")


async def test_the_creators_of_the_facilitators_room_are_facilitators_once_its_state_is_read(make_config, db, units):
    server = Homeserver()
    # From room version 12, creators hold every right and are absent from power_levels.
    server.join(FAC, members=("@fondatrice:h", "@cofondateur:h", "@passant:h"))
    server.create_events[FAC] = {
        "type": "m.room.create",
        "sender": "@fondatrice:h",
        "state_key": "",
        "content": {"room_version": "12", "additional_creators": ["@cofondateur:h"]},
    }
    declare(db, FAC, "facilitators")
    directory = RoomDirectory(make_config(), units, server)
    await directory.refresh()
    assert not directory.is_facilitator("@fondatrice:h")
    await directory.remember_creator(FAC)
    await directory.remember_creator(FAC)
    assert directory.is_facilitator("@fondatrice:h") and directory.is_facilitator("@cofondateur:h")
    assert not directory.is_facilitator("@passant:h")
    assert server.state_requests == [FAC]  # the creators do not change: the state is read once


async def test_a_facilitators_salon_names_the_facilitators_room_and_a_members_message_reads_nothing(
    make_test_app, monkeypatch
):
    reads: list[str] = []

    def counted(session):
        reads.append("facilitators_room_id")
        return facilitators_room_id(session)

    monkeypatch.setattr(room_directory, "facilitators_room_id", counted)
    team, tribe = "!team:t", "!tribe:t"
    async with make_test_app(
        members={team: ["@fanny:t"], tribe: ["@ana:t", "@fanny:t"]},
        access={"facilitators": ["@fanny:t"]},
        rooms=[{"id": tribe, "kind": "tribe", "name": "Alimentation"}],
    ) as app:
        directory = app.app.directory
        assert directory.facilitators_room() is None
        before = len(reads)
        assert await app.say("@ana:t", tribe, "!aide")
        assert len(reads) == before  # a member's message cannot change it: not read again
        await app.say("@fanny:t", team, "!salon animation")
        assert directory.facilitators_room() == team and len(reads) == before + 1
