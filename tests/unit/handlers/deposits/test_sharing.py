"""!partager: the author of a deposit withheld from a confidential room shares it later, and only the author."""

from tests.unit.handlers.deposits.harness import (
    ALICE,
    BOB,
    FACILITATOR,
    FACILITATORS,
    PEERS,
    SELF_DEPOSIT,
    Harness,
    deposits,
    fill,
)


async def test_the_author_may_share_a_withheld_deposit_later_and_only_the_author(tmp_path):
    h = Harness.build(tmp_path)
    await h.say(ALICE, "!deposer", room=PEERS)
    sent = await fill(h, ALICE, [*SELF_DEPOSIT[:-1], "non", "oui"])
    assert not deposits(h)[0].content_shared
    assert "!partager DEP-2027-0001" in sent[0].text  # the way back is offered at once

    # Someone else cannot, and learns nothing about the deposit.
    [refused] = await h.say(BOB, "!partager DEP-2027-0001", room=PEERS)
    assert "Vous n'avez pas de dépôt" in refused.text and "Cantine" not in refused.text
    assert not deposits(h)[0].content_shared
    [bad] = await h.say(ALICE, "!partager", room=PEERS)
    assert "référence" in bad.text

    sent = await h.say(ALICE, "!partager dep-2027-0001", room=PEERS)
    assert deposits(h)[0].content_shared
    told, confirmation, notice = sent
    assert told.room_id is None and "message privé" in told.text and "DEP-2027" not in told.text
    assert confirmation.room_id == h.dm(ALICE).room_id and "transmis à l'équipe d'animation" in confirmation.text
    assert notice.room_id == FACILITATORS.room_id and notice.author_consented
    assert "son auteur en partage maintenant le contenu" in notice.text and "Cantine bio intercommunale" in notice.text
    assert "Partage avec l'équipe : oui" in notice.text and deposits(h)[0].answers["share_content"] is True
    shown = await h.say(FACILITATOR, "!depot DEP-2027-0001", room=FACILITATORS)
    assert "Cantine bio intercommunale" in shown[0].text

    [again] = await h.say(ALICE, "!partager DEP-2027-0001", room=h.dm(ALICE))
    assert "déjà" in again.text
