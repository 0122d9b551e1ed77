"""Drafts and deposits in the database: silent drafts found across time zones, references, lookups."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from storage.deposits import (
    Deposit,
    DepositDraft,
    drafts_of,
    find_deposit,
    format_reference,
    idle_drafts,
    next_sequence,
    open_draft,
)

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def draft(user_id: str, status: str = "filling", updated_at: datetime = T0, **fields) -> DepositDraft:
    return DepositDraft(
        room_id="!dm:t", user_id=user_id, state="{}", status=status, created_at=T0, updated_at=updated_at, **fields
    )


def test_idle_drafts_are_the_open_ones_silent_since_a_moment_in_any_zone(db):
    with db.session() as session:
        session.add_all(
            [draft("@ana:t"), draft("@bob:t", updated_at=T0 + timedelta(hours=2)), draft("@cleo:t", status="confirmed")]
        )
    # 10:30 in Paris is 09:30 UTC: Ana's draft (09:00 UTC) is silent since then, Bob's (11:00 UTC) is not.
    with db.session() as session:
        idle = idle_drafts(session, datetime(2027, 3, 1, 10, 30, tzinfo=ZoneInfo("Europe/Paris")))
    assert [d.user_id for d in idle] == ["@ana:t"] and idle[0].updated_at == T0


def test_a_members_open_draft_and_their_drafts_not_deposited_newest_first(db):
    with db.session() as session:
        session.add_all(
            [
                draft("@ana:t", status="abandoned"),
                draft("@ana:t", updated_at=T0 + timedelta(days=1)),
                draft("@ana:t", status="confirmed", deposit_reference="DEP-2027-0001"),
                draft("@bob:t"),
            ]
        )
    with db.session() as session:
        assert open_draft(session, "@ana:t").updated_at == T0 + timedelta(days=1)
        assert [d.status for d in drafts_of(session, "@ana:t")] == ["filling", "abandoned"]


def test_references_are_numbered_per_year_and_found_as_typed(db):
    with db.session() as session:
        assert next_sequence(session, 2027) == 1
        session.add(
            Deposit(
                reference=format_reference(2027, 1),
                year=2027,
                sequence=1,
                title="Cantine",
                carrier="@ana:t",
                depositor="@ana:t",
                origin_room_id="!r:t",
                created_at=T0,
            )
        )
    with db.session() as session:
        assert (next_sequence(session, 2027), next_sequence(session, 2028)) == (2, 1)
        assert find_deposit(session, " dep-2027-0001 ").title == "Cantine"
        assert find_deposit(session, "DEP-2027-0002") is None
