"""Where a deposit is announced: the rooms recorded in the database, a tribe found by its folded name."""

from handlers.deposits.formsource import form_for, tribe_names
from handlers.deposits.records import facilitators_notice, tribe_room
from storage.deposits import Deposit
from storage.rooms import RoomRecord, classify_room
from tests.unit.handlers.deposits.harness import FACILITATORS, Harness


def test_a_tribe_is_found_whatever_the_case_and_accents_of_its_name(tmp_path):
    h = Harness.build(tmp_path)
    with h.db.session() as session:
        classify_room(session, "!jardins:test", "tribe", "jardins partagés", None)
    assert tribe_room(h.services, "Énergie") == tribe_room(h.services, "energie") == "!energie:test"
    assert tribe_room(h.services, "Jardins Partages") == "!jardins:test"
    assert tribe_room(h.services, "Eau") is None
    # The form offers each tribe once, spelt as the configuration does.
    assert tribe_names(h.services) == ["Énergie", "Alimentation", "jardins partagés"]


def test_without_a_facilitators_room_there_is_no_notice(tmp_path):
    h = Harness.build(tmp_path)
    deposit = Deposit(
        reference="DEP-2027-0001",
        year=2027,
        sequence=1,
        title="Cantine",
        carrier="@alice:test",
        depositor="@alice:test",
        origin_room_id="!energie:test",
        created_at=h.clock(),
    )
    assert facilitators_notice(h.services, form_for(h.services), deposit).room_id == FACILITATORS.room_id
    with h.db.session() as session:
        room = session.get(RoomRecord, FACILITATORS.room_id)
        room.kind = None
        session.add(room)
    assert facilitators_notice(h.services, form_for(h.services), deposit) is None
