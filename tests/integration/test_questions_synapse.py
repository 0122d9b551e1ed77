"""Questions through a real Synapse: an answer with its citation in an encrypted room, the
forward / !repondre loop across rooms, and a confidential question that stays where it was asked."""

from __future__ import annotations

import pytest

from tests.integration.conftest import bot_config
from tests.integration.silence import said_before_sentinel

pytestmark = pytest.mark.synapse
OUT_OF_DOMAIN = "Quel temps fera-t-il demain à Brest ?"


async def rooms_with_bot(human, facilitator, bot_user_id):
    peers = await human.create_room("Pairs — agents", encrypted=True, invite=(bot_user_id,))
    tribe = await human.create_room("Tribu Alimentation", invite=(bot_user_id,))
    animation = await facilitator.create_room("Animation", invite=(bot_user_id,))
    return peers, tribe, animation


def configured(synapse, tmp_path, bot_account, facilitator, peers, tribe, animation):
    return bot_config(
        synapse,
        tmp_path / "bot",
        bot_account,
        facilitators=(facilitator.user_id,),
        rooms=[
            {"id": peers, "kind": "peer_group", "name": "Pairs — agents", "role": "agents"},
            {"id": tribe, "kind": "tribe", "name": "Alimentation"},
            {"id": animation, "kind": "facilitators", "name": "Animation"},
        ],
    )


async def test_answer_with_citation_in_an_encrypted_room_and_nothing_leaks(
    synapse, make_bot, bot_account, human, facilitator, tmp_path
):
    peers, tribe, animation = await rooms_with_bot(human, facilitator, bot_account.user_id)
    config = configured(synapse, tmp_path, bot_account, facilitator, peers, tribe, animation)
    async with make_bot(config):
        await human.wait_joined(peers, bot_account.user_id)
        await facilitator.wait_joined(animation, bot_account.user_id)
        await human.send(peers, "!question comment garder nos bénévoles motivés dans la durée ?")
        answer = await human.wait_for_message(peers, bot_account.user_id, contains="Source :")
        assert answer.decrypted and "›" in answer.body
        assert "<em>Source :" in answer.source["content"]["formatted_body"]

        # A mention works as a trigger too; an unanswerable question stays in the room.
        await human.send(peers, f"{bot_account.user_id} {OUT_OF_DOMAIN}", mentions=(bot_account.user_id,))
        abstain = await human.wait_for_message(peers, bot_account.user_id, contains="pas trouvé", after=1)
        assert "confidentiel" in abstain.body and "transmette" not in abstain.body
        await human.send(peers, "oui", reply_to=abstain.event_id)
        assert len(await said_before_sentinel(human, peers, bot_account.user_id)) == 2
        assert await said_before_sentinel(facilitator, animation, bot_account.user_id) == []


async def test_forwarded_question_answered_by_a_facilitator_comes_back_and_feeds_the_faq(
    synapse, make_bot, bot_account, human, member, facilitator, tmp_path
):
    peers, tribe, animation = await rooms_with_bot(human, facilitator, bot_account.user_id)
    await human.client.room_invite(tribe, member.user_id)
    config = configured(synapse, tmp_path, bot_account, facilitator, peers, tribe, animation)
    async with make_bot(config):
        await human.wait_joined(tribe, bot_account.user_id)
        await human.wait_joined(tribe, member.user_id)
        await facilitator.wait_joined(animation, bot_account.user_id)
        question = await human.send(tribe, f"!q {OUT_OF_DOMAIN}")
        offer = await human.wait_for_message(tribe, bot_account.user_id, contains="transmette")
        assert (
            "répondez **oui** à ce message" in offer.source["content"]["body"]
            or "répondez oui à ce message" in offer.body
        )
        # Not consent: an « ok » said to someone else, and another member's « oui » in reply to the offer.
        await human.send(tribe, "ok")
        await member.send(tribe, "oui", reply_to=offer.event_id)
        assert len(await said_before_sentinel(human, tribe, bot_account.user_id)) == 1
        assert await said_before_sentinel(facilitator, animation, bot_account.user_id) == []
        # (From here, `after` counts the sentinel's answer too.)
        # The asker's « oui » in reply to the offer is.
        await human.send(tribe, "oui", reply_to=offer.event_id)
        await human.wait_for_message(tribe, bot_account.user_id, contains="transmis", after=2)
        notice = await facilitator.wait_for_message(animation, bot_account.user_id, contains="Question n°1")
        assert OUT_OF_DOMAIN in notice.body

        await facilitator.send(animation, "!repondre 1 --faq Consultez Météo-France, nous ne faisons pas la météo !")
        back = await human.wait_for_message(tribe, bot_account.user_id, contains="Réponse de l'équipe", after=3)
        assert back.source["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == question
        assert human.user_id in back.source["content"]["m.mentions"]["user_ids"]

        await human.send(tribe, "!q quel temps fera-t-il demain à Brest ?")
        faq = await human.wait_for_message(tribe, bot_account.user_id, contains="Source :", after=4)
        assert "Météo-France" in faq.body and "FAQ" in faq.body


async def test_any_message_in_a_direct_chat_is_a_question(synapse, make_bot, bot_account, human, tmp_path):
    config = bot_config(synapse, tmp_path / "bot", bot_account)
    async with make_bot(config):
        direct = await human.create_room("", encrypted=True, invite=(bot_account.user_id,), is_direct=True)
        await human.wait_joined(direct, bot_account.user_id)
        question = await human.send(direct, "c'est quand la permanence ?")
        answer = await human.wait_for_message(direct, bot_account.user_id, contains="Source :")
        assert "mardi" in answer.body.lower()
        assert answer.source["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == question
