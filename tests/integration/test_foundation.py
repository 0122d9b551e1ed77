"""The bot in real rooms of a real Synapse: invites, commands, encryption, restarts, failures."""

from __future__ import annotations

import pytest
from nio import RoomMessageNotice

from tests.integration.conftest import bot_config
from tests.integration.silence import said_before_sentinel

pytestmark = pytest.mark.synapse


async def test_joins_on_allowed_invite_and_answers_help_in_a_plain_room(
    synapse, make_bot, bot_account, human, tmp_path
):
    config = bot_config(synapse, tmp_path / "bot", bot_account)
    async with make_bot(config):
        room_id = await human.create_room("Tribu alimentation", invite=(bot_account.user_id,))
        await human.wait_joined(room_id, bot_account.user_id)
        question = await human.send(room_id, "!aide")
        reply = await human.wait_for_message(room_id, bot_account.user_id, contains="Ce que je peux faire")
        assert isinstance(reply, RoomMessageNotice)
        content = reply.source["content"]
        assert content["format"] == "org.matrix.custom.html"
        assert "<strong>" in content["formatted_body"] and "**" not in content["body"].split("\n")[0][:3]
        assert content["m.relates_to"]["m.in_reply_to"]["event_id"] == question
        assert content["m.mentions"] == {"user_ids": [human.user_id]}
        assert "!aide" in content["body"]


async def test_declines_invite_from_a_stranger(synapse, make_bot, bot_account, tmp_path):
    from bot.devtools.person import ScriptedPerson
    from tests.integration.conftest import unique

    stranger = await ScriptedPerson(synapse.url, synapse.register(unique("stranger")), tmp_path / "s").start()
    try:
        config = bot_config(synapse, tmp_path / "bot", bot_account)
        async with make_bot(config) as app:
            room_id = await stranger.create_room("Pas pour le bot", invite=(bot_account.user_id,))
            # The bot leaves the invite: its membership becomes "leave" and it never joins.
            await stranger.wait_until(
                lambda: bot_account.user_id not in stranger.client.rooms[room_id].invited_users,
                what="the invite to be declined",
            )
            assert room_id not in app.client.rooms
            assert bot_account.user_id not in stranger.client.rooms[room_id].users
    finally:
        await stranger.stop()


async def test_help_in_an_encrypted_room_is_decrypted_by_the_person(synapse, make_bot, bot_account, human, tmp_path):
    config = bot_config(synapse, tmp_path / "bot", bot_account)
    async with make_bot(config):
        room_id = await human.create_room("Pairs agents", encrypted=True, invite=(bot_account.user_id,))
        await human.wait_joined(room_id, bot_account.user_id)
        await human.send(room_id, "!aide")
        reply = await human.wait_for_message(room_id, bot_account.user_id, contains="Ce que je peux faire")
        assert reply.decrypted and isinstance(reply, RoomMessageNotice)


async def test_unknown_command_gets_a_suggestion(synapse, make_bot, bot_account, human, tmp_path):
    config = bot_config(synapse, tmp_path / "bot", bot_account)
    async with make_bot(config):
        room_id = await human.create_room("Tribu", invite=(bot_account.user_id,))
        await human.wait_joined(room_id, bot_account.user_id)
        await human.send(room_id, "!aidr")
        reply = await human.wait_for_message(room_id, bot_account.user_id, contains="Je ne connais pas")
        assert "!aide" in reply.body and "Vouliez-vous dire" in reply.body


async def test_a_failing_handler_gets_an_apology_and_the_bot_keeps_serving(
    synapse, make_bot, bot_account, human, tmp_path, caplog
):
    config = bot_config(synapse, tmp_path / "bot", bot_account)
    running = make_bot(config)

    async def explode(ctx):
        raise RuntimeError("secret internal detail")

    running.app.registry.command("panne", usage="panne", help="échoue exprès")(explode)
    async with running:
        room_id = await human.create_room("Tribu", invite=(bot_account.user_id,))
        await human.wait_joined(room_id, bot_account.user_id)
        await human.send(room_id, "!panne")
        apology = await human.wait_for_message(room_id, bot_account.user_id, contains="Désolé")
        assert "secret internal detail" not in apology.body and "RuntimeError" not in apology.body
        assert any("secret internal detail" in (r.exc_text or "") for r in caplog.records)
        await human.send(room_id, "!aide")
        await human.wait_for_message(room_id, bot_account.user_id, contains="Ce que je peux faire")


async def test_unencrypted_peer_room_is_flagged_once_and_facilitators_get_only_its_name(
    synapse, make_bot, bot_account, human, facilitator, tmp_path
):
    peers = await human.create_room("Pairs élus (pas chiffré)", invite=(bot_account.user_id,))
    animation = await facilitator.create_room("Animation", invite=(bot_account.user_id,))
    config = bot_config(
        synapse,
        tmp_path / "bot",
        bot_account,
        rooms=[
            {"id": peers, "kind": "peer_group", "name": "Pairs élus", "role": "elus"},
            {"id": animation, "kind": "facilitators", "name": "Animation"},
        ],
    )
    async with make_bot(config):
        warning = await human.wait_for_message(peers, bot_account.user_id, contains="pas chiffré")
        alert = await facilitator.wait_for_message(animation, bot_account.user_id, contains="Pairs élus")
        assert "chiffrement" in warning.body and "non chiffré" in alert.body
        await human.send(peers, "Notre budget secret est de 12 000 euros")
    async with make_bot(config):
        # Warned once, across restarts.
        assert len(await said_before_sentinel(human, peers, bot_account.user_id)) == 1
        assert len(await said_before_sentinel(facilitator, animation, bot_account.user_id)) == 1
        assert all("12 000" not in m.body for m in facilitator.messages(animation))


async def test_power_level_in_the_facilitators_room_grants_facilitator_rights(
    synapse, make_bot, bot_account, human, facilitator, tmp_path
):
    animation = await facilitator.create_room("Animation", invite=(bot_account.user_id,))
    room_id = await human.create_room("Nouveau salon", invite=(bot_account.user_id, facilitator.user_id))
    await facilitator.client.join(room_id)
    # Nobody is listed as facilitator: the creator of the facilitators' room has power level 100 there.
    config = bot_config(
        synapse, tmp_path / "bot", bot_account, rooms=[{"id": animation, "kind": "facilitators", "name": "Animation"}]
    )
    async with make_bot(config):
        await human.wait_joined(room_id, bot_account.user_id)
        await human.send(room_id, "!salon tribu Quartier Nord")
        refusal = await human.wait_for_message(room_id, bot_account.user_id, contains="réservée")
        assert "équipe d'animation" in refusal.body
        await facilitator.wait_joined(room_id, bot_account.user_id)
        await facilitator.send(room_id, "!salon tribu Quartier Nord")
        await human.wait_for_message(room_id, bot_account.user_id, contains="la tribu « Quartier Nord »")
