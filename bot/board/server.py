"""BoardServer: the facilitators' web board, served by the bot process inside its event loop.

Started and stopped by BotApp like the metrics listener. Every request but the login page and the
stylesheet needs a live session of someone who is still a facilitator; every POST needs the
session's CSRF token. Handlers do little work on the loop; the CSV export runs in a thread.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from bot.board.auth import CSRF_FIELD, Auth
from bot.board.context import PAGE_HEADERS, VISITOR_KEY, BoardContext, redirect
from bot.board.pages import agenda, deposits, login, questions, usage
from bot.board.params import BadRequest
from bot.local_listener import LocalListener
from config import BoardConfig

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
# Paths anyone may open: the login page (its POST is guarded by the link itself) and the stylesheet.
PUBLIC_PREFIXES = ("/connexion", "/static/")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# A form may carry a long text to be refused with a French page and shown back, not cut off by
# aiohttp: well above any message the chat accepts, and a reverse proxy's usual limit (nginx: 1 MB).
LARGEST_FORM = 1024 * 1024
# Where a page of error leads back to, by the section its address belongs to.
BACK_LINKS = (
    ("depots", "/depots", "Retour à la liste des dépôts"),
    ("questions", "/questions", "Retour aux questions"),
    ("questions", "/faq", "Retour aux questions et à la FAQ"),
    ("agenda", "/agenda", "Retour à l'agenda"),
    ("usage", "/usage", "Retour à l'usage"),
)
# aiohttp's own refusals, said in French; any other status gets the generic sentence.
HTTP_ERRORS = {
    404: ("Page introuvable", "Cette adresse ne mène à aucune page du tableau de bord."),
    405: (
        "Action impossible",
        "Cette adresse ne s'utilise pas ainsi : revenez au tableau de bord et utilisez ses boutons.",
    ),
    413: ("Envoi trop volumineux", "Le formulaire envoyé dépasse 1 Mo : raccourcissez le texte et recommencez."),
}


class BoardServer:
    def __init__(self, board: BoardContext, config: BoardConfig) -> None:
        self.board, self.config = board, config
        self.listener = LocalListener()
        self._static_files = frozenset(path.name for path in STATIC.iterdir() if path.is_file())

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._french_errors, self._guard], client_max_size=LARGEST_FORM)
        app.router.add_get("/", lambda request: self._home(request))
        login.add_routes(app, self.board)
        deposits.add_routes(app, self.board)
        questions.add_routes(app, self.board)
        agenda.add_routes(app, self.board)
        usage.add_routes(app, self.board)
        app.router.add_get("/static/{filename}", self._static)
        return app

    async def _static(self, request: web.Request) -> web.StreamResponse:
        # Only the files shipped in static/: any other name is a French 404, not aiohttp's empty one.
        name = request.match_info["filename"]
        if name not in self._static_files:
            raise web.HTTPNotFound()
        return web.FileResponse(STATIC / name)

    async def _home(self, request: web.Request) -> web.StreamResponse:
        return redirect("/depots")

    @web.middleware
    async def _french_errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Whatever goes wrong, the page is French: a parameter the board cannot use (400), aiohttp's
        own refusals (404, 405, 413…), and, as a last resort, a failure of ours (500, logged)."""
        try:
            return await handler(request)
        except BadRequest as bad:
            return self._message(request, 400, bad.title, bad.text)
        except web.HTTPException as http:
            if http.status < 400:
                raise
            title, text = HTTP_ERRORS.get(
                http.status, ("Demande impossible", "Le tableau de bord ne peut pas répondre à cette demande.")
            )
            return self._message(request, http.status, title, text)
        except ConnectionResetError:
            raise
        except Exception:
            log.exception("Board: %s %s failed", request.method, request.path)
            # Whether something was sent before the failure is unknown here: the page does not guess.
            return self._message(
                request,
                500,
                "Erreur du tableau de bord",
                "Quelque chose s'est mal passé de notre côté. Rechargez la page pour voir où en sont "
                "les choses avant de recommencer ; si cela se reproduit, le journal du bot en dit "
                "la cause.",
            )

    def _message(self, request: web.Request, status: int, title: str, text: str) -> web.Response:
        # With the menu for a logged-in facilitator (the guard has run), bare otherwise.
        if VISITOR_KEY in request:
            section, back_url, back_label = next(
                (b for b in BACK_LINKS if request.path.startswith(b[1])), BACK_LINKS[0]
            )
            return self.board.page(
                request,
                "message_page.html.j2",
                section=section,
                status=status,
                title=title,
                text=text,
                back_url=back_url,
                back_label=back_label,
            )
        return self.board.render("message.html.j2", status=status, title=title, text=text)

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(PUBLIC_PREFIXES):
            response = await handler(request)
            if request.path.startswith("/static/"):
                response.headers["X-Content-Type-Options"] = "nosniff"
            return response
        auth: Auth = self.board.auth
        visitor = await auth.visitor(request)
        if visitor is None:
            # No data without a session: a page that says how to get a link, nothing else.
            return self.board.render("login_needed.html.j2", status=401)
        request[VISITOR_KEY] = visitor
        if request.method not in ("GET", "HEAD"):
            try:
                form = await request.post()
            except web.HTTPException:
                raise
            except Exception:
                # A body that is no form (a broken multipart, bytes that are no UTF-8): nothing to act on.
                raise BadRequest("Le formulaire envoyé est illisible : rechargez la page et recommencez.") from None
            token = form.get(CSRF_FIELD)
            if not auth.csrf_ok(visitor, token if isinstance(token, str) else None):
                log.warning("Board: a %s to %s without a valid CSRF token was refused", request.method, request.path)
                return self.board.render(
                    "message.html.j2",
                    status=403,
                    title="Action refusée",
                    text="Ce formulaire n'est plus valable (jeton de sécurité absent ou "
                    "erroné). Rechargez la page et recommencez.",
                )
        return await handler(request)

    async def start(self) -> None:
        await self.listener.start(self.application(), self.config.host, self.config.port)
        log.info(
            "Facilitators' board served on http://%s (public address %s)", self.config.listen, self.config.base_url
        )

    async def stop(self) -> None:
        await self.listener.stop()


__all__ = ["PAGE_HEADERS", "BoardServer"]
