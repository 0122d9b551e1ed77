"""Événements reçus : en attente jusqu'à ce qu'ils soient traités, puis faits.

The record of handled events becomes the bot's inbox: an event is recorded as pending (with its room,
its kind and its sender's timestamp) before the sync token moves past it, and marked done once
handled. Rows of earlier releases were all handled: they are done.

Revision ID: 0005_event_inbox
Revises: 0004_facilitators_board
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_event_inbox"
down_revision = "0004_facilitators_board"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handledevent") as table:
        table.add_column(sa.Column("room_id", sa.String(), nullable=True))
        table.add_column(sa.Column("kind", sa.String(), nullable=True))
        table.add_column(sa.Column("origin_ts", sa.BigInteger(), nullable=True))
        table.add_column(sa.Column("done", sa.Boolean(), server_default=sa.true(), nullable=False))
    op.create_index("ix_handledevent_done", "handledevent", ["done"])


def downgrade() -> None:
    op.drop_index("ix_handledevent_done", "handledevent")
    with op.batch_alter_table("handledevent") as table:
        table.drop_column("done")
        table.drop_column("origin_ts")
        table.drop_column("kind")
        table.drop_column("room_id")
