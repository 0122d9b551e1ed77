"""What a member types comes back from the bot as text, seen from another member's client."""

from __future__ import annotations

import pytest

from tests.integration.conftest import bot_config

pytestmark = pytest.mark.synapse

PHISHING = "[Formulaire officiel](https://evil.example/x)"


async def test_a_typed_link_is_echoed_as_text_and_a_long_typo_is_cut(
    synapse, make_bot, bot_account, human, member, tmp_path
):
    bot_id = bot_account.user_id
    tribe = await human.create_room("Tribu Alimentation", encrypted=True, invite=(bot_id, member.user_id))
    config = bot_config(
        synapse, tmp_path / "bot", bot_account, rooms=[{"id": tribe, "kind": "tribe", "name": "Alimentation"}]
    )
    async with make_bot(config):
        await human.wait_joined(tribe, bot_id)
        await human.wait_joined(tribe, member.user_id)
        await member.wait_joined(tribe, bot_id)

        await human.send(tribe, f"!aide {PHISHING}")
        echoed = await member.wait_for_message(tribe, bot_id, contains="Je ne connais pas la commande")
        assert echoed.decrypted
        formatted = echoed.source["content"]["formatted_body"]
        assert '<a href="https://evil' not in formatted and "<a " not in formatted
        assert PHISHING in formatted and PHISHING in echoed.body

        words = [f"mot{number}" for number in range(500)]
        await human.send(tribe, "!aide " + " ".join(words))
        cut = await member.wait_for_message(tribe, bot_id, contains="mot0 mot1")
        assert len(cut.body) < 200 and "…" in cut.body
        assert "mot499" not in cut.body and "mot499" not in cut.source["content"]["formatted_body"]
