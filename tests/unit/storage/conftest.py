"""The storage tests run twice: on SQLite (the default) and on PostgreSQL (a database of its own for each
test, on the throwaway server of tests/postgres.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from config import DatabaseConfig
from storage.database import Database, open_database


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        database = open_database(tmp_path / "data", DatabaseConfig())
    else:
        database = Database(request.getfixturevalue("postgres_url"))
        database.create_all()
    yield database
    database.close()
