"""A member's inventory and erasure, on SQLite and PostgreSQL: what someone else's deposit says of them,
what a facilitator leaves in the follow-up, and what is never told from a deposit kept to its author."""

import json
from datetime import UTC, datetime

from sqlmodel import select

from storage.deposits import Deposit, DepositDraft
from storage.personal_data import erase, inventory
from storage.questions import ForwardedQuestion

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
ANA, BOB, FANNY = "@ana:t", "@bob:t", "@fanny:t"


def deposit(number: int, depositor: str, answers: dict, **fields) -> Deposit:
    return Deposit(
        reference=f"DEP-2027-{number:04d}",
        year=2027,
        sequence=number,
        title=answers.get("title", "Projet"),
        carrier=fields.pop("carrier", depositor),
        depositor=depositor,
        origin_room_id="!tribe:t",
        created_at=T0,
        answers=answers,
        **fields,
    )


def kinds(held) -> dict[str, list]:
    return {kind.key: kind.items for kind in held.kinds}


def test_someone_elses_deposit_shows_only_what_it_says_of_its_carrier(db):
    for_ana = {"title": "Jardin", "carrier": "other", "carrier_name": "Ana Martin", "carrier_contact": ANA}
    with db.session() as session:
        session.add(deposit(1, BOB, for_ana, carrier="Ana Martin"))
        # Kept to its author (a confidential room, no agreement): not even its reference is told.
        session.add(deposit(2, BOB, {**for_ana, "title": "Secret"}, carrier="Ana Martin", content_shared=False))
    with db.session() as session:
        carried = kinds(inventory(session, ANA, T0))["depots_pour_vous"]
    assert carried == [
        {"reference": "DEP-2027-0001", "date": T0, "nom_du_porteur": "Ana Martin", "contact_du_porteur": ANA}
    ]


def test_erasing_a_facilitator_leaves_no_name_in_the_follow_up_nor_on_answers(db):
    with db.session() as session:
        session.add(
            deposit(1, BOB, {"title": "Jardin"}, history=[{"status": "en-etude", "at": T0.isoformat(), "by": FANNY}])
        )
        session.add(ForwardedQuestion(room_id="!t:t", asker=BOB, question="Où ?", event_id="$q", answered_by=FANNY))
    with db.session() as session:
        erased = erase(session, FANNY, remove_deposits=False)
        session.commit()
    assert erased.anonymised == erased.removed == []
    with db.session() as session:
        kept = session.exec(select(Deposit)).one()
        answered = session.exec(select(ForwardedQuestion)).one()
    assert kept.depositor == BOB and kept.history == [{"status": "en-etude", "at": T0.isoformat(), "by": None}]
    assert answered.asker == BOB and answered.answered_by is None


def test_an_anonymised_deposit_keeps_its_content_and_loses_its_draft(db):
    mine = {"title": "Cantine", "carrier": "me", "contact": "ana@example.org", "description": "Une cantine locale."}
    with db.session() as session:
        draft = DepositDraft(
            room_id="!dm:t",
            user_id=ANA,
            state=json.dumps({"answers": mine}),
            status="confirmed",
            deposit_reference="DEP-2027-0001",
        )
        session.add(draft)
        session.flush()
        session.add(deposit(1, ANA, mine, draft_id=draft.id))
    with db.session() as session:
        erased = erase(session, ANA, remove_deposits=False)
        session.commit()
    assert erased.anonymised == ["DEP-2027-0001"] and erased.counts["brouillons"] == 0
    with db.session() as session:
        kept = session.exec(select(Deposit)).one()
        assert session.exec(select(DepositDraft)).all() == []
    assert (kept.depositor, kept.carrier, kept.draft_id) == ("", "", None)
    assert kept.answers == {**mine, "contact": None, "carrier_contact": None}
