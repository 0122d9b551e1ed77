"""A member's data through a real Synapse: `!mes-donnees` typed in an encrypted tribe room brings a summary
and an encrypted JSON file to the member's encrypted direct chat; `!oublier` asks there, and a « OUI » in
reply erases, the facilitators told the deposit's reference only. A second ordinary member of the tribe
room reads none of it."""

from __future__ import annotations

import json

import pytest
from nio import MegolmEvent, MemoryDownloadResponse, RoomEncryptedFile
from nio.crypto.attachments import decrypt_attachment

from tests.integration.conftest import bot_config
from tests.integration.silence import said_before_sentinel
from tests.integration.test_deposits_synapse import (
    REFERENCE,
    PrivateForm,
    answers_until_recap,
    deposits_in,
    read_by,
    rooms_config,
    setup_rooms,
)

pytestmark = pytest.mark.synapse

TITLE = "Verger communal des Tilleuls"


async def test_a_member_takes_then_erases_their_data_in_private(
    synapse, make_bot, bot_account, human, member, facilitator, tmp_path
):
    bot_id = bot_account.user_id
    tribe, animation = await setup_rooms(human, facilitator, bot_id, member)
    config = bot_config(
        synapse,
        tmp_path / "bot",
        bot_account,
        rooms=rooms_config(tribe, animation),
        facilitators=(facilitator.user_id,),
    )
    async with make_bot(config) as app:
        await human.wait_joined(tribe, bot_id)
        await member.wait_joined(tribe, bot_id)
        await facilitator.wait_joined(animation, bot_id)
        form = PrivateForm(human, tribe, bot_id)
        await form.open()
        await form.fill(answers_until_recap(TITLE))
        thanks = await form.answer("oui", f"Votre projet « {TITLE} » est déposé")
        reference = REFERENCE.search(thanks.body).group(0)
        dm = form.direct
        assert dm is not None

        # !mes-donnees in the tribe room: the summary and the file come in the direct chat, encrypted.
        before = len(form.bot_messages())
        await human.send(tribe, "!mes-donnees")
        summary = await form._next_reply(before, "Ce que je garde à votre sujet")
        assert "Dépôts de projets faits par vous : 1" in summary.body
        await human.wait_until(
            lambda: any(isinstance(e, RoomEncryptedFile) for e in human.messages(dm, bot_id)[before:]),
            what="the encrypted JSON file",
        )
        [upload] = [e for e in human.messages(dm, bot_id)[before:] if isinstance(e, RoomEncryptedFile)]
        downloaded = await human.client.download(upload.url)
        assert isinstance(downloaded, MemoryDownloadResponse)
        assert TITLE.encode() not in downloaded.body  # the homeserver keeps ciphertext only
        exported = json.loads(decrypt_attachment(downloaded.body, upload.key["k"], upload.hashes["sha256"], upload.iv))
        assert exported["membre"] == human.user_id and [d["titre"] for d in exported["depots"]] == [TITLE]

        # !oublier in the tribe room: asked in the direct chat; « OUI » in reply erases.
        before = len(form.bot_messages())
        await human.send(tribe, "!oublier")
        prompt = await form._next_reply(before, "Effacer vos données ?")
        before = len(form.bot_messages())
        await human.send(dm, "OUI", reply_to=prompt.event_id)
        done = await form._next_reply(before, "C'est effacé")
        assert f"Le dépôt {reference} reste pour la communauté" in done.body
        notice = await facilitator.wait_for_message(animation, bot_id, contains="anonymisé")
        assert not isinstance(notice, MegolmEvent) and reference in notice.body
        assert human.user_id not in notice.body and TITLE not in notice.body
        [kept] = deposits_in(app)
        assert kept.title == TITLE and kept.depositor == "" and human.user_id not in json.dumps(kept.answers)

        # The other member of the tribe room read two pointers, nothing of the exchange.
        seen = "\n".join(getattr(e, "body", "") for e in await said_before_sentinel(member, tribe, bot_id))
        seen += read_by(member, tribe)
        for private in ("Ce que je garde", "Effacer vos données", "C'est effacé", "mes-donnees-"):
            assert private not in seen, private
        assert "message privé" in seen and dm not in member.client.rooms
