"""!partager: the author of a deposit withheld from a confidential room shares it later, and only the author."""

from tests.unit.handlers.deposits.deposit_app import (
    ALICE,
    BOB,
    FACILITATOR,
    FACILITATORS,
    PEERS,
    SELF_DEPOSIT,
    deposits,
    fill,
)


async def test_the_author_may_share_a_withheld_deposit_later_and_only_the_author(make_deposit_app):
    async with make_deposit_app() as h:
        await h.say(ALICE, "!deposer", room=PEERS)
        sent = await fill(h, ALICE, [*SELF_DEPOSIT[:-1], "non", "oui"])
        assert not deposits(h)[0].content_shared
        assert "!partager DEP-2027-0001" in sent[0].body  # the way back is offered at once

        # Someone else cannot, and learns nothing about the deposit.
        [refused] = await h.say(BOB, "!partager DEP-2027-0001", room=PEERS)
        assert "Vous n'avez pas de dépôt" in refused.body and "Cantine" not in refused.body
        assert not deposits(h)[0].content_shared
        [bad] = await h.say(ALICE, "!partager", room=PEERS)
        assert "référence" in bad.body

        # The first word only asks for a confirmation: nothing is lifted yet.
        told, asked = await h.say(ALICE, "!partager dep-2027-0001", room=PEERS)
        assert told.room_id == PEERS and "DEP-2027" not in told.body
        assert asked.room_id == await h.dm(ALICE) and "!partager DEP-2027-0001 confirmer" in asked.body
        assert not deposits(h)[0].content_shared
        assert not [s for s in h.app.sent if s.room_id == FACILITATORS and "Cantine" in s.body]
        # Someone else's confirmation is refused like their request.
        [refused] = await h.say(BOB, "!partager DEP-2027-0001 confirmer", room=PEERS)
        assert "Vous n'avez pas de dépôt" in refused.body and not deposits(h)[0].content_shared

        sent = await h.say(ALICE, "!partager dep-2027-0001 confirmer", room=PEERS)
        assert deposits(h)[0].content_shared
        told, confirmation, notice = sent
        assert told.room_id == PEERS and "message privé" in told.body and "DEP-2027" not in told.body
        assert confirmation.room_id == await h.dm(ALICE) and "transmis à l'équipe d'animation" in confirmation.body
        # Asked in the peer group, the notice gets past the sender's guard by the author's consent.
        assert notice.room_id == FACILITATORS
        assert "son auteur en partage maintenant le contenu" in notice.body
        assert "Cantine bio intercommunale" in notice.body
        assert "Partage avec l'équipe : oui" in notice.body and deposits(h)[0].answers["share_content"] is True
        shown = await h.say(FACILITATOR, "!depot DEP-2027-0001", room=FACILITATORS)
        assert "Cantine bio intercommunale" in shown[0].body

        [again] = await h.say(ALICE, "!partager DEP-2027-0001", room=await h.dm(ALICE))
        assert "déjà" in again.body
