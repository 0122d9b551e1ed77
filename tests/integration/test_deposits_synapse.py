"""Project deposits through a real Synapse: the form in a thread of an encrypted tribe room,
the facilitators' notice, a restart in the middle of a form, two members filling forms at once."""
from __future__ import annotations

import asyncio
import re
from datetime import datetime

import pytest
from nio import MegolmEvent, MemoryDownloadResponse, RoomEncryptedFile
from nio.crypto.attachments import decrypt_attachment
from sqlmodel import select

from storage.deposits import Deposit, DepositDraft
from tests.integration.conftest import bot_config
from tests.integration.matrix_user import MatrixUser

pytestmark = pytest.mark.synapse

REFERENCE = re.compile(r"DEP-(\d{4})-\d{4}")


def thread_root_of(event) -> str | None:
    relation = event.source.get("content", {}).get("m.relates_to") or {}
    return relation.get("event_id") if relation.get("rel_type") == "m.thread" else None


class FormThread:
    """One member filling the deposit form in a thread, as a person with a Matrix client would."""

    def __init__(self, user: MatrixUser, room_id: str, bot_id: str) -> None:
        self.user, self.room_id, self.bot_id = user, room_id, bot_id
        self.root: str | None = None

    def bot_messages(self) -> list:
        """The bot's messages in this thread, in arrival order (undecryptable ones included)."""
        return [e for e in self.user.messages(self.room_id, self.bot_id)
                if isinstance(e, MegolmEvent) or thread_root_of(e) == self.root]

    async def _next_reply(self, before: int, expect: str, timeout: float):
        await self.user.wait_until(lambda: len(self.bot_messages()) > before, timeout,
                                   f"the bot's reply in the thread (expecting {expect!r})")
        reply = self.bot_messages()[before]
        assert not isinstance(reply, MegolmEvent), f"could not decrypt {reply.event_id}"
        assert expect in reply.body, f"expected {expect!r} in the thread, got: {reply.body[:400]!r}"
        return reply

    async def open(self) -> object:
        self.root = await self.user.send(self.room_id, "!deposer")
        return await self._next_reply(0, "Question 1/", 15)

    async def answer(self, text: str, expect: str, timeout: float = 15.0):
        """Sends `text` in the thread; the bot's first reply in the thread must contain `expect`."""
        before = len(self.bot_messages())
        await self.user.send(self.room_id, text, thread_root=self.root)
        return await self._next_reply(before, expect, timeout)

    async def fill(self, steps: list[tuple[str, str]]):
        reply = None
        for text, expect in steps:
            reply = await self.answer(text, expect)
        return reply


def answers_until_recap(title: str, *, carrier: list[tuple[str, str]] | None = None, total: int = 9):
    """The default form (with one tribe configured) from the title to the recap."""
    carrier = carrier or [("moi", "Question 4/9 — Territoire")]
    n = 4 + (total - 9)  # the territory's position once the carrier is known
    return [
        (title, "Question 2/9 — Tribu"),
        ("Alimentation", "Question 3/9 — Porteur du projet"),
        *carrier,
        ("Communauté de communes du Diois", f"Question {n + 1}/{total} — Description"),
        ("Un jardin partagé au pied des immeubles, avec des ateliers pour les écoles du quartier.",
         f"Question {n + 2}/{total} — Besoins"),
        ("des partenaires et un financement", f"Question {n + 3}/{total} — Avancement"),
        ("idée", f"Question {n + 4}/{total} — E-mail de contact"),
        ("porteur@example.org", f"Question {n + 5}/{total} — Visibilité"),
        ("toute la communauté", "Récapitulatif"),
    ]


def deposits_in(app) -> list[Deposit]:
    with app.db.session() as session:
        return list(session.exec(select(Deposit).order_by(Deposit.sequence)))


async def setup_rooms(human: MatrixUser, facilitator: MatrixUser, bot_id: str) -> tuple[str, str]:
    """A tribe room made by a member and the facilitators' room, both encrypted, the bot invited."""
    tribe = await human.create_room("Tribu Alimentation", encrypted=True, invite=(bot_id,))
    animation = await facilitator.create_room("Animation", encrypted=True, invite=(bot_id,))
    return tribe, animation


def rooms_config(tribe: str, animation: str) -> list[dict]:
    return [{"id": tribe, "kind": "tribe", "name": "Alimentation"},
            {"id": animation, "kind": "facilitators", "name": "Animation"}]


async def test_a_whole_deposit_in_an_encrypted_tribe_room_reaches_the_facilitators(
        synapse, make_bot, bot_account, human, facilitator, tmp_path):
    bot_id = bot_account.user_id
    tribe, animation = await setup_rooms(human, facilitator, bot_id)
    config = bot_config(synapse, tmp_path / "bot", bot_account, rooms=rooms_config(tribe, animation),
                        facilitators=(facilitator.user_id,))
    async with make_bot(config) as app:
        # Pending invites are accepted at the first sync.
        await human.wait_joined(tribe, bot_id)
        await facilitator.wait_joined(animation, bot_id)

        form = FormThread(human, tribe, bot_id)
        first = await form.open()
        assert first.decrypted
        assert "Merci de déposer un projet" in first.body and "Quel est le titre du projet ?" in first.body
        tribe_question = await form.answer("Jardin partagé des Lilas", "Question 2/9 — Tribu")
        assert "1. Alimentation" in tribe_question.body
        recap = await form.fill(answers_until_recap("Jardin partagé des Lilas")[1:])
        for line in ("Titre : Jardin partagé des Lilas", "Tribu : Alimentation",
                     "Porteur du projet : Moi-même", "Besoins : Des partenaires, Un financement",
                     "Avancement : C'est une idée", "E-mail de contact : porteur@example.org",
                     "Visibilité : Toute la communauté"):
            assert line in recap.body, recap.body
        thanks = await form.answer("oui", "Merci ! Votre projet « Jardin partagé des Lilas » est déposé")

        # Every bot message of the form sits in the thread of the !deposer message and notifies the member.
        messages = form.bot_messages()
        assert len(messages) == 11  # 9 questions, the recap, the thanks
        for message in messages:
            relation = message.source["content"]["m.relates_to"]
            assert relation["rel_type"] == "m.thread" and relation["event_id"] == form.root
            assert message.source["content"]["m.mentions"] == {"user_ids": [human.user_id]}
        match = REFERENCE.search(thanks.body)
        assert match, thanks.body
        reference = match.group(0)
        assert int(match.group(1)) == datetime.now(config.bot.tz).year

        notice = await facilitator.wait_for_message(animation, bot_id, contains=reference)
        assert notice.decrypted
        assert "Nouveau dépôt de projet" in notice.body
        assert "Titre : Jardin partagé des Lilas" in notice.body and human.user_id in notice.body
        assert thread_root_of(notice) is None
        # Visibility « toute la communauté » and a tribe: the tribe room hears of it, outside the thread.
        announce = await human.wait_for_message(tribe, bot_id, contains="Un nouveau projet rejoint la tribu")
        assert reference in announce.body and thread_root_of(announce) is None

        [deposit] = deposits_in(app)
        assert deposit.reference == reference and deposit.title == "Jardin partagé des Lilas"
        assert deposit.tribe == "Alimentation" and deposit.carrier == human.user_id
        assert deposit.depositor == human.user_id and deposit.visibility == "community"
        assert deposit.origin_thread_root == form.root
        assert deposit.answers["needs"] == ["partners", "funding"] and deposit.answers["stage"] == "idea"
        # The notice went out once.
        await asyncio.sleep(1.0)
        assert len([e for e in facilitator.messages(animation, bot_id) if reference in e.body]) == 1

        # The CSV export reaches the encrypted facilitators' room as an encrypted file.
        before = len(facilitator.messages(animation, bot_id))
        await facilitator.send(animation, "!depots export")
        await facilitator.wait_until(
            lambda: any(isinstance(e, RoomEncryptedFile) for e in facilitator.messages(animation, bot_id)[before:]),
            what="the encrypted CSV file")
        [upload] = [e for e in facilitator.messages(animation, bot_id)[before:] if isinstance(e, RoomEncryptedFile)]
        assert upload.body.endswith(".csv")
        downloaded = await facilitator.client.download(upload.url)
        assert isinstance(downloaded, MemoryDownloadResponse)
        assert reference.encode() not in downloaded.body  # stored encrypted on the homeserver
        csv_text = decrypt_attachment(downloaded.body, upload.key["k"], upload.hashes["sha256"],
                                      upload.iv).decode("utf-8-sig")
        assert reference in csv_text and "Jardin partagé des Lilas" in csv_text


async def test_a_restart_in_the_middle_of_a_form_resumes_at_the_next_question(
        synapse, make_bot, bot_account, human, facilitator, tmp_path):
    bot_id = bot_account.user_id
    tribe, animation = await setup_rooms(human, facilitator, bot_id)
    config = bot_config(synapse, tmp_path / "bot", bot_account, rooms=rooms_config(tribe, animation),
                        facilitators=(facilitator.user_id,))
    steps = answers_until_recap("Ressourcerie du Diois")
    form = FormThread(human, tribe, bot_id)
    async with make_bot(config):
        await human.wait_joined(tribe, bot_id)
        await form.open()
        await form.fill(steps[:2])  # title and tribe answered; the carrier question is asked
    before_restart = len(form.bot_messages())

    async with make_bot(config) as app:
        # "moi" would be a valid title (3 characters): had the form restarted, the tribe would come next.
        resumed = await form.answer("moi", "Question 4/9 — Territoire")
        assert thread_root_of(resumed) == form.root
        # Nothing was said again at start-up: the next bot message in the thread is the answer to "moi".
        assert form.bot_messages()[before_restart] is resumed
        recap = await form.fill(steps[3:])
        assert "Titre : Ressourcerie du Diois" in recap.body
        assert "Tribu : Alimentation" in recap.body and "Porteur du projet : Moi-même" in recap.body

        # Confirmed with ✅ on the recap, as the recap invites.
        before = len(form.bot_messages())
        await human.react(tribe, recap.event_id, "✅")
        await human.wait_until(lambda: len(form.bot_messages()) > before, 15, "the thanks after ✅")
        thanks = form.bot_messages()[before]
        reference = REFERENCE.search(thanks.body).group(0)
        assert "Ressourcerie du Diois" in thanks.body
        await facilitator.wait_for_message(animation, bot_id, contains=reference)

        [deposit] = deposits_in(app)
        assert deposit.reference == reference
        assert deposit.answers["title"] == "Ressourcerie du Diois" and deposit.answers["tribe"] == "Alimentation"
        with app.db.session() as session:
            drafts = list(session.exec(select(DepositDraft)))
        assert len(drafts) == 1 and drafts[0].status == "confirmed" and drafts[0].thread_root == form.root


async def test_two_members_filling_forms_at_once_in_one_room_do_not_mix(
        synapse, make_bot, bot_account, human, facilitator, tmp_path):
    bot_id = bot_account.user_id
    tribe = await human.create_room("Tribu Alimentation", encrypted=True, invite=(bot_id, facilitator.user_id))
    config = bot_config(synapse, tmp_path / "bot", bot_account,
                        rooms=[{"id": tribe, "kind": "tribe", "name": "Alimentation"}],
                        facilitators=(facilitator.user_id,))
    async with make_bot(config) as app:
        await facilitator.client.join(tribe)
        await human.wait_joined(tribe, bot_id)
        await human.wait_joined(tribe, facilitator.user_id)
        await facilitator.wait_joined(tribe, bot_id)

        mine = FormThread(human, tribe, bot_id)
        theirs = FormThread(facilitator, tribe, bot_id)
        await asyncio.gather(mine.open(), theirs.open())
        assert mine.root != theirs.root
        # The facilitator deposits on behalf of another member (the carrier): two more questions.
        on_behalf = [("autre", "Question 4/11 — Nom du porteur"),
                     ("Camille Martin", "Question 5/11 — Contact du porteur"),
                     (human.user_id, "Question 6/11 — Territoire")]
        recaps = await asyncio.gather(
            mine.fill(answers_until_recap("Jardin partagé des Lilas")),
            theirs.fill(answers_until_recap("Cantine bio intercommunale", carrier=on_behalf, total=11)))
        mine_recap, their_recap = recaps
        assert "Jardin partagé des Lilas" in mine_recap.body and "Cantine" not in mine_recap.body
        assert "Cantine bio intercommunale" in their_recap.body and "Jardin" not in their_recap.body
        assert "Porteur du projet : Moi-même" in mine_recap.body and "Camille" not in mine_recap.body
        assert "Porteur du projet : Une autre personne" in their_recap.body
        assert "Nom du porteur : Camille Martin" in their_recap.body
        assert f"Contact du porteur : {human.user_id}" in their_recap.body

        # Each thread only ever addressed its own member.
        for form, user in ((mine, human), (theirs, facilitator)):
            assert len(form.bot_messages()) >= 9
            for message in form.bot_messages():
                assert message.source["content"]["m.mentions"] == {"user_ids": [user.user_id]}, message.body

        thanks = await asyncio.gather(mine.answer("oui", "Jardin partagé des Lilas"),
                                      theirs.answer("oui", "Cantine bio intercommunale"))
        references = [REFERENCE.search(t.body).group(0) for t in thanks]
        assert references[0] != references[1]

        deposits = {d.reference: d for d in deposits_in(app)}
        assert set(deposits) == set(references)
        own, on_behalf_of = deposits[references[0]], deposits[references[1]]
        assert own.depositor == human.user_id and own.carrier == human.user_id
        assert on_behalf_of.depositor == facilitator.user_id and on_behalf_of.carrier == "Camille Martin"
        assert on_behalf_of.answers["carrier_contact"] == human.user_id
        assert own.origin_thread_root == mine.root and on_behalf_of.origin_thread_root == theirs.root
