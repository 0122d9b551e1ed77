import pytest

from handlers.registry import CommandRegistry
from tests.unit.conftest import loose_unit


async def noop(ctx):
    return None


def make_registry() -> CommandRegistry:
    registry = CommandRegistry()
    registry.command("aide", usage="aide", help="h", aliases=("help",))(noop)
    registry.command("deposer", usage="deposer", help="h", aliases=("déposer",), room_kinds=("tribe", "direct"))(noop)
    registry.command("diffuser", usage="diffuser", help="h", facilitators_only=True)(noop)
    return registry


def test_find_ignores_case_and_accents():
    registry = make_registry()
    assert registry.find("DÉPOSER").name == "deposer"
    assert registry.find("Help").name == "aide"
    assert registry.find("nope") is None


def test_typos_get_the_closest_command_or_nothing():
    registry = make_registry()
    assert registry.suggest("depser") == "deposer"
    assert registry.suggest("aidee") == "aide"
    assert registry.suggest("zzzzzz") is None


def test_visibility_follows_rights_and_room_kind():
    registry = make_registry()
    member_in_peer_room = {
        c.name for c in registry.visible(is_facilitator=False, room_kind="peer_group", is_direct=False)
    }
    assert member_in_peer_room == {"aide"}
    facilitator_in_dm = {c.name for c in registry.visible(is_facilitator=True, room_kind=None, is_direct=True)}
    assert facilitator_in_dm == {"aide", "deposer", "diffuser"}


def test_a_word_registered_twice_is_refused():
    registry = make_registry()
    with pytest.raises(ValueError, match="registered twice"):
        registry.command("help", usage="x", help="x")(noop)


async def test_help_lists_what_this_person_may_do_here_in_a_stable_order(make_services):
    from bot.app import build_registry
    from handlers.agenda import ReminderService
    from handlers.context import CommandContext, Message, RoomInfo

    services = make_services()
    registry = build_registry(ReminderService(services))

    def context_in(kind: str, facilitator: bool) -> CommandContext:
        return CommandContext(
            message=Message(room=RoomInfo("!r:h", kind, "Salon"), event_id="$e", sender="@a:h", body="!aide"),
            services=services,
            is_facilitator=facilitator,
            work=loose_unit(services.units.db),
        )

    member = await registry.find("aide").handler(context_in("tribe", False))
    names = [name for name, _ in member.context["sections"]]
    assert names == ["Général", "Référentiel", "Dépôts de projets", "Agenda et rappels"]
    listed = {c.name for _, commands in member.context["sections"] for c in commands}
    assert "diffuser" not in listed and "depots" not in listed and "deposer" in listed
    facilitator = await registry.find("aide").handler(context_in("facilitators", True))
    assert [name for name, _ in facilitator.context["sections"]][-1] == "Animation"
    assert {"diffuser", "depots", "repondre"} <= {c.name for _, cs in facilitator.context["sections"] for c in cs}
