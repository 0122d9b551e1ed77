"""The schema's history: the first revision is the 2026-12-01 release, the last one is today's models,
and a database written by that release opens with today's code keeping every row, after a copy."""

import re
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel, select

from handlers.deposits.machine import FormState
from handlers.feedback_cli import build_report
from storage.agenda import ReminderRow
from storage.database import (
    DATABASE_FILE,
    RELEASE_2026_12_01,
    Database,
    UnknownSchema,
    apply_revisions,
    head_revision,
    schema_history,
)
from storage.deposits import Deposit, DepositDraft
from storage.knowledge import FAQ, KnowledgeChunk, KnowledgeDocument
from storage.questions import AnswerFeedback, ForwardedQuestion, ForwardOffer
from storage.rooms import RoomRecord

FIXTURE = Path(__file__).parents[2] / "fixtures" / "release-2026-12-01.sql"


def read(path: Path) -> dict[str, tuple[set[str], list[dict]]]:
    """Every table's columns and rows, read with plain sqlite3 (nothing of today's models in between)."""
    connection = sqlite3.connect(path)
    connection.row_factory = sqlite3.Row
    try:
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {
            table: (
                {row["name"] for row in connection.execute(f'PRAGMA table_info("{table}")')},
                [dict(row) for row in connection.execute(f'SELECT * FROM "{table}" ORDER BY rowid')],
            )
            for table in tables
        }
    finally:
        connection.close()


def schema_statements(connection: sqlite3.Connection) -> set[str]:
    """The CREATE statements of the tables and indexes, spaces normalised."""
    return {
        re.sub(r"\s+", " ", sql).strip()
        for (sql,) in connection.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name != 'alembic_version'"
        )
    }


def differences_from_the_models(db: Database) -> list:
    with db.engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), SQLModel.metadata)


@pytest.fixture
def old_data_dir(tmp_path) -> Path:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    connection = sqlite3.connect(data_dir / DATABASE_FILE)
    connection.executescript(FIXTURE.read_text(encoding="utf-8"))
    connection.close()
    return data_dir


def test_the_fixture_stays_small():
    assert FIXTURE.stat().st_size < 200_000


def test_the_first_revision_is_the_schema_the_release_wrote(tmp_path):
    path = tmp_path / "first.db"
    db = Database(f"sqlite:///{path}")
    with db.engine.begin() as connection:
        apply_revisions(connection, RELEASE_2026_12_01)
    db.close()
    release = sqlite3.connect(":memory:")
    release.executescript(FIXTURE.read_text(encoding="utf-8"))
    with sqlite3.connect(path) as migrated:
        assert schema_statements(migrated) == schema_statements(release)


def test_the_revisions_bring_a_new_database_to_exactly_the_models(tmp_path):
    """A model changed without its revision fails here: write one in storage/migrations/versions/."""
    migrated = Database(f"sqlite:///{tmp_path / 'migrated.db'}")
    with migrated.engine.begin() as connection:
        apply_revisions(connection, "head")
    assert differences_from_the_models(migrated) == []
    migrated.close()


def test_a_new_database_is_made_at_the_last_revision(tmp_path):
    db = Database.in_dir(tmp_path)
    assert db.create_all() is None
    assert db.revision() == head_revision() == schema_history()[-1].id
    assert differences_from_the_models(db) == []
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".db"] == [DATABASE_FILE]
    db.close()


def test_a_database_of_the_release_keeps_every_row_after_a_copy(old_data_dir):
    before = read(old_data_dir / DATABASE_FILE)
    assert sum(len(rows) for _, rows in before.values()) > 50  # a database with some life in it
    db = Database.in_dir(old_data_dir)
    upgrade = db.create_all()
    assert (upgrade.before, upgrade.after) == (RELEASE_2026_12_01, head_revision())
    assert db.revision() == head_revision() and differences_from_the_models(db) == []

    # The copy, beside the database, is the release's database as it was (stamped with its revision,
    # so that opening it again upgrades it the same way), and the bot's alone.
    assert upgrade.copy.parent == old_data_dir
    assert re.fullmatch(r"manufacture-\d{8}-\d{6}-" + RELEASE_2026_12_01 + r"\.db", upgrade.copy.name)
    assert read(upgrade.copy) == {**before, "alembic_version": ({"version_num"}, [{"version_num": RELEASE_2026_12_01}])}
    assert upgrade.copy.stat().st_mode & 0o077 == 0

    after = read(old_data_dir / DATABASE_FILE)
    for table in SQLModel.metadata.sorted_tables:
        new_columns, rows = after[table.name]
        assert new_columns == {column.name for column in table.columns}, table.name
        if table.name not in before:
            assert rows == [], table.name  # a table added since
            continue
        old_columns, old_rows = before[table.name]
        # A column dropped since goes with its values (nothing read them).
        assert old_columns - new_columns == {"sentmessage": {"addressee"}}.get(table.name, set()), table.name
        kept = old_columns & new_columns
        # Same rows, same values; a column added since is empty on them, but a room's place in the list.
        assert [{k: v for k, v in row.items() if k in kept} for row in rows] == [
            {k: v for k, v in row.items() if k in kept} for row in old_rows
        ], table.name
        filled = {"roomrecord": {"recorded_order"}, "handledevent": {"done"}}.get(table.name, set())
        assert all(row[name] is None for row in rows for name in new_columns - old_columns - filled), table.name
    assert [row["recorded_order"] for row in after["roomrecord"][1]] == list(range(1, len(before["roomrecord"][1]) + 1))
    # Every event the release handled stays handled: none is taken for pending and handled again.
    assert after["handledevent"][1] and all(row["done"] for row in after["handledevent"][1])
    for table in ("deposit", "depositdraft", "forwardedquestion", "forwardoffer", "agenda_reminder"):
        assert before[table][1], f"the fixture has no {table} row to prove anything with"

    # Today's models read yesterday's rows.
    with db.session() as session:
        deposits = {d.reference: d for d in session.exec(select(Deposit))}
        assert deposits["DEP-2026-0001"].answers["needs"] == ["partners", "funding"]
        withheld = deposits["DEP-2026-0002"]
        assert withheld.origin_confidential and not withheld.content_shared
        draft = session.exec(select(DepositDraft).where(DepositDraft.status == "filling")).one()
        state = FormState.from_json(draft.state)
        assert (
            draft.thread_root and state.current == "territory" and state.answers["title"] == "Grainothèque de quartier"
        )
        assert draft.origin_room_id is None
        assert {o.state for o in session.exec(select(ForwardOffer))} == {"open", "accepted"}
        forwarded = session.exec(select(ForwardedQuestion)).one()
        faq = session.exec(select(KnowledgeChunk).where(KnowledgeChunk.collection == FAQ)).one()
        assert faq.text == forwarded.answer and faq.heading_path == ["FAQ", forwarded.question]
        assert session.exec(select(KnowledgeDocument).where(KnowledgeDocument.collection == FAQ)).one()
        assert {r.kind for r in session.exec(select(RoomRecord))} == {"tribe", "peer_group", "facilitators", None}
        assert all(v.event_id is None for v in session.exec(select(AnswerFeedback)))
        reminders = session.exec(select(ReminderRow)).all()
        assert reminders and all(r.due_at.tzinfo and r.target_list == ["tous"] for r in reminders)
    # Old votes count per person too: Bob's 👍️ then 👎 is one 👎.
    report = build_report(db)
    assert (report["up"], report["down"]) == (2, 1)
    db.close()

    # A second open finds nothing to do: no change, no second copy.
    again = Database.in_dir(old_data_dir)
    assert again.create_all() is None
    assert read(old_data_dir / DATABASE_FILE) == after
    assert sorted(p.name for p in old_data_dir.iterdir() if p.suffix == ".db") == sorted(
        [DATABASE_FILE, upgrade.copy.name]
    )
    again.close()


def test_a_database_made_by_today_s_tables_without_history_is_taken_as_the_last_revision(tmp_path):
    path = tmp_path / DATABASE_FILE
    engine = create_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    db = Database.in_dir(tmp_path)
    assert db.create_all() is None and db.revision() == head_revision()
    db.close()


def test_a_database_of_unknown_tables_is_left_alone(tmp_path):
    with sqlite3.connect(tmp_path / DATABASE_FILE) as connection:
        connection.execute("CREATE TABLE deposit (id INTEGER PRIMARY KEY)")
    db = Database.in_dir(tmp_path)
    with pytest.raises(UnknownSchema, match="ne peut pas être mise à jour"):
        db.create_all()
    assert db.revision() is None
    db.close()


def test_on_postgresql_the_revisions_bring_an_empty_database_to_exactly_the_models(postgres):
    url = postgres.empty_database()
    migrated = Database(url)
    try:
        with migrated.engine.begin() as connection:
            apply_revisions(connection, "head")
        assert differences_from_the_models(migrated) == []
    finally:
        migrated.close()
        postgres.drop(url)


def test_on_postgresql_a_new_database_is_made_at_the_last_revision_and_opens_again_unchanged(postgres):
    url = postgres.empty_database()
    db = Database(url)
    try:
        assert db.create_all() is None
        assert db.revision() == head_revision() and differences_from_the_models(db) == []
        assert db.create_all() is None and db.revision() == head_revision()
    finally:
        db.close()
        postgres.drop(url)


def test_on_postgresql_a_database_at_the_first_revision_is_upgraded_keeping_its_rows(postgres):
    url = postgres.empty_database()
    db = Database(url)
    try:
        with db.engine.begin() as connection:
            apply_revisions(connection, RELEASE_2026_12_01)
            connection.execute(
                text(
                    "INSERT INTO roomrecord (room_id, kind, name, encrypted, is_direct, "
                    "warned_unencrypted, updated_at) VALUES ('!t:h', 'tribe', 'Eau', false, false, "
                    "false, '2026-11-30 09:00:00')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO depositdraft (user_id, room_id, state, status, origin_confidential, created_at, "
                    "updated_at) VALUES ('@ana:h', '!t:h', '{}', 'filling', false, '2026-11-30 09:00:00', "
                    "'2026-11-30 09:00:00')"
                )
            )
        upgrade = db.create_all()
        assert (upgrade.before, upgrade.after, upgrade.copy) == (RELEASE_2026_12_01, head_revision(), None)
        assert differences_from_the_models(db) == []
        with db.session() as session:
            room = session.get(RoomRecord, "!t:h")
            assert (room.kind, room.name, room.recorded_order) == ("tribe", "Eau", 0)
            draft = session.exec(select(DepositDraft)).one()
            assert draft.user_id == "@ana:h" and draft.origin_room_id is None
            assert draft.updated_at.tzinfo is not None
    finally:
        db.close()
        postgres.drop(url)


def test_on_postgresql_tables_without_history_are_left_alone(postgres):
    url = postgres.empty_database()
    db = Database(url)
    try:
        with db.engine.begin() as connection:
            connection.execute(text("CREATE TABLE deposit (id integer PRIMARY KEY)"))
        with pytest.raises(UnknownSchema, match="pas d'historique de migrations"):
            db.create_all()
        assert db.revision() is None
    finally:
        db.close()
        postgres.drop(url)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_database_at_a_revision_this_release_does_not_know_is_left_alone(backend, tmp_path, request):
    url = f"sqlite:///{tmp_path / DATABASE_FILE}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    db = Database(url)
    try:
        db.create_all()
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
        with pytest.raises(UnknownSchema, match=r"0099_from_the_future.*ne connaît pas"):
            db.create_all()
        assert db.revision() == "0099_from_the_future"
    finally:
        db.close()
