"""Login links: signed, short-lived, tied to one person; `!tableau` gives one in a direct chat, to
facilitators only."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from bot.app import build_registry
from handlers.agenda import ReminderService
from handlers.board.links import InvalidLink, LoginLinks
from handlers.context import CommandContext, Message, RoomInfo
from handlers.replies import Post
from tests.unit.conftest import loose_unit
from tests.unit.stand_ins import FakeDirectChats

FACILITATOR = "@fanny:test"


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["jeton"][0]


def test_a_link_carries_its_user_and_a_fresh_nonce(clock):
    links = LoginLinks(b"s" * 32, "https://tableau.example.org/", clock)
    url = links.url(FACILITATOR)
    assert url.startswith("https://tableau.example.org/connexion?jeton=")
    first, second = links.verify(token_of(url)), links.verify(links.token(FACILITATOR))
    assert first.user_id == FACILITATOR and first.nonce != second.nonce
    assert (first.expires_at - clock()).total_seconds() == 600


def test_a_link_expires_after_ten_minutes(clock):
    links = LoginLinks(b"s" * 32, "http://x", clock)
    token = links.token(FACILITATOR)
    clock.advance(minutes=9, seconds=59)
    links.verify(token)
    clock.advance(seconds=1)
    with pytest.raises(InvalidLink) as caught:
        links.verify(token)
    assert caught.value.expired


@pytest.mark.parametrize(
    "damage", [lambda t: t + "x", lambda t: "A" + t[1:], lambda t: t.replace(".", ""), lambda t: "", lambda t: "é.é"]
)
def test_a_damaged_or_forged_link_is_refused(clock, damage):
    links = LoginLinks(b"s" * 32, "http://x", clock)
    with pytest.raises(InvalidLink) as caught:
        links.verify(damage(links.token(FACILITATOR)))
    assert not caught.value.expired


def test_a_link_signed_with_another_key_is_refused(clock):
    forged = LoginLinks(b"t" * 32, "http://x", clock).token(FACILITATOR)
    with pytest.raises(InvalidLink):
        LoginLinks(b"s" * 32, "http://x", clock).verify(forged)


async def test_tableau_sends_the_link_to_the_facilitators_direct_chat_only(make_services, clock):
    services = make_services(clock=clock, direct_chats=FakeDirectChats())
    links = LoginLinks(b"s" * 32, "http://127.0.0.1:8470", clock)
    registry = build_registry(ReminderService(services), links)
    command = registry.find("tableau")
    assert command.facilitators_only and command.allowed_in("facilitators", False)
    assert command.allowed_in(None, True) and not command.allowed_in("tribe", False)
    message = Message(
        room=RoomInfo("!animation:test", "facilitators", "Animation"),
        event_id="$e",
        sender=FACILITATOR,
        body="!tableau",
    )
    pointer, link = await command.handler(
        CommandContext(message=message, services=services, is_facilitator=True, work=loose_unit(services.units.db))
    )
    assert "message privé" in pointer.text and "jeton" not in pointer.text
    assert link.to == Post("!dm-fanny:test") and link.template == "board/link.md.j2"
    assert links.verify(token_of(link.context["url"])).user_id == FACILITATOR


def test_without_a_board_there_is_no_tableau_command(make_services):
    assert build_registry(ReminderService(make_services())).find("tableau") is None
