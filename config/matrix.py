"""[matrix]: the bot's account."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from config.reader import TomlReader


@dataclass(frozen=True)
class MatrixConfig:
    homeserver: str
    user_id: str
    password: str = ""
    device_name: str = "manufacture-bot"


def parse_matrix(m: TomlReader) -> MatrixConfig:
    homeserver = m.get("homeserver", str, required=True)
    if not homeserver.startswith(("http://", "https://")):
        raise m.fail("homeserver", "doit commencer par http:// ou https://")
    user_id = m.get("user_id", str, required=True)
    if not re.fullmatch(r"@[^:\s]+:\S+", user_id):
        raise m.fail("user_id", "doit ressembler à @nom:serveur")
    config = MatrixConfig(
        homeserver=homeserver.rstrip("/"),
        user_id=user_id,
        password=os.environ.get("MANUFACTURE_PASSWORD") or m.get("password", str, MatrixConfig.password),
        device_name=m.get("device_name", str, MatrixConfig.device_name),
    )
    m.no_unknown_keys()
    return config
