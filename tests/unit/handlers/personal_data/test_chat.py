"""!mes-donnees and !oublier on the whole bot: answered in the member's direct chat, the erasure only on
their unambiguous answer, the facilitators told deposit references only, another member told nothing."""

import json

import pytest
from sqlmodel import select

from handlers.personal_data.chat import FORGET_LIFETIME
from storage.deposits import Deposit, DepositDraft
from storage.direct_chats import DirectChat
from tests.unit.handlers.deposits.deposit_app import (
    ALICE,
    BOB,
    FACILITATORS,
    PEERS,
    TRIBE_ENERGY,
    DepositApp,
    deposit_app_maker,
    deposit_through_chat,
    deposits,
)


@pytest.fixture
async def h(make_test_app):
    async with deposit_app_maker(make_test_app)() as running:
        yield running


def rooms_of(sent) -> set[str]:
    return {s.room_id for s in sent}


def read_by(h: DepositApp, user: str, sent):
    """What of these messages reached a room the member is in."""
    return [s for s in sent if h.app.homeserver.rooms[s.room_id].members.get(user) == "join"]


async def test_my_data_is_told_and_given_as_a_file_in_the_direct_chat_only(h: DepositApp):
    await deposit_through_chat(h)
    dm = await h.dm(ALICE)
    sent = await h.say(ALICE, "!mes-données", room=PEERS)
    # The confidential room hears only that the bot wrote privately, and nothing of what.
    [pointer] = [s for s in sent if s.room_id == PEERS]
    assert "message privé" in pointer.body and "Cantine" not in pointer.body
    assert rooms_of(sent) == {PEERS, dm}
    summary, upload = [s for s in sent if s.room_id == dm][-2:]
    assert "Dépôts de projets faits par vous : 1" in summary.body
    assert upload.content["msgtype"] == "m.file" and upload.content["info"]["mimetype"] == "application/json"
    exported = json.loads(h.attachment(upload))
    assert exported["membre"] == ALICE
    assert [d["titre"] for d in exported["depots"]] == ["Cantine bio intercommunale"]
    assert exported["conversations_privees"][0]["salon"] == dm
    # Bob, in the peer group with her, reads only the pointer.
    assert read_by(h, BOB, sent) == [pointer]


async def test_forgetting_asks_first_and_acts_only_on_the_members_own_answer(h: DepositApp):
    await deposit_through_chat(h)
    dm = await h.dm(ALICE)
    sent = await h.say(ALICE, "!oublier", room=TRIBE_ENERGY)
    [pointer] = [s for s in sent if s.room_id == TRIBE_ENERGY]
    assert "confirmer" in pointer.body and read_by(h, BOB, sent) == [pointer]
    [prompt] = [s for s in sent if s.room_id == dm]
    assert "OUI SUPPRIMER" in prompt.body and "Dépôts de projets faits par vous : 1" in prompt.body
    # A bare « oui », or a « oui » in reply to the question from another room, erases nothing.
    await h.say(ALICE, "oui", room=dm)
    await h.app.say(BOB, await h.dm(BOB), "OUI", reply_to=prompt.event_id)
    await h.app.react(BOB, await h.dm(BOB), prompt.event_id, "✅")
    assert len(deposits(h)) == 1 and deposits(h)[0].depositor == ALICE
    # An unclear answer explains and erases nothing; « non » renounces.
    [unclear] = await h.app.say(ALICE, dm, "peut-être", reply_to=prompt.event_id)
    assert "rien effacé" in unclear.body
    [renounced] = await h.app.say(ALICE, dm, "non", reply_to=prompt.event_id)
    assert "n'efface rien" in renounced.body
    # A yes that may or may not mean her deposits too: she is asked which, nothing is erased.
    [which] = await h.app.say(ALICE, dm, "oui allez-y", reply_to=prompt.event_id)
    assert "OUI SUPPRIMER" in which.body and "rien effacé" in which.body
    assert len(deposits(h)) == 1

    sent = await h.app.say(ALICE, dm, "Oui, supprimez-les", reply_to=prompt.event_id)
    [done] = [s for s in sent if s.room_id == dm]
    reference = f"{h.clock.now.year}-"
    assert "C'est effacé" in done.body and "est supprimé" in done.body
    [notice] = [s for s in sent if s.room_id == FACILITATORS]
    assert reference in notice.body and "supprimé" in notice.body
    assert ALICE not in json.dumps(notice.content) and "alice" not in notice.body.lower()
    assert "Cantine" not in notice.body
    assert rooms_of(sent) == {dm, FACILITATORS} and read_by(h, BOB, sent) == []
    assert deposits(h) == []
    with h.db.session() as session:
        assert session.exec(select(DepositDraft).where(DepositDraft.user_id == ALICE)).all() == []
        assert session.exec(select(DirectChat).where(DirectChat.user_id == ALICE)).all() == []
    # Erased, she is a newcomer: a direct chat with her is recorded anew (found again in m.direct when it is
    # encrypted, as the bot opens them; the fake homeserver's is not, so one is opened) and holds only itself.
    sent = await h.say(ALICE, "!mes-donnees", room=TRIBE_ENERGY)
    summary, upload = [s for s in sent if s.room_id != TRIBE_ENERGY]
    assert "Conversations privées avec moi : 1" in summary.body and "Dépôts" not in summary.body
    assert json.loads(h.attachment(upload))["depots"] == []


async def test_a_check_mark_keeps_the_deposits_anonymised(h: DepositApp):
    await deposit_through_chat(h)
    dm = await h.dm(ALICE)
    [prompt] = await h.say(ALICE, "!oublier", room=dm)
    sent = await h.app.react(ALICE, dm, prompt.event_id, "✅")
    [done] = [s for s in sent if s.room_id == dm]
    assert "reste pour la communauté" in done.body
    [notice] = [s for s in sent if s.room_id == FACILITATORS]
    assert "anonymisé" in notice.body and "Cantine" not in notice.body
    [kept] = deposits(h)
    assert kept.title == "Cantine bio intercommunale" and kept.depositor == "" and kept.carrier == ""
    assert kept.answers["contact"] is None and ALICE not in json.dumps(kept.answers)


async def test_the_question_expires(h: DepositApp):
    await deposit_through_chat(h)
    dm = await h.dm(ALICE)
    [prompt] = await h.say(ALICE, "!oublier", room=dm)
    h.clock.now += FORGET_LIFETIME * 2
    [expired] = await h.app.say(ALICE, dm, "oui", reply_to=prompt.event_id)
    assert "expiré" in expired.body
    with h.db.session() as session:
        assert session.exec(select(Deposit)).one().depositor == ALICE
