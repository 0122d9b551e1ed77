"""!salon: a facilitator declares what kind of room this is; a peer group is confidential."""

import pytest

from bot.rendering import Renderer, build_template_environment
from handlers import rooms
from handlers.context import CommandContext, Message, RoomInfo
from handlers.registry import CommandRegistry
from handlers.replies import Post, UserError
from handlers.rooms import parse_room_kind
from storage.rooms import RoomRecord, facilitators_room_id
from tests.unit.conftest import loose_unit

RENDERER = Renderer(build_template_environment())


@pytest.mark.parametrize(
    ("args", "kind"),
    [
        ("tribu Alimentation durable", ("tribe", "Alimentation durable", None)),
        ("Tribe Énergie", ("tribe", "Énergie", None)),
        ("pairs élus", ("peer_group", "Pairs — élus", "elus")),
        ("pairs État territorial", ("peer_group", "Pairs — État territorial", "etat")),
        ("groupe-de-pairs acteur", ("peer_group", "Pairs — acteurs socio-économiques", "acteurs")),
        ("animation", ("facilitators", "Animation", None)),
        ("facilitateurs Équipe", ("facilitators", "Équipe", None)),
    ],
)
def test_what_facilitators_type_names_a_kind(args, kind):
    assert parse_room_kind(args) == kind


@pytest.mark.parametrize(
    ("args", "explanation"),
    [
        ("tribu", "Il manque le nom de la tribu"),
        ("pairs maires", "Indiquez le rôle du groupe de pairs"),
        ("cuisine", "Je n'ai pas compris. Utilisation : `!salon tribu <nom> | salon pairs"),
    ],
)
def test_a_kind_not_understood_is_explained(args, explanation):
    with pytest.raises(UserError) as raised:
        parse_room_kind(args)
    assert explanation in str(raised.value)


@pytest.fixture
def salon(make_services):
    """`!salon <args>` typed by a facilitator in `room`: the replies, rendered."""
    registry = CommandRegistry()
    rooms.register(registry)
    services = make_services()

    async def say(args: str, room: RoomInfo) -> list[tuple[str | None, str]]:
        ctx = CommandContext(
            message=Message(room=room, event_id="$e", sender="@fanny:t", body=f"!salon {args}"),
            services=services,
            is_facilitator=True,
            command="salon",
            args=args,
            work=loose_unit(services.units.db),
        )
        replies = await registry.find("salon").handler(ctx)
        return [(reply.room_id, RENDERER.render(reply).plain) for reply in replies]

    say.db = services.units.db
    return say


async def test_a_room_declared_is_stored_with_its_kind(salon):
    [(room_id, text)] = await salon("tribu Alimentation", RoomInfo("!a:t", None, "Salon A"))
    assert room_id is None and text == "C'est noté : ce salon est désormais la tribu « Alimentation »."
    with salon.db.session() as session:
        record = session.get(RoomRecord, "!a:t")
        assert (record.kind, record.name, record.role) == ("tribe", "Alimentation", None)
    # Declared again, it changes kind.
    await salon("animation", RoomInfo("!a:t", "tribe", "Alimentation"))
    with salon.db.session() as session:
        assert session.get(RoomRecord, "!a:t").kind == "facilitators" and facilitators_room_id(session) == "!a:t"


async def test_there_is_one_facilitators_room(salon):
    await salon("animation Équipe", RoomInfo("!fac:t", None, ""))
    with pytest.raises(UserError) as raised:
        await salon("animation", RoomInfo("!other:t", None, ""))
    assert "Le salon d'animation est déjà « Équipe »" in str(raised.value)
    with salon.db.session() as session:
        assert facilitators_room_id(session) == "!fac:t" and session.get(RoomRecord, "!other:t") is None


async def test_an_unencrypted_peer_group_is_warned_and_the_facilitators_learn_only_its_name(salon):
    await salon("animation", RoomInfo("!fac:t", None, ""))
    [(_, noted), (here, warning), (there, alert)] = await salon("pairs agents", RoomInfo("!peers:t", None, ""))
    assert noted == "C'est noté : ce salon est désormais le groupe de pairs des agents."
    assert here is None and "Ce salon n'est pas chiffré" in warning
    assert there == "!fac:t" and "Pairs — agents" in alert and "non chiffré" in alert
    with salon.db.session() as session:
        assert session.get(RoomRecord, "!peers:t").warned_unencrypted  # said once: the room directory won't repeat it


async def test_an_encrypted_peer_group_is_told_it_is_confidential(salon):
    await salon("animation", RoomInfo("!fac:t", None, ""))
    [_, (here, text)] = await salon("pairs élus", RoomInfo("!peers:t", None, "", encrypted=True))
    assert here is None and "Ce groupe de pairs est confidentiel" in text
    with salon.db.session() as session:
        assert not session.get(RoomRecord, "!peers:t").warned_unencrypted


def introduce(kind: str | None, *, is_direct: bool = False, prefix: str = "!") -> str:
    room = RoomInfo(room_id="!r:x", kind=kind, name="Alimentation", is_direct=is_direct)
    reply = rooms.introduction(room, "Manufacture")
    assert reply.tag == rooms.INTRODUCTION_TAG and isinstance(reply.to, Post) and reply.to.room_id == "!r:x"
    return Renderer(build_template_environment(), command_prefix=prefix).render(reply).plain


@pytest.mark.parametrize("kind", ["tribe", "peer_group", "facilitators", None])
def test_an_introduction_says_how_to_address_the_bot_with_the_configured_prefix(kind):
    text = introduce(kind, prefix="?")
    assert "?aide" in text and "!aide" not in text
    assert "mention" in text and "réponse à l'un de mes messages" in text
    assert len(text) < 700, "one short introduction"


def test_each_room_kind_gets_its_own_introduction():
    tribe, peers, team, unknown = (introduce(k) for k in ("tribe", "peer_group", "facilitators", None))
    direct = introduce(None, is_direct=True)
    assert "tribu « Alimentation »" in tribe and "!deposer" in tribe
    assert "ce qui se dit ici reste ici" in peers and "reste ici" not in tribe
    assert "!questions" in team and "!diffuser" in team and "!questions" not in tribe
    assert "!salon" in unknown and "!salon" not in tribe
    assert "conversation privée" in direct and "sans commande" in direct and "mention" not in direct


def test_a_tribe_room_named_tribu_is_not_called_tribu_twice():
    room = RoomInfo(room_id="!r:x", kind="tribe", name="Tribu Alimentation")
    text = RENDERER.render(rooms.introduction(room, "Manufacture")).plain
    assert "dans « Tribu Alimentation »" in text and "tribu « Tribu" not in text
