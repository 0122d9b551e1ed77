"""Conversations privées et messages en attente, messages à déchiffrer plus tard, votes par réaction.

What came after the 2026-12-01 release: direct chats and the messages waiting for them, messages
kept until their key arrives, one vote per reaction event, and drafts that remember their room.

Every added column is nullable, so the rows of the release keep their values and read as before.

Revision ID: 0002_direct_chats_and_late_keys
Revises: 0001_release_2026_12_01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_direct_chats_and_late_keys"
down_revision = "0001_release_2026_12_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "directchat",
        sa.Column("room_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("room_id"),
    )
    op.create_index("ix_directchat_user_id", "directchat", ["user_id"])
    op.create_table(
        "pendingmessage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("txn_id", sa.String(), nullable=False),
        sa.Column("tag", sa.String(), nullable=True),
        sa.Column("notice_room_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("noticed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pendingmessage_room_id", "pendingmessage", ["room_id"])
    op.create_index("ix_pendingmessage_user_id", "pendingmessage", ["user_id"])
    op.create_table(
        "undecryptableevent",
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("room_id", sa.String(), nullable=False),
        sa.Column("sender", sa.String(), nullable=False),
        sa.Column("session_id", sa.String(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("noticed", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("ix_undecryptableevent_session_id", "undecryptableevent", ["session_id"])
    op.create_index("ix_undecryptableevent_room_id", "undecryptableevent", ["room_id"])
    op.create_index("ix_undecryptableevent_next_try_at", "undecryptableevent", ["next_try_at"])
    op.add_column("answerfeedback", sa.Column("event_id", sa.String(), nullable=True))
    op.create_index("ix_answerfeedback_event_id", "answerfeedback", ["event_id"])
    op.add_column("depositdraft", sa.Column("origin_room_id", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("depositdraft") as batch:
        batch.drop_column("origin_room_id")
    op.drop_index("ix_answerfeedback_event_id", "answerfeedback")
    with op.batch_alter_table("answerfeedback") as batch:
        batch.drop_column("event_id")
    for table in ("undecryptableevent", "pendingmessage", "directchat"):
        op.drop_table(table)
