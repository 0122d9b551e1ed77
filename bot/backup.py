"""Backing up the data folder while the bot runs, and putting a backup back while it does not.

What a backup holds is what cannot be rebuilt: the database (deposits, forms, reminders, questions),
the session (the device id and its token), nio's encryption store (the keys of the messages received)
and the cross-signing keys. The search index is not: the bot rebuilds it from the database.
SQLite files are copied with SQLite's online backup API, so each is consistent even mid-write.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from bot.cross_signing import KEYS_FILE
from bot.instance_lock import InstanceLock
from bot.session import SESSION_FILE
from storage.database import DATABASE_FILE, copy_sqlite
from storage.files import secure_data_dir

STORE_DIR = "store"
# What SQLite keeps beside a database while it is open: a backup API copy already holds their content,
# and a stale WAL left beside a restored database would be replayed into it.
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


class BackupError(Exception):
    pass


@dataclass(frozen=True)
class Contents:
    database: bool
    session: bool
    store_files: int
    cross_signing: bool

    def describe(self) -> str:
        held = [DATABASE_FILE] if self.database else []
        held += [SESSION_FILE] if self.session else []
        held += [f"{STORE_DIR}/ ({self.store_files} fichier(s))"] if self.store_files else []
        held += [KEYS_FILE] if self.cross_signing else []
        return ", ".join(held) or "rien"


def back_up(data_dir: Path, destination: Path) -> Contents:
    """Copy what cannot be rebuilt from `data_dir` into `destination` (a new or empty folder, owner-only)."""
    if destination.exists() and any(destination.iterdir()):
        raise BackupError(f"Le dossier {destination} n'est pas vide : choisissez un dossier neuf pour la sauvegarde.")
    if not (data_dir / DATABASE_FILE).exists():
        raise BackupError(f"Pas de base de données dans {data_dir} : rien à sauvegarder.")
    secure_data_dir(destination)
    copy_sqlite(data_dir / DATABASE_FILE, destination / DATABASE_FILE)
    store_files = _copy_store(data_dir / STORE_DIR, destination / STORE_DIR)
    copied = {name: _copy_file(data_dir / name, destination / name) for name in (SESSION_FILE, KEYS_FILE)}
    return Contents(True, copied[SESSION_FILE], store_files, copied[KEYS_FILE])


def describe_backup(source: Path) -> Contents:
    """What a backup folder holds; refuses a folder that is not one."""
    if not (source / DATABASE_FILE).is_file():
        raise BackupError(f"{source} n'est pas une sauvegarde du bot (il n'y a pas de {DATABASE_FILE}).")
    store = source / STORE_DIR
    return Contents(True, (source / SESSION_FILE).is_file(),
                    sum(1 for path in store.iterdir() if path.is_file()) if store.is_dir() else 0,
                    (source / KEYS_FILE).is_file())


def restore(source: Path, data_dir: Path) -> Contents:
    """Put a backup in place of the data folder's database, session and store. Refuses while the bot runs
    (raises AlreadyRunning): it would go on writing over what was restored. Cross-signing keys missing
    from the backup are kept, never removed: they cannot be made again."""
    contents = describe_backup(source)
    lock = InstanceLock(data_dir)
    lock.acquire()
    try:
        secure_data_dir(data_dir)
        _remove_sqlite(data_dir / DATABASE_FILE)
        copy_sqlite(source / DATABASE_FILE, data_dir / DATABASE_FILE)
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
    return contents


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
