"""Who is asking: a one-time link from the bot logs a facilitator in, a session cookie keeps them in
for a working day, and their rights are checked again at every request.

The cookie holds a random id (only its hash is stored), HttpOnly, SameSite=Lax (Strict would arrive
logged out from a chat client's link), Secure over https. Every form carries the session's CSRF
token, compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from sqlmodel import Session

from config import BoardConfig
from handlers.board.links import InvalidLink, LinkClaim, LoginLinks
from storage.board import (
    BoardSession,
    close_session,
    close_sessions_of,
    forget_old_link_uses,
    link_used,
    live_session,
    open_session,
    session_holders,
    use_link_nonce,
)
from storage.unit_of_work import UnitOfWork, UnitsOfWork

COOKIE = "tableau_session"
CSRF_FIELD = "csrf"
USED = "Ce lien a déjà servi : demandez-en un nouveau avec !tableau."


def hash_id(raw: str) -> str:
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class Visitor:
    """A facilitator with a live session, as the pages see them."""

    user_id: str
    csrf_token: str
    session_hash: str


class LoginRefused(Exception):
    """A link that logs no one in; `reason` is the French sentence shown."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Auth:
    def __init__(
        self,
        units: UnitsOfWork,
        links: LoginLinks,
        config: BoardConfig,
        is_facilitator: Callable[[str], bool],
        clock: Callable[[], datetime],
    ) -> None:
        self.units, self.links, self.config = units, links, config
        self.is_facilitator, self.clock = is_facilitator, clock

    async def check_link(self, token: str, work: UnitOfWork | None = None) -> LinkClaim:
        """A link fit to log in with, not consumed: opening it (or a link preview) only shows a button."""
        try:
            claim = self.links.verify(token)
        except InvalidLink as error:
            raise LoginRefused(
                "Ce lien a expiré : demandez-en un nouveau avec !tableau."
                if error.expired
                else "Ce lien n'est pas valable : demandez-en un nouveau avec !tableau."
            ) from None
        if not self.is_facilitator(claim.user_id):
            raise LoginRefused("Ce tableau de bord est réservé à l'équipe d'animation.")
        async with self.units.joining(work) as work:
            if await work(link_used, claim.nonce):
                raise LoginRefused(USED)
        return claim

    async def log_in(self, token: str) -> tuple[str, BoardSession]:
        """Consumes the link and opens a session; returns the cookie's raw value and the session."""
        async with self.units.open() as work:
            claim = await self.check_link(token, work)
            raw = secrets.token_urlsafe(32)
            row = await work(self._open, claim, hash_id(raw), self.clock())
        return raw, row

    def _open(self, session: Session, claim: LinkClaim, id_hash: str, now: datetime) -> BoardSession:
        if not use_link_nonce(session, claim.nonce, claim.user_id, now):
            raise LoginRefused(USED)
        forget_old_link_uses(session, now - 2 * self.links.lifetime)
        return open_session(
            session, id_hash, claim.user_id, secrets.token_urlsafe(32), now, timedelta(hours=self.config.session_hours)
        )

    async def visitor(self, request: web.Request) -> Visitor | None:
        """The facilitator behind this request, or None: no cookie, an expired session, or rights lost."""
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            id_hash = hash_id(raw)
        except UnicodeEncodeError:
            return None
        row = await self.units.run(live_session, id_hash, self.clock())
        # Someone who stops being a facilitator loses the board at their next request.
        if row is None or not self.is_facilitator(row.user_id):
            return None
        return Visitor(row.user_id, row.csrf_token, id_hash)

    async def close_lost_sessions(self) -> list[str]:
        """Closes the sessions of everyone who is no longer a facilitator (called when the facilitators'
        room changes: a kick, a ban, a departure, new power levels); returns who lost the board."""
        async with self.units.open() as work:
            # Rights are read on the event loop (from the client's rooms), the sessions on a database thread.
            lost = [user_id for user_id in await work(session_holders) if not self.is_facilitator(user_id)]
            await work(close_sessions_of, lost)
        return lost

    async def log_out(self, visitor: Visitor) -> None:
        await self.units.run(close_session, visitor.session_hash)

    def set_cookie(self, response: web.StreamResponse, raw: str) -> None:
        response.set_cookie(
            COOKIE,
            raw,
            max_age=int(self.config.session_hours * 3600),
            path="/",
            httponly=True,
            samesite="Lax",
            secure=self.config.secure,
        )

    @staticmethod
    def csrf_ok(visitor: Visitor, submitted: str | None) -> bool:
        return bool(submitted and hmac.compare_digest(submitted.encode("utf-8"), visitor.csrf_token.encode("utf-8")))
