"""Routing without a homeserver: the dispatcher with a recording sender."""

import logging

import pytest
from sqlalchemy.exc import OperationalError

from bot.dispatcher import APOLOGY, Dispatcher
from bot.sender import HomeserverUnavailable
from handlers.context import Message, RoomInfo
from handlers.registry import CommandRegistry
from handlers.replies import Reply, UserError


class Recorder:
    def __init__(self):
        self.sent: list[Reply] = []
        self.fail_next = False

    async def __call__(self, replies, trigger, work=None):
        if self.fail_next:
            self.fail_next = False
            raise HomeserverUnavailable("ClientConnectionError")
        self.sent.extend(replies)
        return ["$x"] * len(replies)


@pytest.fixture
def setup(make_config, make_services):
    services = make_services(make_config(bot={"max_message_length": 200}))
    registry = CommandRegistry()
    recorder = Recorder()
    dispatcher = Dispatcher(services, registry, recorder, is_facilitator=lambda user: user == "@fac:h")
    return dispatcher, registry, recorder


def message(body, *, room=None, sender="@ana:h", event_id="$1", addressed=None):
    room = room or RoomInfo(room_id="!tribe:h", kind="tribe", name="Alimentation")
    return Message(
        room=room,
        event_id=event_id,
        sender=sender,
        body=body,
        addressed=body.startswith("!") if addressed is None else addressed,
    )


async def test_commands_rights_and_room_kinds(setup):
    dispatcher, registry, recorder = setup

    async def hello(ctx):
        return Reply(text=f"bonjour {ctx.args}")

    registry.command("bonjour", usage="bonjour", help="h", aliases=("salut",))(hello)
    registry.command("secret", usage="secret", help="h", facilitators_only=True)(hello)
    registry.command("pairs", usage="pairs", help="h", room_kinds=("peer_group",))(hello)

    await dispatcher.on_message(message("!Salut  Ana ", event_id="$a"))
    await dispatcher.on_message(message("!secret", event_id="$b"))
    await dispatcher.on_message(message("!secret", sender="@fac:h", event_id="$c"))
    await dispatcher.on_message(message("!pairs", event_id="$d"))
    await dispatcher.on_message(message("!bonjou", event_id="$e"))
    await dispatcher.on_message(message("!", event_id="$f"))
    texts = [r.text for r in recorder.sent]
    assert texts[0] == "bonjour Ana"
    assert "réservée à l'équipe d'animation" in texts[1]
    assert texts[2] == "bonjour "
    assert "n'est pas disponible dans ce salon" in texts[3]
    assert "Vouliez-vous dire `!bonjour`" in texts[4]
    assert "Il manque le nom de la commande" in texts[5]


async def test_own_messages_are_ignored(setup):
    dispatcher, registry, recorder = setup
    registry.command("ping", usage="ping", help="h")(lambda ctx: _reply("pong"))
    await dispatcher.on_message(message("!ping", event_id="$a"))
    await dispatcher.on_message(message("!ping", sender="@bot:h", event_id="$own"))
    assert [r.text for r in recorder.sent] == ["pong"]


async def test_a_database_outage_is_no_apology_and_a_retry_sends_what_was_decided(setup):
    dispatcher, registry, recorder = setup
    calls = []

    async def counts(ctx):
        calls.append(ctx.message.event_id)
        if len(calls) == 1:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))
        return Reply(text=f"appel {len(calls)}")

    registry.command("compte", usage="compte", help="h")(counts)
    with pytest.raises(OperationalError):
        await dispatcher.on_message(message("!compte", event_id="$1"))
    assert recorder.sent == []  # no apology: the message waits for the database
    recorder.fail_next = True
    with pytest.raises(HomeserverUnavailable):
        await dispatcher.on_message(message("!compte", event_id="$1"))
    # Sent again as decided: the handler (a form step, say) does not run a third time.
    await dispatcher.on_message(message("!compte", event_id="$1"))
    assert calls == ["$1", "$1"]
    assert [r.text for r in recorder.sent] == ["appel 2"]


async def _reply(text):
    return Reply(text=text)


async def test_failures_user_errors_and_oversized_messages(setup, caplog):
    dispatcher, registry, recorder = setup

    async def broken(ctx):
        raise KeyError("internal")

    async def refuses(ctx):
        raise UserError("Ce n'est pas possible.")

    registry.command("casse", usage="casse", help="h")(broken)
    registry.command("refus", usage="refus", help="h")(refuses)
    with caplog.at_level(logging.INFO):
        await dispatcher.on_message(message("!casse confidential words", event_id="$1"))
    await dispatcher.on_message(message("!refus", event_id="$2"))
    await dispatcher.on_message(message("!refus " + "x" * 300, event_id="$3"))
    await dispatcher.on_message(message("y" * 300, event_id="$4", addressed=False))
    texts = [r.text for r in recorder.sent]
    assert texts[0] == APOLOGY and "internal" not in texts[0]
    assert texts[1] == "Ce n'est pas possible."
    assert "trop long (307 caractères, au plus 200)" in texts[2]
    assert len(texts) == 3  # a long message not addressed to the bot is none of its business
    assert not any("confidential words" in r.getMessage() for r in caplog.records)


async def test_listeners_take_their_messages_before_commands_and_fallback_gets_the_rest(setup):
    dispatcher, registry, recorder = setup

    async def form(ctx):
        return Reply(text="form") if ctx.message.thread_root == "$thread" else None

    async def question(ctx):
        return Reply(text=f"réponse à {ctx.message.body}")

    registry.add_listener("form", form)
    registry.fallback = question
    registry.command("aide", usage="aide", help="h")(lambda ctx: _reply("aide"))
    await dispatcher.on_message(
        Message(
            room=RoomInfo("!r:h", "tribe"),
            event_id="$1",
            sender="@a:h",
            body="!aide",
            thread_root="$thread",
            addressed=True,
        )
    )
    await dispatcher.on_message(message("!aide", event_id="$2"))
    await dispatcher.on_message(message("c'est quand ?", event_id="$3", addressed=True))
    await dispatcher.on_message(message("bavardage", event_id="$4", addressed=False))
    assert [r.text for r in recorder.sent] == ["form", "aide", "réponse à c'est quand ?"]
