"""Alembic runs the revisions on the connection storage.database hands it (never a URL of its own)."""

from alembic import context
from sqlmodel import SQLModel

from storage import models  # noqa: F401  (registers every table, for comparisons with the models)

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=SQLModel.metadata, compare_type=True, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
