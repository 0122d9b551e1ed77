"""The database's schema history: one Alembic revision per schema change, applied by storage.database."""
