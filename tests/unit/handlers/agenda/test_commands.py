"""!agenda, !permanence, !rappel, !rappels, !diffuser as the registry runs them."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.rendering import Renderer, build_template_environment
from config import RecurringEventConfig
from handlers.agenda import ReminderService
from handlers.agenda.commands import agenda, diffuser, permanence, rappel, rappels
from handlers.context import CommandContext, Message, RoomInfo
from handlers.replies import Reply, UserError
from storage.agenda import BROADCAST, CANCELLED
from tests.unit.conftest import loose_unit
from tests.unit.handlers.agenda.harness import ANIM, FACILITATORS, PEER, PERMANENCE, PERMANENCE_START, Harness


def context(
    harness: Harness,
    args: str,
    *,
    room: RoomInfo | None = None,
    sender: str = ANIM,
    service: ReminderService | None = None,
) -> CommandContext:
    service = service or harness.service()
    room = room or RoomInfo(room_id=FACILITATORS, kind="facilitators")
    return CommandContext(
        message=Message(room=room, event_id="$cmd", sender=sender, body=args),
        services=service.services,
        is_facilitator=sender in harness.facilitators,
        args=args,
        work=loose_unit(service.services.units.db),
    )


async def call(harness: Harness, command, args: str, **where):
    """A command as the registry runs it: bound to a reminder service, given the message's context."""
    service = harness.service()
    return await command(service, context(harness, args, service=service, **where))


def render(reply: Reply) -> str:
    return Renderer(build_template_environment()).render(reply).plain


async def test_rappel_rappels_and_annuler(harness):
    later = render(await call(harness, rappel, "après-demain 9h Bilan de l'Agora"))
    reply = await call(harness, rappel, "demain 9h Pensez à l'Agora -> tribus, #atelier:x")
    text = render(reply)
    row = next(r for r in harness.rows(kind=BROADCAST) if r.text == "Pensez à l'Agora")
    # Numbers are places in !rappels (soonest first), not database ids.
    assert "n°1 dans !rappels" in later and "n°1 dans !rappels" in text and "vendredi 26 février 2027 à 9h00" in text
    assert row.target_list == ["tribus", "#atelier:x"] and row.text == "Pensez à l'Agora"
    listing = render(await call(harness, rappels, ""))
    assert "n°1 — vendredi 26 février" in listing and "n°2 — samedi 27 février" in listing
    assert "Annulé" not in listing
    cancelled = render(await call(harness, rappel, "annuler 1"))
    assert "n°1 annulé : « Pensez à l'Agora »" in cancelled and harness.rows(id=row.id)[0].status == CANCELLED
    # The one left is now n°1.
    assert "n°1 — samedi 27 février" in render(await call(harness, rappels, ""))
    with pytest.raises(UserError, match="Aucun rappel n°2 : un seul rappel est programmé"):
        await call(harness, rappel, "annuler 2")
    with pytest.raises(UserError, match="Aucun rappel n°999"):
        await call(harness, rappel, "annuler 999")
    with pytest.raises(UserError, match="pas compris"):
        await call(harness, rappel, "un jour Agora")
    with pytest.raises(UserError, match="inconnu"):
        await call(harness, rappel, "demain 9h Agora -> cuisine")
    with pytest.raises(UserError, match="Il manque le message"):
        await call(harness, rappel, "demain 9h")


async def test_diffuser_posts_now_to_the_named_rooms(harness):
    reply = await call(harness, diffuser, "L'Agora commence ! -> pairs, #atelier:x")
    assert "2 salons" in render(reply)
    assert sorted(room for room, _, _ in harness.poster.attempts) == sorted([PEER, "!t2:x"])
    assert "L'Agora commence !" in harness.poster.to(PEER)[0]
    with pytest.raises(UserError):
        await call(harness, diffuser, "  -> pairs")


async def test_agenda_shows_events_for_this_room_and_permanence_its_link(tmp_path):
    pairs_only = RecurringEventConfig(
        title="Journée des pairs", rrule="FREQ=WEEKLY;BYDAY=TH", time="09:30", rooms=("pairs",)
    )
    harness = Harness(tmp_path, PERMANENCE_START - timedelta(days=5), recurring=(PERMANENCE, pairs_only))
    tribe = RoomInfo(room_id="!t1:x", kind="tribe")
    peer = RoomInfo(room_id=PEER, kind="peer_group")
    tribe_text = render(await call(harness, agenda, "", room=tribe))
    peer_text = render(await call(harness, agenda, "", room=peer))
    assert "mardi 2 mars 2027 de 10h00 à 11h30" in tribe_text and "pairs" not in tribe_text
    assert "Journée des pairs" in peer_text and "jeudi 4 mars 2027 de 9h30 à 10h30" in peer_text
    text = render(await call(harness, permanence, "", room=tribe))
    assert "Permanence : mardi 2 mars 2027 de 10h00 à 11h30." in text and "https://visio.example.org/permanence" in text


async def test_agenda_says_its_window_and_always_shows_the_next_permanence(tmp_path):
    # A quarterly permanence forty days ahead: beyond the agenda's 31 days, within the 60 days looked ahead.
    quarterly = replace(PERMANENCE, rrule="FREQ=MONTHLY;INTERVAL=3;BYDAY=1TU", start_date="2027-03-01")
    harness = Harness(tmp_path, PERMANENCE_START - timedelta(days=40), recurring=(quarterly,))
    text = render(await call(harness, agenda, "", room=RoomInfo(room_id="!t1:x", kind="tribe")))
    assert "dans les 31 prochains jours" in text
    assert "Prochaine permanence" in text and "mardi 2 mars 2027 de 10h00 à 11h30" in text
    assert "https://visio.example.org/permanence" in text
    # Within the window it is listed once, with the window said.
    (tmp_path / "near").mkdir()
    harness = Harness(tmp_path / "near", PERMANENCE_START - timedelta(days=5), recurring=(PERMANENCE,))
    text = render(await call(harness, agenda, "", room=RoomInfo(room_id="!t1:x", kind="tribe")))
    assert "(les 31 prochains jours)" in text and text.count("mardi 2 mars 2027") == 1
    assert "Prochaine permanence" not in text
