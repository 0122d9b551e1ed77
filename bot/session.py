"""The bot's Matrix session: logged in once with a password, or given as an access token and its
device, then restored from data_dir.

Keeping the same device id and access token across restarts keeps one encryption identity,
so rooms never see the bot as a new, unverified device.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from nio import AsyncClient, WhoamiResponse
from nio.api import MATRIX_API_PATH_V3

from config.matrix import ACCESS_TOKEN_VARIABLE, DEVICE_ID_VARIABLE, MatrixConfig

SESSION_FILE = "session.json"
TOKEN_ADVICE = (
    "Créez un jeton d'accès pour un appareil réservé au bot (voir « Sur Tchap » dans le README) et "
    f"donnez-le par la variable {ACCESS_TOKEN_VARIABLE}."
)


class SessionProblem(Exception):
    """The given access token cannot be the bot's session; worded (in French) for the operator."""


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
    """Drop a session the homeserver no longer accepts: the next start logs in with the password
    (or adopts the access token it is given)."""
    (data_dir / SESSION_FILE).unlink(missing_ok=True)


def kept_session_fits(stored: StoredSession | None, matrix: MatrixConfig) -> bool:
    """Whether the session kept in data_dir is the one the configuration asks for: same account on
    the same homeserver and, when a token is given, that very token (a new one replaces the session)."""
    if stored is None or (stored.user_id, stored.homeserver) != (matrix.user_id, matrix.homeserver):
        return False
    if not matrix.uses_access_token:
        return True
    return stored.access_token == matrix.access_token and matrix.device_id in ("", stored.device_id)


async def session_from_token(client: AsyncClient, matrix: MatrixConfig) -> StoredSession:
    """The session an access token stands for, asked of the homeserver (whoami) before anything is
    kept: the token must be the configured account's, and its device the configured one if given."""
    client.access_token = matrix.access_token
    answer = await client.whoami()
    if not isinstance(answer, WhoamiResponse):
        raise SessionProblem(
            f"Le jeton d'accès donné est refusé par {matrix.homeserver} "
            f"({getattr(answer, 'status_code', '') or ''} {getattr(answer, 'message', answer)}). {TOKEN_ADVICE}"
        )
    if answer.user_id != matrix.user_id:
        raise SessionProblem(
            f"Le jeton d'accès donné est celui de {answer.user_id}, pas du compte du bot {matrix.user_id} "
            f"(clé matrix.user_id). {TOKEN_ADVICE}"
        )
    device_id = answer.device_id or matrix.device_id
    if not device_id:
        raise SessionProblem(
            f"Le serveur ne dit pas à quel appareil ce jeton appartient : donnez son identifiant par la "
            f"variable {DEVICE_ID_VARIABLE} (ou la clé matrix.device_id)."
        )
    if matrix.device_id and device_id != matrix.device_id:
        raise SessionProblem(
            f"Le jeton d'accès donné appartient à l'appareil {device_id}, pas à {matrix.device_id} "
            f"(variable {DEVICE_ID_VARIABLE} ou clé matrix.device_id) : corrigez l'un ou l'autre."
        )
    return StoredSession(matrix.homeserver, answer.user_id, device_id, matrix.access_token)


async def device_has_other_keys(client: AsyncClient) -> bool:
    """Whether the homeserver already holds encryption keys for the client's device that are not
    its own: a token taken from Element (or a device whose store was lost). Uploading ours over them
    would be refused, and members' clients would take the bot for that other device."""
    user_id, device_id = client.user_id, client.device_id
    response = await client.send(
        "POST",
        f"{MATRIX_API_PATH_V3}/keys/query",
        json.dumps({"device_keys": {user_id: [device_id]}}),
        headers={"Authorization": f"Bearer {client.access_token}", "Content-Type": "application/json"},
    )
    try:
        answer = await response.json(content_type=None) if response.status == 200 else {}
    finally:
        response.release()
    device = (answer.get("device_keys") or {}).get(user_id, {}).get(device_id) if isinstance(answer, dict) else None
    if not device:
        return False
    if client.olm is None:
        return False
    return device.get("keys", {}).get(f"ed25519:{device_id}") != client.olm.account.identity_keys["ed25519"]
