"""Rooms by kind: the facilitators' room, the tribes, and a room's kind recorded."""

from datetime import UTC

from storage.rooms import RoomRecord, classify_room, facilitators_room_id, room_ids_of_kinds, rooms_of_kind


def add_rooms(db, *records: RoomRecord) -> None:
    with db.session() as session:
        session.add_all(records)


def test_the_facilitators_room_is_the_same_whoever_asks(db):
    with db.session() as session:
        assert facilitators_room_id(session) is None
    add_rooms(
        db,
        RoomRecord(room_id="!z:t", kind="facilitators"),
        RoomRecord(room_id="!a:t", kind="tribe"),
        RoomRecord(room_id="!m:t", kind="facilitators"),
    )
    with db.session() as session:
        assert facilitators_room_id(session) == "!m:t"


def test_rooms_of_a_kind_come_in_the_order_they_were_recorded(db):
    add_rooms(
        db,
        RoomRecord(room_id="!z:t", kind="tribe", name="Énergie"),
        RoomRecord(room_id="!p:t", kind="peer_group"),
        RoomRecord(room_id="!a:t", kind="tribe", name="Eau"),
    )
    with db.session() as session:
        # Renaming a room keeps its place: the form's tribe numbers do not move.
        classify_room(session, "!z:t", "tribe", "Énergie et climat", None)
    with db.session() as session:
        assert [(r.room_id, r.name) for r in rooms_of_kind(session, "tribe")] == [
            ("!z:t", "Énergie et climat"),
            ("!a:t", "Eau"),
        ]
        assert rooms_of_kind(session, "facilitators") == []


def test_room_ids_of_kinds_leave_out_direct_chats(db):
    add_rooms(
        db,
        RoomRecord(room_id="!b:t", kind="tribe"),
        RoomRecord(room_id="!a:t", kind="peer_group"),
        RoomRecord(room_id="!d:t", kind="tribe", is_direct=True),
        RoomRecord(room_id="!c:t", kind="facilitators"),
    )
    with db.session() as session:
        assert room_ids_of_kinds(session, ("tribe", "peer_group")) == ["!a:t", "!b:t"]


def test_classifying_a_room_records_its_kind_and_keeps_what_else_is_known(db):
    add_rooms(db, RoomRecord(room_id="!dm:t", is_direct=True, warned_unencrypted=True))
    with db.session() as session:
        classify_room(session, "!new:t", "peer_group", "Pairs — élus", "elus")
        classify_room(session, "!dm:t", "tribe", "Eau", None)
    with db.session() as session:
        new, known = session.get(RoomRecord, "!new:t"), session.get(RoomRecord, "!dm:t")
    assert (new.kind, new.name, new.role, new.confidential) == ("peer_group", "Pairs — élus", "elus", True)
    assert new.updated_at.tzinfo == UTC
    assert (known.kind, known.is_direct, known.warned_unencrypted) == ("tribe", True, True)
