"""One-time login links to the facilitators' web board: `{user, nonce, expiry}` signed with an HMAC.

Pure logic: the bot gives the secret (kept owner-only in data_dir) and the clock; the board records
used nonces in the database, so a link logs in once. A link expires after ten minutes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

LINK_LIFETIME = timedelta(minutes=10)
LOGIN_PATH = "/connexion"


class InvalidLink(Exception):
    """A link that logs no one in; `expired` tells an old link from a forged or damaged one."""

    def __init__(self, expired: bool = False) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


@dataclass(frozen=True)
class LinkClaim:
    user_id: str
    nonce: str
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LoginLinks:
    def __init__(
        self, secret: bytes, base_url: str, clock: Callable[[], datetime], lifetime: timedelta = LINK_LIFETIME
    ) -> None:
        self._secret, self.base_url, self.clock, self.lifetime = secret, base_url.rstrip("/"), clock, lifetime

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, b"board-login\x00" + payload, hashlib.sha256).digest()

    def token(self, user_id: str) -> str:
        expires = self.clock() + self.lifetime
        payload = json.dumps(
            {"u": user_id, "n": secrets.token_urlsafe(16), "e": int(expires.timestamp())}, separators=(",", ":")
        ).encode("utf-8")
        return f"{_b64(payload)}.{_b64(self._sign(payload))}"

    def url(self, user_id: str) -> str:
        return f"{self.base_url}{LOGIN_PATH}?jeton={self.token(user_id)}"

    def verify(self, token: str) -> LinkClaim:
        """The claim of a genuine, unexpired link; InvalidLink otherwise (whether used is the board's to check)."""
        try:
            encoded, signature = token.split(".")
            payload = _unb64(encoded)
            genuine = hmac.compare_digest(_unb64(signature), self._sign(payload))
        except (ValueError, TypeError):
            raise InvalidLink() from None
        if not genuine:
            raise InvalidLink()
        try:
            data = json.loads(payload)
            claim = LinkClaim(str(data["u"]), str(data["n"]), datetime.fromtimestamp(int(data["e"]), UTC))
        except (ValueError, KeyError, TypeError):
            raise InvalidLink() from None
        if self.clock() >= claim.expires_at:
            raise InvalidLink(expired=True)
        return claim
