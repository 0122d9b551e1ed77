"""The database: the source of truth for rooms, forms, deposits, reminders and questions.

The SQLite file in data_dir by default; a PostgreSQL database when [database] url names one. Both
run the same Alembic revisions; what only SQLite needs (its pragmas, the copy beside the file before
an upgrade, recognising the 2026-12-01 release that had no migrations) stays SQLite's.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session, SQLModel, create_engine

from config import Config, DatabaseConfig

# Importing the table modules registers them on SQLModel.metadata.
from storage import models  # noqa: F401
from storage.files import create_owner_only, secure_data_dir
from storage.time import utcnow

log = logging.getLogger(__name__)

DATABASE_FILE = "manufacture.db"
MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"
# The last release before migrations: its databases have its tables and no version table.
RELEASE_2026_12_01 = "0001_release_2026_12_01"


# How long a SQLite write waits for another process's lock (a CLI export, a backup) before it fails.
LOCK_WAIT_MS = 5000


class Database:
    def __init__(self, url: str | URL, *, lock_wait_ms: int = LOCK_WAIT_MS) -> None:
        self.url = make_url(url)
        if self.is_sqlite:
            # The scheduler's jobs and the threads of asyncio.to_thread share the engine's connections.
            self.engine = create_engine(self.url, connect_args={"check_same_thread": False})
            event.listen(self.engine, "connect", partial(_sqlite_pragmas, lock_wait_ms))
        else:
            # A server may close idle connections (restart, timeout): a stale one is replaced, not failed on.
            self.engine = create_engine(self.url, pool_pre_ping=True)

    @classmethod
    def in_dir(cls, data_dir: Path, *, lock_wait_ms: int = LOCK_WAIT_MS) -> Database:
        """The data folder's database, which holds unshared confidential deposits: owner-only."""
        secure_data_dir(data_dir)
        path = data_dir / DATABASE_FILE
        create_owner_only(path)
        return cls(f"sqlite:///{path}", lock_wait_ms=lock_wait_ms)

    @classmethod
    def from_config(cls, config: Config) -> Database:
        """The configured database ([database] url), else the SQLite file in data_dir."""
        return cls.configured(config.data_dir, config.database)

    @classmethod
    def configured(cls, data_dir: Path, database: DatabaseConfig) -> Database:
        url = database.parsed
        if url is None:
            return cls.in_dir(data_dir)
        if url.get_backend_name() == "sqlite" and url.database:
            # Another SQLite file holds the same confidential rows as the data folder's would.
            Path(url.database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            create_owner_only(Path(url.database))
        return cls(url)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def sqlite_path(self) -> Path | None:
        return Path(self.url.database) if self.is_sqlite and self.url.database else None

    def shown(self) -> str:
        """Which database this is, for messages and logs: a SQLite file's path, a server's URL without
        its password."""
        path = self.sqlite_path
        return str(path) if path is not None else self.url.render_as_string(hide_password=True)

    def create_all(self) -> SchemaUpgrade | None:
        """Bring the database to this release's schema (the last migration), or say it already is.

        A new database is created at once with every table and stamped; one of the 2026-12-01 release
        (tables, no version table) is stamped as that release; an older revision is upgraded, a SQLite
        database being first copied beside itself. None when there was nothing to upgrade."""
        head = head_revision()
        with self._connected() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
            if current is not None and current not in _known_revisions():
                raise UnknownSchema(
                    f"La base {self.shown()} est à la révision « {current} », que cette version du bot ne connaît "
                    "pas : une version plus récente l'a sans doute mise à jour. Lancez cette version-là, ou "
                    "restaurez une sauvegarde faite avec celle-ci."
                )
            if current is None:
                current = _recognise(connection, self.shown())
                if current is None:
                    SQLModel.metadata.create_all(connection)
                    command.stamp(_alembic_config(connection), head)
                    return None
                command.stamp(_alembic_config(connection), current)
                log.info("Database without migration history recognised as revision %s", current)
        if current == head:
            return None
        copy = self._copy_beside(current)
        with self.engine.begin() as connection:
            apply_revisions(connection, head)
        log.info("Database upgraded from revision %s to %s (copy before the upgrade: %s)", current, head, copy)
        return SchemaUpgrade(current, head, copy)

    def revision(self) -> str | None:
        """The revision the database is at; None for a database never opened by a release with migrations."""
        with self._connected() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    @contextmanager
    def _connected(self) -> Iterator[Connection]:
        """A transaction on the database, or DatabaseUnavailable when it cannot be reached at all."""
        try:
            connection = self.engine.connect()
        except OperationalError as error:
            raise DatabaseUnavailable(
                f"Impossible d'ouvrir la base {self.shown()} : {str(error.orig).strip() or error}"
            ) from None
        with connection, connection.begin():
            yield connection

    def _copy_beside(self, revision: str) -> Path | None:
        """A consistent copy of a SQLite database file, named after the moment and the revision it holds.
        None on PostgreSQL, whose revisions run in one transaction: a failed upgrade leaves it as it was."""
        path = self.sqlite_path
        if path is None:
            return None
        copy = path.with_name(f"{path.stem}-{utcnow():%Y%m%d-%H%M%S}-{revision}{path.suffix}")
        copy_sqlite(path, copy)
        return copy

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success, so every step a handler takes is durable at once."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session
            session.commit()

    def ping(self) -> None:
        """A read of the database; raises one of STORAGE_UNAVAILABLE when it does not answer. On SQLite the
        schema is read, not a constant: SQLite answers « SELECT 1 » without opening the file."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT count(*) FROM sqlite_master" if self.is_sqlite else "SELECT 1"))

    def close(self) -> None:
        self.engine.dispose()


def open_database(data_dir: Path, database: DatabaseConfig) -> Database:
    """The configured database at this release's schema: what a command works on. `database` is
    required, never defaulted: a command that forgot it would write to SQLite beside a PostgreSQL bot."""
    db = Database.configured(data_dir, database)
    try:
        db.create_all()
    except BaseException:
        db.close()
        raise
    return db


@dataclass(frozen=True)
class SchemaUpgrade:
    before: str
    after: str
    copy: Path | None


@dataclass(frozen=True)
class Revision:
    id: str
    summary: str


def schema_history() -> list[Revision]:
    """Every revision of the schema, oldest first."""
    return [Revision(script.revision, script.doc) for script in reversed(list(_scripts().walk_revisions()))]


def head_revision() -> str:
    head = _scripts().get_current_head()
    if head is None:
        # The migration scripts ship with the code: only a broken install has none.
        raise RuntimeError("no migration script found in storage/migrations")
    return head


def copy_sqlite(source: Path, destination: Path) -> None:
    """A consistent copy of a SQLite database that may be in use (its WAL included), owner-only: the
    online backup API copies pages under SQLite's own locks, which a file copy would not respect."""
    create_owner_only(destination)
    with closing(sqlite3.connect(source)) as reader, closing(sqlite3.connect(destination)) as writer:
        reader.execute(f"PRAGMA busy_timeout={LOCK_WAIT_MS}")
        reader.backup(writer)


class UnknownSchema(RuntimeError):
    """A database this release must not touch: a revision it does not know, or tables not its own."""


class DatabaseUnavailable(RuntimeError):
    """The database cannot be opened: a server down or refusing the bot, a file that cannot be read."""


# What a database that is down, restarting, unreachable or locked raises: the work waits and is tried
# again (bot/inbox.py), never dropped. OperationalError is also a SQLite « database is locked ».
STORAGE_UNAVAILABLE: tuple[type[Exception], ...] = (OperationalError, InterfaceError, DatabaseUnavailable)


def _alembic_config(connection: Connection) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def apply_revisions(connection: Connection, revision: str) -> None:
    """Run the revisions from the connection's current one up to `revision` ("head": the last)."""
    command.upgrade(_alembic_config(connection), revision)


@cache
def _scripts() -> ScriptDirectory:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


@cache
def _known_revisions() -> frozenset[str]:
    return frozenset(revision.id for revision in schema_history())


def _recognise(connection: Connection, shown: str) -> str | None:
    """Which revision a database without a version table is at: None when empty; on SQLite, the
    2026-12-01 release (before migrations) or the last revision (made by create_all in between) when its
    tables are theirs. No release ever wrote a PostgreSQL database without its version table."""
    tables = _tables(connection)
    if not tables:
        return None
    if connection.dialect.name == "sqlite":
        for revision in (RELEASE_2026_12_01, head_revision()):
            if tables == _tables_at(revision):
                return revision
        raise UnknownSchema(
            f"La base {shown} n'a pas d'historique de migrations et ses tables ne sont ni celles de la version du "
            "2026-12-01 ni celles d'aujourd'hui : elle ne peut pas être mise à jour automatiquement."
        )
    names = sorted(tables)
    raise UnknownSchema(
        f"La base {shown} a déjà des tables ({', '.join(names[:5])}{', …' if len(names) > 5 else ''}) mais pas "
        "d'historique de "
        "migrations : ce ne sont pas celles du bot, ou elles ont été créées à la main. Donnez au bot une base "
        "vide : il y crée lui-même ses tables."
    )


def _tables(connection: Connection) -> dict[str, set[str]]:
    inspector = inspect(connection)
    return {
        table: {column["name"] for column in inspector.get_columns(table)}
        for table in inspector.get_table_names()
        if table != VERSION_TABLE
    }


@cache
def _tables_at(revision: str) -> dict[str, set[str]]:
    engine = create_engine("sqlite://")
    try:
        with engine.begin() as connection:
            apply_revisions(connection, revision)
            return _tables(connection)
    finally:
        engine.dispose()


def _sqlite_pragmas(lock_wait_ms: int, dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the CLI read (deposits export, ask) while the bot writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={int(lock_wait_ms)}")
    cursor.close()
