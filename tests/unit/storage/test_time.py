"""UTC columns: written as the naive UTC text older releases wrote, read back as aware UTC."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from storage.questions import ForwardOffer
from storage.time import as_utc, utcnow

PARIS = ZoneInfo("Europe/Paris")


def test_utcnow_is_aware_utc():
    now = utcnow()
    assert now.tzinfo is UTC and abs(datetime.now(UTC) - now) < timedelta(seconds=5)


def test_as_utc_reads_a_naive_moment_as_utc_and_converts_an_aware_one():
    assert as_utc(datetime(2027, 3, 1, 9, 0)) == datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    converted = as_utc(datetime(2027, 3, 1, 10, 0, tzinfo=PARIS))
    assert converted.tzinfo is UTC and converted.hour == 9


def stored(db, offer_id: int):
    with db.engine.connect() as connection:
        return connection.execute(text("SELECT created_at FROM forwardoffer WHERE id = :id"), {"id": offer_id}).scalar()


def test_a_moment_is_stored_as_naive_utc_text_and_read_back_aware(db):
    with db.session() as session:
        session.add(
            ForwardOffer(
                id=1,
                room_id="!r:t",
                asker="@ana:t",
                question="?",
                event_id="$e",
                created_at=datetime(2027, 3, 1, 10, 30, tzinfo=PARIS),
            )
        )
    if db.is_sqlite:
        # The very text SQLAlchemy's DateTime wrote for UTC moments: databases of older releases read on unchanged.
        assert stored(db, 1) == "2027-03-01 09:30:00.000000"
    else:
        # A timestamp without time zone, holding the UTC digits: the server's own zone changes nothing.
        assert stored(db, 1) == datetime(2027, 3, 1, 9, 30)
    with db.session() as session:
        assert session.get(ForwardOffer, 1).created_at == datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
        assert session.get(ForwardOffer, 1).created_at.tzinfo is UTC


def test_a_row_an_older_release_wrote_reads_aware(db):
    with db.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO forwardoffer (id, room_id, asker, question, event_id, created_at, state)"
            " VALUES (7, '!r:t', '@ana:t', '?', '$e', '2026-11-30 09:00:00.000000', 'open')"
        )
    with db.session() as session:
        assert session.get(ForwardOffer, 7).created_at == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_a_naive_moment_is_refused_since_its_zone_cannot_be_told(db):
    with pytest.raises(StatementError, match="naive datetime"), db.session() as session:
        session.add(
            ForwardOffer(
                room_id="!r:t", asker="@ana:t", question="?", event_id="$e", created_at=datetime(2027, 3, 1, 9, 0)
            )
        )
