"""Project deposits through a real Synapse: the form moves from an encrypted tribe room to the member's
encrypted direct chat, the facilitators' notice, a restart in the middle of a form, two members at once, an
invitation declined or never answered, and a draft the previous release left in a room's thread. A second
ordinary member of the tribe room sits in every test: none of the private words may reach them."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

import pytest
from nio import MegolmEvent, MemoryDownloadResponse, RoomEncryptedFile
from nio.crypto.attachments import decrypt_attachment
from sqlmodel import col, select

from bot.devtools.person import ScriptedPerson
from bot.polls import POLL_END, POLL_START
from handlers.deposits.machine import FormState
from storage.deposits import Deposit, DepositDraft
from tests.integration.conftest import bot_config
from tests.integration.silence import said_before_sentinel

pytestmark = pytest.mark.synapse

REFERENCE = re.compile(r"DEP-(\d{4})-\d{4}")
DESCRIPTION = "Un jardin partagé au pied des immeubles, avec des ateliers pour les écoles du quartier."
# Seconds the bot's next reply in the direct chat may take.
REPLY_WITHIN = 20.0


def thread_root_of(event) -> str | None:
    relation = event.source.get("content", {}).get("m.relates_to") or {}
    return relation.get("event_id") if relation.get("rel_type") == "m.thread" else None


class PrivateForm:
    """One member filling the deposit form in their direct chat with the bot, as a person would."""

    def __init__(self, user: ScriptedPerson, room_id: str, bot_id: str) -> None:
        self.user, self.room_id, self.bot_id = user, room_id, bot_id
        self.direct: str | None = None

    def bot_messages(self) -> list:
        """The bot's messages in the direct chat, in arrival order (undecryptable ones included)."""
        return self.user.messages(self.direct, self.bot_id) if self.direct else []

    async def _next_reply(self, before: int, expect: str):
        await self.user.wait_until(
            lambda: len(self.bot_messages()) > before,
            REPLY_WITHIN,
            f"the bot's reply in the direct chat (expecting {expect!r})",
        )
        reply = self.bot_messages()[before]
        assert not isinstance(reply, MegolmEvent), f"could not decrypt {reply.event_id}"
        assert expect in reply.body, f"expected {expect!r} in the direct chat, got: {reply.body[:400]!r}"
        return reply

    async def open(self, expect: str = "Question 1 —") -> object:
        """!deposer in the shared room: the room is told, the questions come in the direct chat."""
        before = len(self.user.messages(self.room_id, self.bot_id))
        await self.user.send(self.room_id, "!deposer")
        told = await self.user.wait_for_message(self.room_id, self.bot_id, contains="message privé", after=before)
        self.direct = await self.user.wait_direct_room(self.bot_id)
        assert self.user.client.rooms[self.direct].encrypted
        return told, await self._next_reply(0, expect)

    async def answer(self, text: str, expect: str):
        """Sends `text` in the direct chat; the bot's first reply there must contain `expect`."""
        assert self.direct is not None, "the form was never opened"
        before = len(self.bot_messages())
        await self.user.send(self.direct, text)
        return await self._next_reply(before, expect)

    async def fill(self, steps: list[tuple[str, str]]):
        reply = None
        for text, expect in steps:
            reply = await self.answer(text, expect)
        return reply


def read_by(user: ScriptedPerson, room_id: str) -> str:
    """Everything `user` can read in a room, as one text."""
    return "\n".join(getattr(e, "body", "") for e in user.messages(room_id))


def answers_until_recap(title: str, *, carrier: list[tuple[str, str]] | None = None, total: int = 9):
    """The default form (with one tribe configured) from the title to the recap."""
    carrier = carrier or [("moi", "Question 4 — Territoire")]
    n = 4 + (total - 9)  # the territory's position once the carrier is known
    return [
        (title, "Question 2 — Tribu"),
        ("Alimentation", "Question 3 — Porteur du projet"),
        *carrier,
        ("Communauté de communes du Diois", f"Question {n + 1} — Description"),
        (DESCRIPTION, f"Question {n + 2} — Besoins"),
        ("des partenaires et un financement", f"Question {n + 3} — Avancement"),
        ("idée", f"Question {n + 4} — E-mail de contact"),
        ("porteur@example.org", f"Question {n + 5} — Visibilité"),
        ("toute la communauté", "Récapitulatif"),
    ]


def deposits_in(app) -> list[Deposit]:
    with app.db.session() as session:
        return list(session.exec(select(Deposit).order_by(col(Deposit.sequence))))


async def setup_rooms(
    human: ScriptedPerson, facilitator: ScriptedPerson, bot_id: str, member: ScriptedPerson | None = None
) -> tuple[str, str]:
    """A tribe room made by a member (with a second member, if given) and the facilitators' room, both
    encrypted, the bot invited."""
    invite = (bot_id, member.user_id) if member else (bot_id,)
    tribe = await human.create_room("Tribu Alimentation", encrypted=True, invite=invite)
    animation = await facilitator.create_room("Animation", encrypted=True, invite=(bot_id,))
    if member:
        await human.wait_joined(tribe, member.user_id)
    return tribe, animation


def rooms_config(tribe: str, animation: str) -> list[dict]:
    return [
        {"id": tribe, "kind": "tribe", "name": "Alimentation"},
        {"id": animation, "kind": "facilitators", "name": "Animation"},
    ]


async def test_a_whole_deposit_started_in_an_encrypted_tribe_room_is_filled_in_private(
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
        _told, first = await form.open()
        assert first.decrypted and set(human.client.rooms[form.direct].users) == {human.user_id, bot_id}
        assert "Merci de déposer un projet" in first.body and "Quel est le titre du projet ?" in first.body
        tribe_question = await form.answer("Jardin partagé des Lilas", "Question 2 — Tribu")
        assert "1. Alimentation" in tribe_question.body
        # The tribe is also asked as a poll, in the encrypted direct chat: the member taps it.
        await human.wait_until(lambda: bool(human.events_of_type(form.direct, POLL_START)), what="the tribe's poll")
        [poll] = human.events_of_type(form.direct, POLL_START)
        answers = poll.source["content"][POLL_START]["answers"]
        assert [a["org.matrix.msc1767.text"] for a in answers] == ["Alimentation"]
        before = len(form.bot_messages())
        await human.vote(form.direct, poll.event_id, answers[0]["id"])
        await form._next_reply(before, "Question 3 — Porteur du projet")
        await human.wait_until(lambda: bool(human.events_of_type(form.direct, POLL_END)), what="the poll's end")
        [end] = human.events_of_type(form.direct, POLL_END)
        assert end.source["content"]["m.relates_to"]["event_id"] == poll.event_id
        recap = await form.fill(answers_until_recap("Jardin partagé des Lilas")[2:])
        for line in (
            "Titre : Jardin partagé des Lilas",
            "Tribu : Alimentation",
            "Porteur du projet : Moi-même",
            "Besoins : Des partenaires, Un financement",
            "Avancement : C'est une idée",
            "E-mail de contact : porteur@example.org",
            "Visibilité : Toute la communauté",
        ):
            assert line in recap.body, recap.body
        thanks = await form.answer("oui", "Merci ! Votre projet « Jardin partagé des Lilas » est déposé")
        assert len(form.bot_messages()) == 11  # 9 questions, the recap, the thanks
        reference = REFERENCE.search(thanks.body).group(0)
        assert int(REFERENCE.search(thanks.body).group(1)) == datetime.now(config.bot.tz).year

        notice = await facilitator.wait_for_message(animation, bot_id, contains=reference)
        assert notice.decrypted and "Nouveau dépôt de projet" in notice.body
        assert "Titre : Jardin partagé des Lilas" in notice.body and human.user_id in notice.body
        # « Toute la communauté »: the tribe room hears of it, as an announcement.
        announce = await member.wait_for_message(tribe, bot_id, contains="Un nouveau projet rejoint la tribu")
        assert reference in announce.body

        # The second member of the tribe room read the pointer and the announcement, none of the form.
        seen = read_by(member, tribe)
        assert "message privé" in seen
        for private in (
            "Quel est le titre",
            "Question 2 —",
            DESCRIPTION,
            "porteur@example.org",
            "Récapitulatif",
            "Merci ! Votre projet",
        ):
            assert private not in seen, private
        assert form.direct not in member.client.rooms

        [deposit] = deposits_in(app)
        assert deposit.reference == reference and deposit.title == "Jardin partagé des Lilas"
        assert deposit.depositor == human.user_id and deposit.origin_room_id == tribe
        assert deposit.answers["needs"] == ["partners", "funding"] and deposit.answers["stage"] == "idea"
        announced = await said_before_sentinel(facilitator, animation, bot_id)
        assert len([e for e in announced if reference in e.body]) == 1

        # A status change reaches the depositor in the direct chat, not the tribe room.
        before = len(form.bot_messages())
        await facilitator.send(animation, f"!depot {reference} statut en étude Rendez-vous pris le 12 mars")
        status = await form._next_reply(before, "en étude")
        assert "Rendez-vous pris le 12 mars" in status.body and "Jardin partagé des Lilas" in status.body
        # !mes-depots in the tribe room: the listing goes to the direct chat too.
        before = len(form.bot_messages())
        await human.send(tribe, "!mes-depots")
        listing = await form._next_reply(before, reference)
        assert "Jardin partagé des Lilas" in listing.body
        seen = "\n".join(getattr(e, "body", "") for e in await said_before_sentinel(member, tribe, bot_id))
        assert "Rendez-vous pris" not in seen and "Vos dépôts" not in seen

        # The CSV export reaches the encrypted facilitators' room as an encrypted file.
        before = len(facilitator.messages(animation, bot_id))
        await facilitator.send(animation, "!depots export")
        await facilitator.wait_until(
            lambda: any(isinstance(e, RoomEncryptedFile) for e in facilitator.messages(animation, bot_id)[before:]),
            what="the encrypted CSV file",
        )
        [upload] = [e for e in facilitator.messages(animation, bot_id)[before:] if isinstance(e, RoomEncryptedFile)]
        downloaded = await facilitator.client.download(upload.url)
        assert isinstance(downloaded, MemoryDownloadResponse)
        assert reference.encode() not in downloaded.body  # stored encrypted on the homeserver
        csv_text = decrypt_attachment(downloaded.body, upload.key["k"], upload.hashes["sha256"], upload.iv).decode(
            "utf-8-sig"
        )
        assert reference in csv_text and "Jardin partagé des Lilas" in csv_text


async def test_a_restart_in_the_middle_of_a_form_resumes_at_the_next_question(
    synapse, make_bot, bot_account, human, facilitator, tmp_path
):
    bot_id = bot_account.user_id
    tribe, animation = await setup_rooms(human, facilitator, bot_id)
    config = bot_config(
        synapse,
        tmp_path / "bot",
        bot_account,
        rooms=rooms_config(tribe, animation),
        facilitators=(facilitator.user_id,),
    )
    steps = answers_until_recap("Ressourcerie du Diois")
    form = PrivateForm(human, tribe, bot_id)
    async with make_bot(config):
        await human.wait_joined(tribe, bot_id)
        await form.open()
        await form.fill(steps[:2])  # title and tribe answered; the carrier question is asked
    before_restart = len(form.bot_messages())

    async with make_bot(config) as app:
        # "moi" would be a valid title (3 characters): had the form restarted, the tribe would come next.
        resumed = await form.answer("moi", "Question 4 — Territoire")
        # Nothing was said again at start-up: the next bot message is the answer to "moi".
        assert form.bot_messages()[before_restart] is resumed
        recap = await form.fill(steps[3:])
        assert "Titre : Ressourcerie du Diois" in recap.body and "Porteur du projet : Moi-même" in recap.body

        # Confirmed with ✅ on the recap, as the recap invites.
        before = len(form.bot_messages())
        await human.react(form.direct, recap.event_id, "✅")
        thanks = await form._next_reply(before, "Ressourcerie du Diois")
        reference = REFERENCE.search(thanks.body).group(0)
        await facilitator.wait_for_message(animation, bot_id, contains=reference)
        [deposit] = deposits_in(app)
        assert deposit.answers["title"] == "Ressourcerie du Diois" and deposit.answers["tribe"] == "Alimentation"
        with app.db.session() as session:
            drafts = list(session.exec(select(DepositDraft)))
        assert len(drafts) == 1 and drafts[0].status == "confirmed" and drafts[0].room_id == form.direct


async def test_two_members_filling_forms_at_once_each_in_their_own_direct_chat(
    synapse, make_bot, bot_account, human, member, facilitator, tmp_path
):
    bot_id = bot_account.user_id
    tribe = await human.create_room("Tribu Alimentation", encrypted=True, invite=(bot_id, member.user_id))
    config = bot_config(
        synapse,
        tmp_path / "bot",
        bot_account,
        rooms=[{"id": tribe, "kind": "tribe", "name": "Alimentation"}],
        facilitators=(facilitator.user_id,),
    )
    async with make_bot(config) as app:
        await human.wait_joined(tribe, bot_id)
        await human.wait_joined(tribe, member.user_id)
        await member.wait_joined(tribe, bot_id)

        mine, theirs = PrivateForm(human, tribe, bot_id), PrivateForm(member, tribe, bot_id)
        await asyncio.gather(mine.open(), theirs.open())
        assert mine.direct != theirs.direct
        # The member deposits on behalf of someone else (the carrier): two more questions.
        on_behalf = [
            ("autre", "Question 4 — Nom du porteur"),
            ("Camille Martin", "Question 5 — Contact du porteur"),
            (human.user_id, "Question 6 — Territoire"),
        ]
        mine_recap, their_recap = await asyncio.gather(
            mine.fill(answers_until_recap("Jardin partagé des Lilas")),
            theirs.fill(answers_until_recap("Cantine bio intercommunale", carrier=on_behalf, total=11)),
        )
        assert "Jardin partagé des Lilas" in mine_recap.body and "Cantine" not in mine_recap.body
        assert "Cantine bio intercommunale" in their_recap.body and "Jardin" not in their_recap.body
        assert "Nom du porteur : Camille Martin" in their_recap.body

        thanks = await asyncio.gather(
            mine.answer("oui", "Jardin partagé des Lilas"), theirs.answer("oui", "Cantine bio intercommunale")
        )
        references = [REFERENCE.search(t.body).group(0) for t in thanks]
        deposits = {d.reference: d for d in deposits_in(app)}
        assert set(deposits) == set(references) and references[0] != references[1]
        assert deposits[references[0]].depositor == human.user_id
        assert deposits[references[1]].depositor == member.user_id
        assert deposits[references[1]].carrier == "Camille Martin"
        # Each read nothing of the other's form: in the room, only the announcements of both projects.
        for user in (human, member):
            seen = read_by(user, tribe)
            for private in ("Question", "Récapitulatif", "Camille Martin", "porteur@example.org", "Merci !"):
                assert private not in seen, private
        assert theirs.direct not in human.client.rooms and mine.direct not in member.client.rooms


async def test_an_invitation_declined_or_left_unanswered_is_said_in_the_room_and_nothing_is_lost(
    synapse, make_bot, bot_account, human, member, facilitator, tmp_path
):
    bot_id = bot_account.user_id
    tribe, animation = await setup_rooms(human, facilitator, bot_id, member)
    # A minute's tenth: the scheduler looks every three seconds.
    config = bot_config(
        synapse,
        tmp_path / "bot",
        bot_account,
        rooms=rooms_config(tribe, animation),
        facilitators=(facilitator.user_id,),
        extra={"bot": {"direct_chat_wait_minutes": 0.1}},
    )
    async with make_bot(config) as app:
        await human.wait_joined(tribe, bot_id)
        await member.wait_joined(tribe, bot_id)
        # The human's client declines the bot's invitation.
        human.accept_invites = False
        await human.send(tribe, "!deposer")
        refused = await human.wait_for_message(tribe, bot_id, contains="refusée", timeout=30)
        assert human.user_id in refused.source["content"]["m.mentions"]["user_ids"]
        assert "Question" not in refused.body
        with app.db.session() as session:
            [draft] = session.exec(select(DepositDraft)).all()
        assert draft.status == "filling"  # the draft stays

        # The next time, the client never answers the invitation: after the wait, one notice.
        human.accept_invites = None  # neither join nor refuse
        before = len(human.messages(tribe, bot_id))
        await human.send(tribe, "!deposer")
        waiting = await human.wait_for_message(tribe, bot_id, contains="pas encore rejoint", after=before, timeout=30)
        assert "Question" not in waiting.body
        # Joining late gets every message that waited, in order, and the form goes on.
        late = human.invites[-1]  # the second invitation, left unanswered until now
        await human.client.join(late)
        # What waited for the refused chat, then what the second !deposer said: the form in progress.
        await human.wait_until(lambda: len(human.messages(late, bot_id)) >= 3, 30, "the waiting messages")
        bodies = [getattr(e, "body", "") for e in human.messages(late, bot_id)]
        assert "Question 1 —" in bodies[0] and "déjà un dépôt en cours" in bodies[1] and "Question 1 —" in bodies[2]
        form = PrivateForm(human, tribe, bot_id)
        form.direct = late
        await form.answer("Jardin partagé des Lilas", "Question 2 —")
        assert "Jardin" not in read_by(member, tribe)


async def test_a_draft_left_in_a_room_thread_by_the_previous_release_goes_on_in_private(
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
        # Stands for the !deposer the previous release opened its thread on.
        root = await human.send(tribe, "Je dépose mon projet de ressourcerie")
        # As the 2026-12-01 release left it: the draft lives in the thread of that message, title answered.
        now = datetime.now(UTC)
        state = FormState(
            current="tribe",
            answers={"title": "Ressourcerie du Diois"},
            history=["title"],
            facts={"origin_confidential": False},
            started_at=now.isoformat(),
            updated_at=now.isoformat(),
        )
        with app.db.session() as session:
            session.add(
                DepositDraft(
                    room_id=tribe,
                    user_id=human.user_id,
                    thread_root=root,
                    state=state.to_json(),
                    status="filling",
                    created_at=now,
                    updated_at=now,
                )
            )
        before = len(human.messages(tribe, bot_id))
        await human.send(tribe, "1", thread_root=root)
        moved = await human.wait_for_message(tribe, bot_id, contains="message privé", after=before)
        assert thread_root_of(moved) == root
        form = PrivateForm(human, tribe, bot_id)
        form.direct = await human.wait_direct_room(bot_id)
        carrier = await form._next_reply(0, "Question 3 — Porteur du projet")
        assert carrier.decrypted
        await form.fill(answers_until_recap("Ressourcerie du Diois")[2:])
        await form.answer("oui", "Ressourcerie du Diois")
        [deposit] = deposits_in(app)
        assert deposit.title == "Ressourcerie du Diois" and deposit.origin_room_id == tribe
        assert "Porteur du projet" not in read_by(member, tribe)
