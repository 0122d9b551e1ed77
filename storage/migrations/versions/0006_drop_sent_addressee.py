"""Les messages envoyés ne retiennent plus à qui ils répondaient.

Each message the bot sent kept the user it answered, and nothing ever read it: who talked to the bot
need not be kept for nothing, so the column goes, with the values earlier releases wrote in it.

Revision ID: 0006_drop_sent_addressee
Revises: 0005_event_inbox
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_drop_sent_addressee"
down_revision = "0005_event_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sentmessage") as table:
        table.drop_column("addressee")


def downgrade() -> None:
    # The values dropped do not come back: every row reads as a message that answered no one.
    with op.batch_alter_table("sentmessage") as table:
        table.add_column(sa.Column("addressee", sa.String(), nullable=True))
