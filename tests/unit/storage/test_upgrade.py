"""A database written by the previous release opens with today's code: every row survives, the
columns added since appear (one log line each), and the models read the old rows."""
import logging
import sqlite3
from pathlib import Path

import pytest
from sqlmodel import SQLModel, select

from handlers.deposits.machine import FormState
from handlers.feedback_cli import build_report
from storage.agenda import ReminderRow
from storage.database import DATABASE_FILE, Database
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
        tables = [name for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return {table: ({row["name"] for row in connection.execute(f'PRAGMA table_info("{table}")')},
                        [dict(row) for row in connection.execute(f'SELECT * FROM "{table}" ORDER BY rowid')])
                for table in tables}
    finally:
        connection.close()


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


def test_a_database_of_the_previous_release_keeps_every_row_and_gains_the_new_columns(old_data_dir, caplog):
    before = read(old_data_dir / DATABASE_FILE)
    assert sum(len(rows) for _, rows in before.values()) > 50  # a database with some life in it
    db = Database.in_dir(old_data_dir)
    with caplog.at_level(logging.INFO, logger="storage.database"):
        db.create_all()
    after = read(old_data_dir / DATABASE_FILE)

    added = set()
    for table in SQLModel.metadata.sorted_tables:
        new_columns, rows = after[table.name]
        assert new_columns == {column.name for column in table.columns}, table.name
        if table.name not in before:
            continue  # a table added since: create_all made it
        old_columns, old_rows = before[table.name]
        added |= {f"{table.name}.{name}" for name in new_columns - old_columns}
        # Same rows, same values; what was added reads as its model's default.
        assert [{k: v for k, v in row.items() if k in old_columns} for row in rows] == old_rows, table.name
        for row in rows:
            for name in new_columns - old_columns:
                default = table.columns[name].default
                expected = default.arg if default is not None and default.is_scalar else None
                assert row[name] == expected, f"{table.name}.{name}"
    assert "answerfeedback.event_id" in added
    assert sorted(r.getMessage() for r in caplog.records if r.name == "storage.database") == sorted(
        f"Database upgraded: column {column} added" for column in added)

    # Today's models read yesterday's rows.
    with db.session() as session:
        deposits = {d.reference: d for d in session.exec(select(Deposit))}
        assert deposits["DEP-2026-0001"].answers["needs"] == ["partners", "funding"]
        withheld = deposits["DEP-2026-0002"]
        assert withheld.origin_confidential and not withheld.content_shared
        draft = session.exec(select(DepositDraft).where(DepositDraft.status == "filling")).one()
        state = FormState.from_json(draft.state)
        assert draft.thread_root and state.current == "territory" and state.answers["title"] == "Grainothèque de quartier"
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

    caplog.clear()
    db.create_all()
    assert caplog.records == [] and read(old_data_dir / DATABASE_FILE) == after
    db.close()


def test_an_added_column_with_a_default_fills_the_old_rows_with_it(tmp_path):
    db = Database.in_dir(tmp_path)
    db.create_all()
    with db.session() as session:
        session.add(RoomRecord(room_id="!peers:t", kind="peer_group", name="Pairs"))
    with db.engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE roomrecord DROP COLUMN warned_unencrypted")
    db.create_all()
    with db.session() as session:
        assert session.get(RoomRecord, "!peers:t").warned_unencrypted is False
    with db.engine.connect() as connection:
        column = next(row for row in connection.exec_driver_sql("PRAGMA table_info(roomrecord)")
                      if row[1] == "warned_unencrypted")
    assert column[3] == 1  # NOT NULL, like a table created today
    db.close()


def test_a_not_null_column_without_a_constant_default_needs_a_migration(tmp_path):
    db = Database.in_dir(tmp_path)
    db.create_all()
    with db.engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE answerrecord DROP COLUMN created_at")
    with pytest.raises(RuntimeError, match="answerrecord.created_at"):
        db.create_all()
    db.close()
