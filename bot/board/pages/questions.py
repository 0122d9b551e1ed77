"""Questions: the queue of forwarded questions, an answer to one (it reaches the asker as
`!repondre` does, and the FAQ when the facilitator ticks it), and the FAQ's entries, editable and
removable."""
from __future__ import annotations

from aiohttp import web

from bot.board.context import BoardContext, redirect, visitor
from handlers.french import format_datetime_fr
from handlers.questions.faq import edit_faq, list_faq, remove_faq
from handlers.questions.queue import answer_question
from handlers.replies import UserError
from storage.board import waiting_page

PAGE_SIZE = 30


def add_routes(app: web.Application, board: BoardContext) -> None:
    services = board.services

    def _show(request: web.Request, *, status: int = 200, error: str = "") -> web.Response:
        try:
            page = max(1, int(request.query.get("page", "1")))
        except ValueError:
            page = 1
        tz = services.config.bot.tz
        with services.db.session() as session:
            waiting, total = waiting_page(session, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        questions = [{"id": q.id, "asker": q.asker, "room_name": q.room_name, "question": q.question,
                      "date": format_datetime_fr(q.created_at, tz)} for q in waiting]
        return board.page(request, "questions.html.j2", section="questions", status=status, error=error,
                          questions=questions, total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)),
                          faq=list_faq(services), search_enabled=services.search is not None)

    async def queue(request: web.Request) -> web.Response:
        return _show(request)

    async def answer(request: web.Request) -> web.Response:
        form = await request.post()
        try:
            number = int(request.match_info["number"])
            replies = await answer_question(services, visitor(request).user_id, number, str(form.get("reponse", "")),
                                            to_faq=form.get("faq") == "oui")
        except (UserError, ValueError) as error:
            return _show(request, status=400, error=getattr(error, "message", "Numéro de question invalide."))
        board.flash(request, " ".join(await board.send(replies)))
        return redirect("/questions")

    async def faq_edit(request: web.Request) -> web.Response:
        form = await request.post()
        try:
            entry = await edit_faq(services, str(form.get("source", "")), str(form.get("reponse", "")))
        except UserError as error:
            return _show(request, status=400, error=error.message)
        board.flash(request, f"Réponse de la FAQ modifiée : « {entry.question} ».")
        return redirect("/questions#faq")

    async def faq_remove(request: web.Request) -> web.Response:
        form = await request.post()
        try:
            entry = await remove_faq(services, str(form.get("source", "")))
        except UserError as error:
            return _show(request, status=400, error=error.message)
        board.flash(request, f"Entrée retirée de la FAQ : « {entry.question} ».")
        return redirect("/questions#faq")

    app.router.add_get("/questions", queue)
    app.router.add_post("/questions/{number}/repondre", answer)
    app.router.add_post("/faq/modifier", faq_edit)
    app.router.add_post("/faq/retirer", faq_remove)
