"""Tableau de bord de l'équipe d'animation : liens de connexion utilisés, sessions, index des listes.

The web board's used login-link nonces and sessions, and indexes on the moments its pages sort and
count by (deposits, answers and forwarded questions by creation time).

Revision ID: 0004_facilitators_board
Revises: 0003_room_order
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_facilitators_board"
down_revision = "0003_room_order"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_deposit_created_at", "deposit"),
    ("ix_answerrecord_created_at", "answerrecord"),
    ("ix_forwardedquestion_created_at", "forwardedquestion"),
)


def upgrade() -> None:
    op.create_table(
        "board_link_use",
        sa.Column("nonce", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("nonce"),
    )
    op.create_table(
        "board_session",
        sa.Column("id_hash", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("csrf_token", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    op.create_index("ix_board_session_user_id", "board_session", ["user_id"])
    op.create_index("ix_board_session_expires_at", "board_session", ["expires_at"])
    for name, table in INDEXES:
        op.create_index(name, table, ["created_at"])


def downgrade() -> None:
    for name, table in INDEXES:
        op.drop_index(name, table)
    op.drop_table("board_session")
    op.drop_table("board_link_use")
