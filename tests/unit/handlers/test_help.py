"""!aide: generated from the registry, for this person in this room."""

import pytest

from bot.rendering import Renderer, build_template_environment
from handlers import help, rooms
from handlers.context import CommandContext, Message, RoomInfo
from handlers.help import FACILITATION
from handlers.registry import Command, CommandNeeding, CommandRegistry
from handlers.replies import Reply
from tests.unit.conftest import loose_unit

TRIBE = RoomInfo("!tribe:t", "tribe", "Alimentation")
FACILITATORS = RoomInfo("!fac:t", "facilitators", "Animation")
DIRECT = RoomInfo("!dm:t", None, "", is_direct=True)
RENDERER = Renderer(build_template_environment())


@pytest.fixture
def registry():
    registry = CommandRegistry()

    async def queue(ctx):
        return None

    # Registered first, shown last: the facilitators' tools come after what members use.
    registry.command(
        "questions",
        usage="questions",
        facilitators_only=True,
        room_kinds=("facilitators",),
        help="Liste les questions transmises.",
        section="Animation",
    )(queue)
    help.register(registry)
    rooms.register(registry)
    return registry


async def ask_help(registry, make_services, args="", room=TRIBE, is_facilitator=False) -> str:
    services = make_services()
    ctx = CommandContext(
        message=Message(room=room, event_id="$e", sender="@ana:t", body=f"!aide {args}".strip()),
        services=services,
        is_facilitator=is_facilitator,
        command="aide",
        args=args,
        work=loose_unit(services.units.db),
    )
    return RENDERER.render(await registry.find("aide").handler(ctx)).plain


async def test_a_member_sees_what_members_may_do_in_this_room(registry, make_services):
    text = await ask_help(registry, make_services)
    assert "(Alimentation)" in text and "!aide [commande]" in text
    assert "!salon" not in text and "!questions" not in text
    assert "me mentionner pour me poser une question" in text


async def test_a_facilitator_sees_their_tools_after_the_general_ones_and_only_where_they_work(registry, make_services):
    in_tribe = await ask_help(registry, make_services, is_facilitator=True)
    assert "!salon tribu <nom> | !salon pairs" in in_tribe and "!questions" not in in_tribe
    in_facilitators = await ask_help(registry, make_services, room=FACILITATORS, is_facilitator=True)
    lines = in_facilitators.splitlines()
    assert (
        lines.index("Général")
        < lines.index("Animation")
        < lines.index("- !questions — Liste les questions transmises.")
    )


async def test_in_a_direct_chat_a_question_needs_no_command(registry, make_services):
    assert "sans commande" in await ask_help(registry, make_services, room=DIRECT)


async def test_the_detail_of_one_command_with_or_without_its_prefix(registry, make_services):
    for args in ("salon", "!salon", "room"):
        text = await ask_help(registry, make_services, args)
        assert "Déclare le type de ce salon" in text and "Autres noms : !room" in text, args
        assert "Réservée à l'équipe d'animation." in text


async def test_an_unknown_command_gets_the_closest_one(registry, make_services):
    assert await ask_help(registry, make_services, "salom") == (
        "Je ne connais pas la commande « salom ». Vouliez-vous dire !salon ?"
    )
    assert await ask_help(registry, make_services, "xyzzy") == "Je ne connais pas la commande « xyzzy »."


async def greet(ctx):
    return Reply(text="Bonjour.")


async def count(counter: list[str], ctx):
    counter.append(ctx.args)
    return Reply(text=f"{len(counter)}")


# Declared beside their handlers, as a domain module does; the registry sees them only when added.
BONJOUR = Command(name="bonjour", handler=greet, usage="bonjour", help="Dit bonjour.", aliases=("salut",))
COMPTER = CommandNeeding(
    name="compter",
    handler=count,
    usage="compter <mot>",
    help="Compte les mots reçus.",
    facilitators_only=True,
    room_kinds=frozenset({"facilitators"}),
    section=FACILITATION,
)


async def test_a_declared_command_is_in_the_help_with_its_text_once_added(registry, make_services):
    assert await ask_help(registry, make_services, "bonjour") == "Je ne connais pas la commande « bonjour »."
    counter: list[str] = []
    registry.add(BONJOUR)
    registry.add(COMPTER.bind(counter))
    overview = await ask_help(registry, make_services)
    assert "- !bonjour — Dit bonjour." in overview.splitlines() and "!compter" not in overview
    lines = (await ask_help(registry, make_services, room=FACILITATORS, is_facilitator=True)).splitlines()
    assert lines.index("Animation") < lines.index("- !compter <mot> — Compte les mots reçus.")
    detail = await ask_help(registry, make_services, "salut")
    assert "Dit bonjour." in detail and "Autres noms : !salut" in detail
    assert await ask_help(registry, make_services, "compte") == (
        "Je ne connais pas la commande « compte ». Vouliez-vous dire !compter ?"
    )


async def test_a_command_needing_something_gets_it_when_bound(make_services):
    counter = ["déjà"]
    command = COMPTER.bind(counter)
    ctx = CommandContext(
        message=Message(room=FACILITATORS, event_id="$e", sender="@ana:t", body="!compter mot"),
        services=(services := make_services()),
        is_facilitator=True,
        work=loose_unit(services.units.db),
        command="compter",
        args="mot",
    )
    assert (await command.handler(ctx)).text == "2" and counter == ["déjà", "mot"]
    assert (command.name, command.usage, command.room_kinds) == ("compter", "compter <mot>", {"facilitators"})


async def test_privacy_help_says_what_is_kept_how_long_and_how_to_see_or_erase_it(make_test_app):
    from tests.unit.stand_ins import ANA, ROOM

    async with make_test_app(
        members={ROOM: [ANA]},
        rooms=[{"id": ROOM, "kind": "tribe", "name": "Alimentation"}],
        retention={"questions_days": 730, "drafts_days": 90},
    ) as app:
        [reply] = await app.say(ANA, ROOM, "!aide confidentialité")
        text = reply.body
        # The configured periods, as a member reads them.
        assert "24 mois" in text and "90 jours après la dernière étape" in text
        assert "!mes-donnees" in text and "!oublier" in text and "sauvegarde" in text
        [again] = await app.say(ANA, ROOM, "!aide rgpd")
        assert again.body == text
        [overview] = await app.say(ANA, ROOM, "!aide")
        assert "!aide confidentialite" in overview.body


def test_periods_read_in_months_when_they_are_months():
    from config import RetentionConfig

    durations = help.retention_durations(RetentionConfig())
    assert durations == {
        "handled_events": "30 jours",
        "sent_messages": "90 jours",
        "questions": "12 mois",
        "drafts": "6 mois",
        "reminders": "12 mois",
    }
