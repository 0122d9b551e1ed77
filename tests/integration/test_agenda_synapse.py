"""Agenda and reminders through a real Synapse: a reminder posted on time and once, across restarts;
!permanence from the configured recurrence; !diffuser for facilitators only."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time

import pytest

from storage.agenda import ReminderRow
from tests.integration.conftest import bot_config
from tests.integration.silence import said_before_sentinel

pytestmark = pytest.mark.synapse

PERMANENCE = {
    "title": "Permanence",
    "rrule": "FREQ=MONTHLY;BYDAY=1TU",
    "time": "10:00",
    "duration_minutes": 90,
    "link": "https://visio.example.org/permanence",
    "rooms": ["tous"],
}


def bot_messages(user, room_id: str, bot_id: str, contains: str) -> list:
    return [e for e in user.messages(room_id, bot_id) if contains in getattr(e, "body", "")]


def row(app, row_id: int) -> ReminderRow:
    with app.db.session() as session:
        return session.get(ReminderRow, row_id)


async def bot_joined(app, user, *room_ids: str) -> None:
    """The person sees the bot's join before the bot's own client has synced it: until then the bot
    cannot post there (nio knows no such room), so a reminder fired at once would fail."""
    for room_id in room_ids:
        await user.wait_joined(room_id, app.client.user_id)
        await user.wait_until(
            lambda room_id=room_id: room_id in app.client.rooms, what=f"the bot to sync its join to {room_id}"
        )


def tribe_config(synapse, tmp_path, bot_account, tribe: str, facilitator_id: str, **kwargs):
    return bot_config(
        synapse,
        tmp_path / "bot",
        bot_account,
        rooms=[{"id": tribe, "kind": "tribe", "name": "Alimentation"}],
        facilitators=(facilitator_id,),
        **kwargs,
    )


async def test_a_reminder_is_posted_on_time_and_exactly_once(
    synapse, make_bot, bot_account, human, facilitator, tmp_path
):
    bot_id = bot_account.user_id
    tribe = await human.create_room("Tribu Alimentation", encrypted=True, invite=(bot_id,))
    config = tribe_config(synapse, tmp_path, bot_account, tribe, facilitator.user_id)
    async with make_bot(config) as app:
        await bot_joined(app, human, tribe)
        due = datetime.now(UTC) + timedelta(seconds=3)
        reminder = await app.reminders.schedule_manual(
            "Atelier compost samedi à 14h", due, ("tribus",), facilitator.user_id
        )
        message = await human.wait_for_message(tribe, bot_id, contains="Atelier compost", timeout=10)
        assert message.decrypted and message.body.startswith("📢 Atelier compost samedi à 14h")
        assert "en retard" not in message.body
        # Not early: the homeserver received it at or after the due time (clocks are the same machine's).
        assert message.server_timestamp / 1000 >= due.timestamp() - 0.5
        await asyncio.sleep(2.0)
        assert len(bot_messages(human, tribe, bot_id, "Atelier compost")) == 1
        stored = row(app, reminder.id)
        assert stored.status == "sent" and not stored.late and stored.posted_room_list == [tribe]


def next_first_tuesday_10h(tz) -> datetime:
    """Computed by hand, independently of the bot's recurrence code."""
    now = datetime.now(tz)
    day = now.date()
    while True:
        start = datetime.combine(day, clock_time(10, 0), tzinfo=tz)
        if day.weekday() == 1 and day.day <= 7 and start > now:
            return start
        day += timedelta(days=1)


async def test_permanence_gives_the_next_first_tuesday_at_10h_and_the_link(
    synapse, make_bot, bot_account, human, facilitator, tmp_path
):
    from handlers.french import format_date_fr

    bot_id = bot_account.user_id
    tribe = await human.create_room("Tribu Alimentation", invite=(bot_id,))
    config = tribe_config(
        synapse, tmp_path, bot_account, tribe, facilitator.user_id, extra={"agenda": {"recurring": [PERMANENCE]}}
    )
    assert config.agenda.recurring[0].link == PERMANENCE["link"]  # bot_config passes nested lists through
    async with make_bot(config) as app:
        await bot_joined(app, human, tribe)
        asked = await human.send(tribe, "!permanence")
        answer = await human.wait_for_message(tribe, bot_id, contains="Permanence")
        expected = next_first_tuesday_10h(config.bot.tz)
        assert expected.weekday() == 1 and expected.day <= 7
        # 90 minutes from 10:00: the answer says when it ends, the follow-up members ask.
        when = f"{format_date_fr(expected)} de 10h00 à 11h30"
        assert when.startswith("mardi ")
        assert f"Permanence : {when}" in answer.body, answer.body
        assert "Lien : https://visio.example.org/permanence" in answer.body
        assert answer.source["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == asked


async def test_a_restart_around_the_firing_time_posts_the_reminder_once(
    synapse, make_bot, bot_account, human, facilitator, tmp_path
):
    bot_id = bot_account.user_id
    tribe = await human.create_room("Tribu Alimentation", invite=(bot_id,))
    config = tribe_config(synapse, tmp_path, bot_account, tribe, facilitator.user_id)
    async with make_bot(config) as app:
        await bot_joined(app, human, tribe)
        due = datetime.now(UTC) + timedelta(seconds=2)
        reminder_id = (
            await app.reminders.schedule_manual("Réunion de tribu jeudi", due, ("tribus",), facilitator.user_id)
        ).id
    # Stopped before the due time: nothing was posted, and the row is still pending.
    assert datetime.now(UTC) < due, "the bot took too long to stop for this test to mean anything"
    with_app_down = bot_messages(human, tribe, bot_id, "Réunion de tribu")
    assert with_app_down == []

    # Down past the due time (well within the grace period), then back.
    await asyncio.sleep((due - datetime.now(UTC)).total_seconds() + 1.0)
    assert bot_messages(human, tribe, bot_id, "Réunion de tribu") == []
    async with make_bot(config) as app:
        assert row(app, reminder_id).status == "sent"  # the catch-up runs during start-up
        message = await human.wait_for_message(tribe, bot_id, contains="Réunion de tribu", timeout=10)
        assert message.server_timestamp / 1000 >= due.timestamp()
        stored = row(app, reminder_id)
        # A few seconds late is scheduling jitter, not « late » (LATE_AFTER is one minute).
        assert not stored.late and "en retard" not in message.body
        await asyncio.sleep(1.5)
        assert len(bot_messages(human, tribe, bot_id, "Réunion de tribu")) == 1

    async with make_bot(config):
        await asyncio.sleep(2.0)
        assert len(bot_messages(human, tribe, bot_id, "Réunion de tribu")) == 1


async def test_overdue_reminders_go_out_marked_late_within_grace_and_are_skipped_beyond(
    synapse, make_bot, bot_account, human, facilitator, tmp_path
):
    bot_id = bot_account.user_id
    tribe = await human.create_room("Tribu Alimentation", invite=(bot_id,))
    config = tribe_config(
        synapse, tmp_path, bot_account, tribe, facilitator.user_id, extra={"agenda": {"grace_minutes": 30}}
    )
    async with make_bot(config) as app:
        await bot_joined(app, human, tribe)
        now = datetime.now(UTC)
        late_id = (
            await app.reminders.schedule_manual(
                "Rappel en retard de cinq minutes", now - timedelta(minutes=5), ("tribus",), facilitator.user_id
            )
        ).id
        stale_id = (
            await app.reminders.schedule_manual(
                "Rappel trop ancien", now - timedelta(minutes=45), ("tribus",), facilitator.user_id
            )
        ).id
        message = await human.wait_for_message(tribe, bot_id, contains="cinq minutes", timeout=10)
        assert "(rappel envoyé en retard)" in message.body
        await asyncio.sleep(1.5)
        assert bot_messages(human, tribe, bot_id, "trop ancien") == []
        assert row(app, late_id).status == "sent" and row(app, late_id).late
        assert row(app, stale_id).status == "skipped"

    async with make_bot(config):
        await asyncio.sleep(1.5)
        assert len(bot_messages(human, tribe, bot_id, "cinq minutes")) == 1
        assert bot_messages(human, tribe, bot_id, "trop ancien") == []


async def test_diffuser_is_for_facilitators_and_posts_into_the_tribe_rooms(
    synapse, make_bot, bot_account, human, facilitator, tmp_path
):
    bot_id = bot_account.user_id
    tribe = await human.create_room("Tribu Alimentation", invite=(bot_id,))
    animation = await facilitator.create_room("Animation", invite=(bot_id,))
    config = bot_config(
        synapse,
        tmp_path / "bot",
        bot_account,
        rooms=[
            {"id": tribe, "kind": "tribe", "name": "Alimentation"},
            {"id": animation, "kind": "facilitators", "name": "Animation"},
        ],
        facilitators=(facilitator.user_id,),
    )
    async with make_bot(config) as app:
        await bot_joined(app, human, tribe)
        await bot_joined(app, facilitator, animation)

        await facilitator.send(animation, "!diffuser L'Agora commence demain à 9h ! -> tribus")
        posted = await human.wait_for_message(tribe, bot_id, contains="L'Agora commence demain à 9h !")
        assert posted.body.startswith("📢 ")
        done = await facilitator.wait_for_message(animation, bot_id, contains="Message diffusé")
        assert "1 salon" in done.body
        # Only into the tribes: nothing posted in the facilitators' room but the confirmation.
        assert bot_messages(facilitator, animation, bot_id, "L'Agora") == []

        await human.send(tribe, "!diffuser Message pirate -> tribus")
        refusal = await human.wait_for_message(tribe, bot_id, contains="réservée à l'équipe d'animation")
        assert "!diffuser" in refusal.body
        said = await said_before_sentinel(human, tribe, bot_id)
        assert [e for e in said if "Message pirate" in e.body] == []
        assert len([e for e in said if "L'Agora commence" in e.body]) == 1
