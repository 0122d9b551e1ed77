"""BoardServer: the facilitators' web board, served by the bot process inside its event loop.

Started and stopped by BotApp like the metrics listener. Every request but the login page and the
stylesheet needs a live session of someone who is still a facilitator; every POST needs the
session's CSRF token. Handlers do little work on the loop; the CSV export runs in a thread.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Awaitable, Callable

from aiohttp import web

from bot.board.auth import CSRF_FIELD, Auth
from bot.board.context import PAGE_HEADERS, VISITOR_KEY, BoardContext, redirect
from bot.board.pages import agenda, deposits, login, questions, usage
from bot.local_listener import LocalListener
from config import BoardConfig

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
# Paths anyone may open: the login page (its POST is guarded by the link itself) and the stylesheet.
PUBLIC_PREFIXES = ("/connexion", "/static/")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BoardServer:
    def __init__(self, board: BoardContext, config: BoardConfig) -> None:
        self.board, self.config = board, config
        self.listener = LocalListener()

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._guard], client_max_size=256 * 1024)
        app.router.add_get("/", lambda request: self._home(request))
        login.add_routes(app, self.board)
        deposits.add_routes(app, self.board)
        questions.add_routes(app, self.board)
        agenda.add_routes(app, self.board)
        usage.add_routes(app, self.board)
        app.router.add_static("/static/", STATIC, append_version=False)
        return app

    async def _home(self, request: web.Request) -> web.StreamResponse:
        return redirect("/depots")

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(PUBLIC_PREFIXES):
            response = await handler(request)
            if request.path.startswith("/static/"):
                response.headers["X-Content-Type-Options"] = "nosniff"
            return response
        auth: Auth = self.board.auth
        visitor = auth.visitor(request)
        if visitor is None:
            # No data without a session: a page that says how to get a link, nothing else.
            return self.board.render("login_needed.html.j2", status=401)
        request[VISITOR_KEY] = visitor
        if request.method not in ("GET", "HEAD"):
            form = await request.post()
            if not auth.csrf_ok(visitor, form.get(CSRF_FIELD) if isinstance(form.get(CSRF_FIELD), str) else None):
                log.warning("Board: a %s to %s without a valid CSRF token was refused", request.method, request.path)
                return self.board.render("message.html.j2", status=403, title="Action refusée",
                                         text="Ce formulaire n'est plus valable (jeton de sécurité absent ou "
                                              "erroné). Rechargez la page et recommencez.")
        return await handler(request)

    async def start(self) -> None:
        await self.listener.start(self.application(), self.config.host, self.config.port)
        log.info("Facilitators' board served on http://%s (public address %s)", self.config.listen,
                 self.config.base_url)

    async def stop(self) -> None:
        await self.listener.stop()


__all__ = ["BoardServer", "PAGE_HEADERS"]
