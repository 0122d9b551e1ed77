"""L'ordre d'arrivée des salons, sans le rowid de SQLite.

The tribes are listed in the order their rooms were first recorded, which SQLite's rowid told and
PostgreSQL cannot: a column says it. The rows already there keep their rowid as their place, which is
below any new row's (a moment in nanoseconds).

Revision ID: 0003_room_order
Revises: 0002_direct_chats_and_late_keys
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_room_order"
down_revision = "0002_direct_chats_and_late_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("roomrecord", sa.Column("recorded_order", sa.BigInteger(), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        op.execute("UPDATE roomrecord SET recorded_order = rowid")
    else:
        # No release wrote rooms to PostgreSQL before this column: only a hand-made row could be here.
        op.execute("UPDATE roomrecord SET recorded_order = 0")
    with op.batch_alter_table("roomrecord") as batch:
        batch.alter_column("recorded_order", existing_type=sa.BigInteger(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("roomrecord") as batch:
        batch.drop_column("recorded_order")
