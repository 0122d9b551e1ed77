"""[matrix]: the bot's account, and how it logs in (a password once, or an access token)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from config.reader import TomlReader

PASSWORD_VARIABLE = "MANUFACTURE_PASSWORD"
ACCESS_TOKEN_VARIABLE = "MANUFACTURE_ACCESS_TOKEN"
DEVICE_ID_VARIABLE = "MANUFACTURE_DEVICE_ID"


@dataclass(frozen=True)
class MatrixConfig:
    homeserver: str
    user_id: str
    # Out of repr: a config printed in a log or a traceback must not show them.
    password: str = field(default="", repr=False)
    access_token: str = field(default="", repr=False)
    device_id: str = ""
    device_name: str = "manufacture-bot"
    # Tchap asks bots to keep bulk invitations near one a second.
    invite_interval_seconds: float = 1.0

    @property
    def uses_access_token(self) -> bool:
        """Homeservers moving to OIDC (Tchap among them) end password logins: the bot is then given
        a token and its device instead, and never logs in by itself."""
        return bool(self.access_token)


def _from_file_or_environment(m: TomlReader, name: str, variable: str) -> str:
    # The key is read even when the variable is set: an unread key would be reported as unknown.
    in_file = m.get(name, str, "")
    return os.environ.get(variable) or in_file


def parse_matrix(m: TomlReader) -> MatrixConfig:
    homeserver = m.get("homeserver", str, required=True)
    if not homeserver.startswith(("http://", "https://")):
        raise m.fail("homeserver", "doit commencer par http:// ou https://")
    user_id = m.get("user_id", str, required=True)
    if not re.fullmatch(r"@[^:\s]+:\S+", user_id):
        raise m.fail("user_id", "doit ressembler à @nom:serveur")
    access_token = _from_file_or_environment(m, "access_token", ACCESS_TOKEN_VARIABLE).strip()
    device_id = _from_file_or_environment(m, "device_id", DEVICE_ID_VARIABLE).strip()
    if device_id and not access_token:
        raise m.fail(
            "device_id",
            f"ne sert qu'avec un jeton d'accès (clé matrix.access_token ou variable {ACCESS_TOKEN_VARIABLE})",
        )
    config = MatrixConfig(
        homeserver=homeserver.rstrip("/"),
        user_id=user_id,
        password=_from_file_or_environment(m, "password", PASSWORD_VARIABLE),
        access_token=access_token,
        device_id=device_id,
        device_name=m.get("device_name", str, MatrixConfig.device_name),
        invite_interval_seconds=m.get("invite_interval_seconds", float, MatrixConfig.invite_interval_seconds),
    )
    if config.invite_interval_seconds < 0:
        raise m.fail("invite_interval_seconds", "doit être positif ou nul")
    m.no_unknown_keys()
    return config
