"""A deposit whose author kept it to themselves, read by a facilitator through a real, encrypted
facilitators' room: its reference, date and status, never who made it nor what it says."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from nio import MemoryDownloadResponse, RoomEncryptedFile
from nio.crypto.attachments import decrypt_attachment

from storage.deposits import Deposit, format_reference
from tests.integration.conftest import bot_config

pytestmark = pytest.mark.synapse

DEPOSITOR = "@deposante-elue:localhost"
TITLE = "Maison de santé des Lilas"
# Who made it, for whom, from where, and what it says.
SECRETS = (
    DEPOSITOR,
    TITLE,
    "Camille Martin",
    "camille@example.net",
    "Vallée de la Drôme",
    "pluriprofessionnelle",
    "!pairs-elus:localhost",
)


def withheld_deposit(year: int, now: datetime) -> Deposit:
    """As the form leaves it after « non » to share_content in a peer group (the form is not the point here)."""
    return Deposit(
        reference=format_reference(year, 1),
        year=year,
        sequence=1,
        title=TITLE,
        tribe="Alimentation",
        carrier="Camille Martin",
        depositor=DEPOSITOR,
        status="nouveau",
        visibility="facilitators",
        origin_room_id="!pairs-elus:localhost",
        origin_thread_root="$racine",
        origin_confidential=True,
        content_shared=False,
        created_at=now,
        answers={
            "title": TITLE,
            "tribe": "Alimentation",
            "carrier": "other",
            "carrier_name": "Camille Martin",
            "carrier_contact": "camille@example.net",
            "territory": "Vallée de la Drôme",
            "description": "Une maison de santé pluriprofessionnelle pour les communes de la vallée.",
            "needs": ["place"],
            "stage": "idea",
            "contact": None,
            "visibility": None,
            "share_content": False,
        },
        history=[{"status": "nouveau", "at": now.isoformat(), "by": DEPOSITOR, "comment": ""}],
    )


async def test_a_withheld_deposit_reaches_the_facilitators_without_its_author_nor_its_content(
    synapse, make_bot, bot_account, facilitator, member, tmp_path
):
    bot_id = bot_account.user_id
    animation = await facilitator.create_room("Animation", encrypted=True, invite=(bot_id, member.user_id))
    config = bot_config(
        synapse,
        tmp_path / "bot",
        bot_account,
        rooms=[{"id": animation, "kind": "facilitators", "name": "Animation"}],
        facilitators=(facilitator.user_id, member.user_id),
    )
    async with make_bot(config) as app:
        await facilitator.wait_joined(animation, bot_id)
        await facilitator.wait_joined(animation, member.user_id)
        await member.wait_joined(animation, bot_id)
        now = datetime.now(UTC)
        deposit = withheld_deposit(now.astimezone(config.bot.tz).year, now)
        reference = deposit.reference
        with app.db.session() as session:
            session.add(deposit)

        await member.send(animation, f"!depot {reference}")
        shown = await member.wait_for_message(animation, bot_id, contains=reference)
        assert shown.decrypted
        assert "contenu non partagé" in shown.body and "Statut : nouveau" in shown.body
        for secret in SECRETS:
            assert secret not in shown.body, secret

        before = len(member.messages(animation, bot_id))
        await member.send(animation, "!depots export")
        await member.wait_until(
            lambda: any(isinstance(e, RoomEncryptedFile) for e in member.messages(animation, bot_id)[before:]),
            what="the encrypted CSV file",
        )
        [upload] = [e for e in member.messages(animation, bot_id)[before:] if isinstance(e, RoomEncryptedFile)]
        downloaded = await member.client.download(upload.url)
        assert isinstance(downloaded, MemoryDownloadResponse)
        csv_text = decrypt_attachment(downloaded.body, upload.key["k"], upload.hashes["sha256"], upload.iv).decode(
            "utf-8-sig"
        )
        assert reference in csv_text and now.date().isoformat() in csv_text
        for secret in SECRETS:
            assert secret not in csv_text, secret
