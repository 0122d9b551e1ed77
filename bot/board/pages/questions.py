"""Questions: the queue of forwarded questions, an answer to one (as `!repondre` gives it: where the
question was asked, or « en privé » in the asker's direct chat; into the FAQ when the facilitator
ticks it), the answered ones (who answered what, when; filtered by words), and the FAQ's entries,
editable and removable.

A refused answer or FAQ edit (too long, not delivered) shows the page again with the text typed
in its form and the choices as they were: nothing the facilitator wrote is lost."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from bot.board.context import BoardContext, redirect, visitor
from bot.board.params import BadRequest, choice_field, number, page_exists, page_number, text_field
from handlers.delivery import NotDelivered
from handlers.french import format_count_fr, format_datetime_fr
from handlers.questions.faq import edit_faq, list_faq, remove_faq
from handlers.questions.queue import AnswerPlace, answer_place, answer_question
from handlers.replies import UserError
from handlers.text import fold_for_matching
from storage.board import answered_questions, waiting_page, waiting_rank
from storage.questions import ForwardedQuestion

PAGE_SIZE = 30
HISTORY_SIZE = 20
# Words to look for, not a text to keep: longer than this is no search anyone types.
LONGEST_SEARCH = 200
# The answer form's choice of destination, as posted.
IN_ROOM, IN_PRIVATE = "salon", "prive"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _choices(place: AnswerPlace, private: AnswerPlace) -> dict[str, object]:
    """The labels of the answer form's choice: they say where the answer goes and who reads it."""
    return {"choosable": place.choosable, "in_room": _sentence(place.label()), "in_private": _sentence(private.label())}


def _search_words(query) -> tuple[str, list[str]]:
    """The history's filter as typed (shown back) and its words as the bot compares them."""
    typed = " ".join(text_field(query, "cherche", "Rechercher").split())
    if len(typed) > LONGEST_SEARCH:
        raise BadRequest(
            f"La recherche dépasse {LONGEST_SEARCH} caractères : quelques mots suffisent (un nom, un thème)."
        )
    return typed, fold_for_matching(typed).split()


def _matches(question: ForwardedQuestion, words: list[str]) -> bool:
    """Every word is somewhere in the question, its answer, the room or who asked or answered."""
    haystack = fold_for_matching(
        " ".join(
            (question.question, question.answer or "", question.room_name, question.asker, question.answered_by or "")
        )
    )
    return all(word in haystack for word in words)


def add_routes(app: web.Application, board: BoardContext) -> None:
    services = board.services

    async def _show(
        request: web.Request,
        *,
        status: int = 200,
        error: str = "",
        page: int | None = None,
        draft: dict | None = None,
        faq_draft: dict | None = None,
    ) -> web.Response:
        """The queue and the FAQ; `draft` ({id, text, private, faq, error}) and `faq_draft` ({source,
        text, error}) put back what was typed in a refused form."""
        page = page if page is not None else page_number(request.query)
        tz = services.config.bot.tz
        waiting, total = await services.units.run(waiting_page, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        pages = max(1, -(-total // PAGE_SIZE))
        page_exists(page, pages)
        questions = []
        for q in waiting:
            choices = _choices(await answer_place(services, q), await answer_place(services, q, private=True))
            questions.append(
                {
                    "id": q.id,
                    "asker": q.asker,
                    "room_name": q.room_name,
                    "question": q.question,
                    "date": format_datetime_fr(q.created_at, tz),
                    **choices,
                }
            )
        typed, words = _search_words(request.query)
        history_page = page_number(request.query, "historique")
        answered = await services.units.run(answered_questions)
        found = [q for q in answered if _matches(q, words)]
        history_pages = max(1, -(-len(found) // HISTORY_SIZE))
        page_exists(history_page, history_pages)
        shown = found[(history_page - 1) * HISTORY_SIZE : history_page * HISTORY_SIZE]
        history = [
            {
                "id": q.id,
                "asker": q.asker,
                "room_name": q.room_name,
                "question": q.question,
                "asked": format_datetime_fr(q.created_at, tz),
                "answer": q.answer,
                "answered_by": q.answered_by or "",
                "answered": format_datetime_fr(q.answered_at, tz) if q.answered_at else "",
            }
            for q in shown
        ]
        return board.page(
            request,
            "questions.html.j2",
            section="questions",
            status=status,
            error=error,
            questions=questions,
            total=total,
            page=page,
            pages=pages,
            history=history,
            history_total=format_count_fr(len(found)),
            history_count=len(found),
            answered_count=len(answered),
            history_page=history_page,
            history_pages=history_pages,
            search=typed,
            search_query=urlencode({"cherche": typed}) if typed else "",
            faq=await list_faq(services),
            search_enabled=services.search is not None,
            draft=draft or {},
            faq_draft=faq_draft or {},
        )

    async def _page_of(question_id: int) -> int:
        """The queue's page that shows this question (the first when it waits no more)."""
        rank = await services.units.run(waiting_rank, question_id)
        return 1 if rank is None else rank // PAGE_SIZE + 1

    async def queue(request: web.Request) -> web.Response:
        return await _show(request)

    async def answer(request: web.Request) -> web.Response:
        try:
            question_id = number(request.match_info["number"], "question")
        except BadRequest as bad:
            return await _show(request, status=400, error=bad.text, page=1)
        form = await request.post()
        text = text_field(form, "reponse", "Votre réponse")
        destination, faq = choice_field(form, "destination", "Où envoyer la réponse"), choice_field(form, "faq", "FAQ")
        private, to_faq = destination == IN_PRIVATE, faq == "oui"
        draft = {"id": question_id, "text": text, "private": private, "faq": to_faq}
        status, error = 200, ""
        if destination not in ("", IN_ROOM, IN_PRIVATE) or faq not in ("", "oui"):
            status, error = 400, "Choisissez où envoyer la réponse parmi les choix proposés, puis recommencez."
        else:
            try:
                acknowledgement = await answer_question(
                    services, visitor(request).user_id, question_id, text, to_faq=to_faq, private=private
                )
            except NotDelivered as failed:
                # Nothing changed (handlers/questions/queue.py): the same form, to try again.
                error = board.plain(failed.message)
            except UserError as refused:
                status, error = 400, board.plain(refused.message)
            else:
                board.flash(request, await board.send([acknowledgement]))
                return redirect("/questions")
        return await _show(
            request, status=status, error=error, page=await _page_of(question_id), draft={**draft, "error": error}
        )

    async def faq_edit(request: web.Request) -> web.Response:
        form = await request.post()
        source, text = choice_field(form, "source", "Entrée de la FAQ"), text_field(form, "reponse", "Réponse")
        try:
            entry = await edit_faq(services, source, text)
        except UserError as error:
            message = board.plain(error.message)
            return await _show(
                request, status=400, error=message, page=1, faq_draft={"source": source, "text": text, "error": message}
            )
        board.flash(request, f"Réponse de la FAQ modifiée : « {entry.question} ».")
        return redirect("/questions#faq")

    async def faq_remove(request: web.Request) -> web.Response:
        form = await request.post()
        try:
            entry = await remove_faq(services, choice_field(form, "source", "Entrée de la FAQ"))
        except UserError as error:
            return await _show(request, status=400, error=board.plain(error.message), page=1)
        board.flash(request, f"Entrée retirée de la FAQ : « {entry.question} ».")
        return redirect("/questions#faq")

    app.router.add_get("/questions", queue)
    app.router.add_post("/questions/{number}/repondre", answer)
    app.router.add_post("/faq/modifier", faq_edit)
    app.router.add_post("/faq/retirer", faq_remove)
