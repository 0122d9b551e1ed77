"""The bot's Matrix session: logged in once with a password, then restored from data_dir.

Keeping the same device id and access token across restarts keeps one encryption identity,
so rooms never see the bot as a new, unverified device.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

SESSION_FILE = "session.json"


@dataclass(frozen=True)
class StoredSession:
    homeserver: str
    user_id: str
    device_id: str
    access_token: str


def load_session(data_dir: Path) -> StoredSession | None:
    path = data_dir / SESSION_FILE
    if not path.exists():
        return None
    return StoredSession(**json.loads(path.read_text()))


def save_session(data_dir: Path, session: StoredSession) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SESSION_FILE
    tmp = path.with_suffix(".tmp")
    # The access token is a password equivalent: readable by the bot's user only.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(session), handle)
    os.replace(tmp, path)


def forget_session(data_dir: Path) -> None:
    """Drop a session the homeserver no longer accepts: the next start logs in with the password."""
    (data_dir / SESSION_FILE).unlink(missing_ok=True)
