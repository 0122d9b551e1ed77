"""The data folder is the bot's alone: confidential deposits, the encryption keys, the session token.

Everything in it is owner-only (folders 0700, files 0600), whatever the umask it was created under.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

# Bits that let the group or anyone else read, write or enter.
OTHERS = stat.S_IRWXG | stat.S_IRWXO


def secure_data_dir(path: Path) -> None:
    """Create the data folder owner-only, or take back from group and others what an older version
    (or a usual umask) let them read. Logs one line when something had to be tightened."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    tightened = _tighten(path)
    for folder, subfolders, files in os.walk(path):
        for name in (*subfolders, *files):
            tightened += _tighten(Path(folder) / name)
    if tightened:
        log.warning("Data folder %s was readable by others: %d entries made owner-only", path, tightened)


def create_owner_only(path: Path) -> None:
    """Create an empty file 0600 if missing. SQLite gives a database's -wal and -shm files the
    database file's own mode, so a database born owner-only keeps them owner-only too."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def write_owner_only(path: Path, text: str) -> None:
    """Write `text` to a file that is 0600 before it holds a byte, even where one was left readable."""
    create_owner_only(path)
    path.chmod(0o600)
    path.write_text(text)


def _tighten(path: Path) -> int:
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:  # a -shm or .tmp file removed while we walked
        return 0
    if stat.S_ISLNK(mode) or not mode & OTHERS:
        return 0
    try:
        path.chmod(stat.S_IMODE(mode) & ~OTHERS)
    except FileNotFoundError:
        return 0
    return 1


def owner_only_secret(path: Path, size: int = 32) -> bytes:
    """A random secret kept in `path` (0600), made at the first call and read at every later one."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_bytes()
        if len(secret) >= size:
            return secret
        # A file cut short (a crash while writing it) protects nothing: a new secret replaces it.
        path.unlink()
        return owner_only_secret(path, size)
    secret = os.urandom(size)
    with os.fdopen(fd, "wb") as file:
        file.write(secret)
    return secret
