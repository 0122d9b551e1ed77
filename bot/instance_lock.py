"""One bot process per data_dir: two processes on one device would corrupt the encryption store."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import TextIO


class AlreadyRunning(Exception):
    pass


class InstanceLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "bot.lock"
        self._handle: TextIO | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            # flock is released by the kernel when the process dies, so a crash never leaves a stale lock.
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise AlreadyRunning(
                f"Un autre processus du bot (PID {holder}) utilise déjà le dossier de données {self.path.parent}. "
                "Arrêtez-le avant d'en démarrer un second."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
