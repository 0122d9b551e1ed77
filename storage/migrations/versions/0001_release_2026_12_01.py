"""Le schéma de la version du 2026-12-01.

(The first line is what `manufacture-bot db history` shows.) Exactly what that release's create_all
wrote. Frozen: a revision never imports today's models, which go on changing after it.

Revision ID: 0001_release_2026_12_01
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_release_2026_12_01"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agenda_feed_cache",
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("failing_since", sa.DateTime(), nullable=True),
        sa.Column("outage_notified", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("url"),
    )
    op.create_table(
        "agenda_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("occurrence_key", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=True),
        sa.Column("offset_minutes", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("targets", sa.String(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("superseded", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("posted_rooms", sa.String(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("context", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "answerfeedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("vote", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "answerrecord",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.String(), nullable=False),
        sa.Column("asker", sa.String(), nullable=False),
        sa.Column("question", sa.String(), nullable=True),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("heading", sa.String(), nullable=True),
        sa.Column("source", sa.String(), nullable=True),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "deposit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("tribe", sa.String(), nullable=True),
        sa.Column("carrier", sa.String(), nullable=False),
        sa.Column("depositor", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("visibility", sa.String(), nullable=False),
        sa.Column("origin_room_id", sa.String(), nullable=False),
        sa.Column("origin_thread_root", sa.String(), nullable=True),
        sa.Column("origin_confidential", sa.Boolean(), nullable=False),
        sa.Column("content_shared", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year", "sequence"),
        sa.UniqueConstraint("draft_id"),
    )
    op.create_table(
        "depositdraft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("thread_root", sa.String(), nullable=True),
        sa.Column("origin_confidential", sa.Boolean(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("reminded_at", sa.DateTime(), nullable=True),
        sa.Column("deposit_reference", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "forwardedquestion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.String(), nullable=False),
        sa.Column("room_name", sa.String(), nullable=False),
        sa.Column("asker", sa.String(), nullable=False),
        sa.Column("question", sa.String(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("thread_root", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("answered_by", sa.String(), nullable=True),
        sa.Column("answer", sa.String(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "forwardoffer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.String(), nullable=False),
        sa.Column("asker", sa.String(), nullable=False),
        sa.Column("question", sa.String(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("thread_root", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "handledevent",
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("handled_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_table(
        "knowledge_chunk",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collection", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("heading", sa.String(), nullable=False),
        sa.Column("heading_path", sa.JSON(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("content_hash", sa.String(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("embedder", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "knowledge_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collection", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("root", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("doc_hash", sa.String(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("collection", "source"),
    )
    op.create_table(
        "roomrecord",
        sa.Column("room_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=True),
        sa.Column("encrypted", sa.Boolean(), nullable=False),
        sa.Column("is_direct", sa.Boolean(), nullable=False),
        sa.Column("warned_unencrypted", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("room_id"),
    )
    op.create_table(
        "sentmessage",
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("room_id", sa.String(), nullable=False),
        sa.Column("tag", sa.String(), nullable=False),
        sa.Column("thread_root", sa.String(), nullable=True),
        sa.Column("addressee", sa.String(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("ix_sentmessage_room_id", "sentmessage", ["room_id"])
    op.create_index("ix_sentmessage_thread_root", "sentmessage", ["thread_root"])
    op.create_index("ix_sentmessage_tag", "sentmessage", ["tag"])
    op.create_index("ix_agenda_reminder_source", "agenda_reminder", ["source"])
    op.create_index("ix_agenda_reminder_status_due", "agenda_reminder", ["status", "due_at"])
    op.create_index("ix_agenda_reminder_start", "agenda_reminder", ["start"])
    op.create_index(
        "ux_agenda_reminder_occurrence",
        "agenda_reminder",
        ["kind", "source", "occurrence_key", "offset_minutes"],
        unique=True,
        sqlite_where=sa.text("superseded = 0"),
        # Added with PostgreSQL support, before any PostgreSQL database existed: SQLite's schema
        # is untouched, and without it the index would forbid a superseded row's successor.
        postgresql_where=sa.text("NOT superseded"),
    )
    op.create_index("ix_depositdraft_user_id", "depositdraft", ["user_id"])
    op.create_index("ix_depositdraft_room_id", "depositdraft", ["room_id"])
    op.create_index("ix_depositdraft_status", "depositdraft", ["status"])
    op.create_index("ix_depositdraft_thread_root", "depositdraft", ["thread_root"])
    op.create_index("ix_deposit_reference", "deposit", ["reference"], unique=True)
    op.create_index("ix_deposit_depositor", "deposit", ["depositor"])
    op.create_index("ix_deposit_status", "deposit", ["status"])
    op.create_index("ix_knowledge_document_collection", "knowledge_document", ["collection"])
    op.create_index("ix_knowledge_document_root", "knowledge_document", ["root"])
    op.create_index("ix_knowledge_chunk_source", "knowledge_chunk", ["source"])
    op.create_index("ix_knowledge_chunk_collection", "knowledge_chunk", ["collection"])
    op.create_index("ix_knowledge_chunk_content_hash", "knowledge_chunk", ["content_hash"])
    op.create_index("ix_answerrecord_room_id", "answerrecord", ["room_id"])
    op.create_index("ix_forwardoffer_room_id", "forwardoffer", ["room_id"])
    op.create_index("ix_forwardoffer_asker", "forwardoffer", ["asker"])
    op.create_index("ix_answerfeedback_answer_id", "answerfeedback", ["answer_id"])


def downgrade() -> None:
    for table in (
        "sentmessage",
        "roomrecord",
        "knowledge_document",
        "knowledge_chunk",
        "handledevent",
        "forwardoffer",
        "forwardedquestion",
        "depositdraft",
        "deposit",
        "answerrecord",
        "answerfeedback",
        "agenda_reminder",
        "agenda_feed_cache",
    ):
        op.drop_table(table)
