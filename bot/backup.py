"""Backing up the data folder while the bot runs, and putting a backup back while it does not.

What a backup holds is what cannot be rebuilt: the database (deposits, forms, reminders, questions),
the session (the device id and its token), nio's encryption store (the keys of the messages received)
and the cross-signing keys. The search index is not: the bot rebuilds it from the database.
SQLite files are copied with SQLite's online backup API, so each is consistent even mid-write.
A PostgreSQL database is dumped with pg_dump (one consistent snapshot, in its custom format) and put
back with pg_restore; on a machine without them, the operator is told the command to run.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from bot.cross_signing import KEYS_FILE
from bot.instance_lock import InstanceLock
from bot.session import SESSION_FILE
from config import DatabaseConfig
from storage.database import DATABASE_FILE, copy_sqlite
from storage.files import create_owner_only, secure_data_dir

STORE_DIR = "store"
# What SQLite keeps beside a database while it is open: a backup API copy already holds their content,
# and a stale WAL left beside a restored database would be replayed into it.
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


# pg_dump's custom format: compressed, and pg_restore can put back a part or all of it.
DUMP_FILE = "manufacture.pgdump"


class BackupError(Exception):
    pass


@dataclass(frozen=True)
class Contents:
    # The file holding the database (DATABASE_FILE or DUMP_FILE); None when the backup has none.
    database: str | None
    session: bool
    store_files: int
    cross_signing: bool
    # What the operator still has to do by hand (pg_dump or pg_restore missing); empty: nothing.
    note: str = ""

    def describe(self) -> str:
        held = [self.database] if self.database else []
        held += [SESSION_FILE] if self.session else []
        held += [f"{STORE_DIR}/ ({self.store_files} fichier(s))"] if self.store_files else []
        held += [KEYS_FILE] if self.cross_signing else []
        return ", ".join(held) or "rien"


def back_up(data_dir: Path, destination: Path, database: DatabaseConfig) -> Contents:
    """Copy what cannot be rebuilt into `destination` (a new or empty folder, owner-only): the database
    (SQLite file, or a pg_dump of the PostgreSQL one) and, from `data_dir`, the session and keys."""
    if destination.exists() and any(destination.iterdir()):
        raise BackupError(f"Le dossier {destination} n'est pas vide : choisissez un dossier neuf pour la sauvegarde.")
    server = _postgresql_url(database)
    if server is None and not (data_dir / DATABASE_FILE).exists():
        raise BackupError(f"Pas de base de données dans {data_dir} : rien à sauvegarder.")
    secure_data_dir(destination)
    note = ""
    if server is None:
        copy_sqlite(data_dir / DATABASE_FILE, destination / DATABASE_FILE)
        held: str | None = DATABASE_FILE
    else:
        held, note = _dump(server, database.shown(), destination / DUMP_FILE)
    store_files = _copy_store(data_dir / STORE_DIR, destination / STORE_DIR)
    copied = {name: _copy_file(data_dir / name, destination / name) for name in (SESSION_FILE, KEYS_FILE)}
    return Contents(held, copied[SESSION_FILE], store_files, copied[KEYS_FILE], note)


def describe_backup(source: Path) -> Contents:
    """What a backup folder holds; refuses a folder that is not one."""
    held = next((name for name in (DATABASE_FILE, DUMP_FILE) if (source / name).is_file()), None)
    # A PostgreSQL bot's backup made without pg_dump holds no database, but its session.
    if held is None and not (source / SESSION_FILE).is_file():
        raise BackupError(
            f"{source} n'est pas une sauvegarde du bot (il n'y a ni {DATABASE_FILE}, ni {DUMP_FILE}, "
            f"ni {SESSION_FILE})."
        )
    store = source / STORE_DIR
    return Contents(
        held,
        (source / SESSION_FILE).is_file(),
        sum(1 for path in store.iterdir() if path.is_file()) if store.is_dir() else 0,
        (source / KEYS_FILE).is_file(),
    )


def restore(source: Path, data_dir: Path, database: DatabaseConfig) -> Contents:
    """Put a backup in place of the database, the data folder's session and store. Refuses while the bot
    runs (raises AlreadyRunning): it would go on writing over what was restored. Cross-signing keys
    missing from the backup are kept, never removed: they cannot be made again."""
    contents = describe_backup(source)
    server = _postgresql_url(database)
    if server is None and contents.database != DATABASE_FILE:
        raise BackupError(
            f"{source} ne contient pas de base SQLite ({DATABASE_FILE}) alors que le bot en utilise "
            "une : cette sauvegarde vient d'un bot configuré avec PostgreSQL ([database] url)."
        )
    if server is not None and contents.database == DATABASE_FILE:
        raise BackupError(
            f"{source} contient une base SQLite alors que le bot est configuré avec PostgreSQL "
            f"({database.shown()}) : elle ne peut pas y être restaurée telle quelle."
        )
    lock = InstanceLock(data_dir)
    lock.acquire()
    note = ""
    try:
        secure_data_dir(data_dir)
        if server is None:
            _remove_sqlite(data_dir / DATABASE_FILE)
            copy_sqlite(source / DATABASE_FILE, data_dir / DATABASE_FILE)
        elif contents.database == DUMP_FILE:
            note = _restore_dump(server, database.shown(), source / DUMP_FILE)
        else:
            note = (
                f"Cette sauvegarde ne contient pas la base PostgreSQL ({database.shown()}) : pg_dump manquait "
                "quand elle a été faite. Remettez la base depuis votre propre copie (pg_restore) avant de "
                "relancer le bot."
            )
        if contents.session:
            _copy_file(source / SESSION_FILE, data_dir / SESSION_FILE)
        else:
            # The restored database goes with the restored device, or with a new login: not with today's device.
            (data_dir / SESSION_FILE).unlink(missing_ok=True)
        shutil.rmtree(data_dir / STORE_DIR, ignore_errors=True)
        _copy_store(source / STORE_DIR, data_dir / STORE_DIR)
        if contents.cross_signing:
            _copy_file(source / KEYS_FILE, data_dir / KEYS_FILE)
        secure_data_dir(data_dir)
    finally:
        lock.release()
    return Contents(contents.database, contents.session, contents.store_files, contents.cross_signing, note)


def _postgresql_url(database: DatabaseConfig) -> URL | None:
    """The configured PostgreSQL server's URL; None for SQLite (the data folder's file or another one)."""
    return database.parsed if database.is_postgresql else None


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The URL as pg_dump and pg_restore read it, and their environment: the password goes in
    PGPASSWORD, never on a command line that `ps` shows to every user of the machine."""
    target = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return target, env


def _dump(url: URL, shown: str, file: Path) -> tuple[str | None, str]:
    """pg_dump of the bot's database into `file`; without pg_dump, no file and the command to run."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        return None, (
            f"pg_dump est introuvable sur cette machine (paquet postgresql-client) : la base PostgreSQL "
            f"n'est PAS dans la sauvegarde. Faites-la à côté avec :\n  pg_dump --format=custom "
            f"--file={shlex.quote(str(file))} {shlex.quote(shown)}"
        )
    target, env = _libpq(url)
    create_owner_only(file)  # pg_dump keeps the mode of a file that exists: the rows stay the bot's alone
    result = subprocess.run(
        [pg_dump, "--format=custom", f"--file={file}", f"--dbname={target}"], env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        file.unlink(missing_ok=True)
        raise BackupError(f"pg_dump a échoué sur {shown} : {result.stderr.strip()}")
    return DUMP_FILE, ""


def _restore_dump(url: URL, shown: str, file: Path) -> str:
    """pg_restore of `file` over the bot's database, in one transaction (all or nothing); without
    pg_restore, the command to run."""
    options = ["--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error"]
    pg_restore = shutil.which("pg_restore")
    if pg_restore is None:
        return (
            f"pg_restore est introuvable sur cette machine (paquet postgresql-client) : la base PostgreSQL "
            f"n'a PAS été restaurée. Restaurez-la avec :\n  pg_restore {' '.join(options)} "
            f"--dbname={shlex.quote(shown)} {shlex.quote(str(file))}"
        )
    target, env = _libpq(url)
    result = subprocess.run(
        [pg_restore, *options, f"--dbname={target}", str(file)], env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise BackupError(f"pg_restore a échoué sur {shown} (la base est restée comme avant) : {result.stderr.strip()}")
    return ""


def _copy_store(source: Path, destination: Path) -> int:
    """nio's store: its SQLite databases through the backup API, anything else as it is."""
    if not source.is_dir():
        return 0
    destination.mkdir(mode=0o700, exist_ok=True)
    copied = 0
    for path in sorted(source.iterdir()):
        if not path.is_file() or path.name.endswith(SQLITE_SIDE_FILES):
            continue
        if path.suffix == ".db":
            copy_sqlite(path, destination / path.name)
        else:
            _copy_file(path, destination / path.name)
        copied += 1
    return copied


def _copy_file(source: Path, destination: Path) -> bool:
    """Copy owner-only through a temporary name, so a reader never sees half a file."""
    if not source.is_file():
        return False
    pending = destination.with_name(destination.name + ".tmp")
    fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(source.read_bytes())
    os.replace(pending, destination)
    return True


def _remove_sqlite(path: Path) -> None:
    for name in (path.name, *(path.name + suffix for suffix in SQLITE_SIDE_FILES)):
        (path.with_name(name)).unlink(missing_ok=True)
