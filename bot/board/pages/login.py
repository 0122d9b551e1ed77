"""Logging in by the link `!tableau` gives: GET shows a button (a link preview or a scanner that
fetches the link uses nothing up), POST consumes the link and opens the session."""

from __future__ import annotations

from aiohttp import web

from bot.board.auth import LoginRefused
from bot.board.context import BoardContext, redirect, visitor


def add_routes(app: web.Application, board: BoardContext) -> None:
    async def show(request: web.Request) -> web.Response:
        token = request.query.get("jeton", "")
        try:
            await board.auth.check_link(token)
        except LoginRefused as refused:
            return board.render("message.html.j2", status=403, title="Connexion impossible", text=refused.reason)
        return board.render("login.html.j2", token=token)

    async def log_in(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        token = form.get("jeton")
        try:
            raw, _ = await board.auth.log_in(token if isinstance(token, str) else "")
        except LoginRefused as refused:
            return board.render("message.html.j2", status=403, title="Connexion impossible", text=refused.reason)
        response = redirect("/depots")
        board.auth.set_cookie(response, raw)
        return response

    async def log_out(request: web.Request) -> web.StreamResponse:
        await board.auth.log_out(visitor(request))
        response = board.render(
            "message.html.j2",
            title="Déconnexion",
            text="Vous êtes déconnecté. Pour revenir, demandez un lien avec !tableau.",
        )
        response.del_cookie("tableau_session", path="/")
        return response

    app.router.add_get("/connexion", show)
    app.router.add_post("/connexion", log_in)
    app.router.add_post("/deconnexion", log_out)
