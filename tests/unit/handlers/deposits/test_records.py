"""Where a deposit is announced: the rooms recorded in the database, a tribe found by its folded name."""

from handlers.deposits.formsource import form_for, tribe_names
from handlers.deposits.records import facilitators_notice, tribe_room
from storage.deposits import Deposit
from storage.rooms import RoomRecord, classify_room
from tests.unit.handlers.deposits.deposit_app import FACILITATORS, TRIBE_ENERGY


async def test_a_tribe_is_found_whatever_the_case_and_accents_of_its_name(make_deposit_app):
    async with make_deposit_app() as h:
        services = h.app.services
        with h.db.session() as session:
            classify_room(session, "!jardins:test", "tribe", "jardins partagés", None)
        with h.db.session() as session:
            assert tribe_room(session, "Énergie") == tribe_room(session, "energie") == TRIBE_ENERGY
            assert tribe_room(session, "Jardins Partages") == "!jardins:test"
            assert tribe_room(session, "Eau") is None
            # The form offers each tribe once, spelt as the configuration does.
            assert tribe_names(session, services) == ["Énergie", "Alimentation", "jardins partagés"]


async def test_without_a_facilitators_room_there_is_no_notice(make_deposit_app):
    async with make_deposit_app() as h:
        services = h.app.services
        deposit = Deposit(
            reference="DEP-2027-0001",
            year=2027,
            sequence=1,
            title="Cantine",
            carrier="@alice:test",
            depositor="@alice:test",
            origin_room_id=TRIBE_ENERGY,
            created_at=h.clock(),
        )
        with h.db.session() as session:
            notice = facilitators_notice(session, services, form_for(session, services), deposit)
        assert notice is not None and notice.room_id == FACILITATORS
        with h.db.session() as session:
            room = session.get(RoomRecord, FACILITATORS)
            assert room is not None
            room.kind = None
            session.add(room)
        with h.db.session() as session:
            assert facilitators_notice(session, services, form_for(session, services), deposit) is None
