"""The SQLite database: the source of truth for rooms, forms, deposits, reminders and questions."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Column, Connection, event, inspect, literal, text
from sqlmodel import Session, SQLModel, create_engine

# Importing the table modules registers them on SQLModel.metadata.
from storage import models  # noqa: F401
from storage.files import create_owner_only, secure_data_dir

log = logging.getLogger(__name__)

DATABASE_FILE = "manufacture.db"


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url, connect_args={"check_same_thread": False})
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)

    @classmethod
    def in_dir(cls, data_dir: Path) -> "Database":
        """The data folder's database, which holds unshared confidential deposits: owner-only."""
        secure_data_dir(data_dir)
        path = data_dir / DATABASE_FILE
        create_owner_only(path)
        return cls(f"sqlite:///{path}")

    def create_all(self) -> None:
        """Create missing tables, and give a database of an earlier release the columns added since
        (until migrations come): each added nullable or with its model's default, so old rows read as before."""
        SQLModel.metadata.create_all(self.engine)
        with self.engine.begin() as connection:
            inspector = inspect(connection)
            for table in SQLModel.metadata.sorted_tables:
                present = {column["name"] for column in inspector.get_columns(table.name)}
                for column in table.columns:
                    if column.name not in present:
                        _add_column(connection, table.name, column)
                # create_all makes a table's indexes only with the table, so an added column's are made here.
                for index in table.indexes:
                    index.create(connection, checkfirst=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success, so every step a handler takes is durable at once."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session
            session.commit()

    def close(self) -> None:
        self.engine.dispose()


def open_database(data_dir: Path) -> Database:
    """The data folder's database with every table and column of this release: what a command works on."""
    db = Database.in_dir(data_dir)
    db.create_all()
    return db


def _add_column(connection: Connection, table: str, column: Column) -> None:
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    definition = f"{quote(column.name)} {column.type.compile(dialect)}"
    default = column.default
    if default is not None and default.is_scalar:
        value = literal(default.arg, column.type).compile(dialect=dialect, compile_kwargs={"literal_binds": True})
        definition += f" DEFAULT {value}"
    elif not column.nullable:
        # SQLite needs a constant to fill the existing rows of a NOT NULL column.
        raise RuntimeError(f"Column {table}.{column.name} is NOT NULL without a scalar default: "
                           "an existing database cannot get it without a migration.")
    if not column.nullable:
        definition += " NOT NULL"
    connection.execute(text(f"ALTER TABLE {quote(table)} ADD COLUMN {definition}"))
    log.info("Database upgraded: column %s.%s added", table, column.name)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the CLI read (deposits export, ask) while the bot writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
