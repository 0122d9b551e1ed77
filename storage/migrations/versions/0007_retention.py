"""Durées de conservation : les comptes hebdomadaires d'usage et le journal de la purge.

The retention purge (issue 20) deletes questions, answers and votes after their retention period;
their weekly counts, without any id, go to usage_week first so the board's usage page keeps them.
purge_run records when the purge ran, so its daily job is planned again from it at every start.

Revision ID: 0007_retention
Revises: 0006_drop_sent_addressee
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_retention"
down_revision = "0006_drop_sent_addressee"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_week",
        sa.Column("week", sa.DateTime(), nullable=False),
        sa.Column("asked", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("forwarded", sa.Integer(), nullable=False),
        sa.Column("up", sa.Integer(), nullable=False),
        sa.Column("down", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("week"),
    )
    op.create_table(
        "purge_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ran_at", sa.DateTime(), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_purge_run_ran_at", "purge_run", ["ran_at"])


def downgrade() -> None:
    op.drop_index("ix_purge_run_ran_at", "purge_run")
    op.drop_table("purge_run")
    op.drop_table("usage_week")
