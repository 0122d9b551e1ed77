"""Dépôts: the list with filters (status, tribe, dates), a deposit with all its answers, a status
change with a comment (the depositor is told as with `!depot … statut`), and the CSV export.

What shows of a deposit is `handlers.deposits.records.deposit_view`, the chat's one rule: after
its author's « non », a reference, a date and a status only."""
from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from aiohttp import web

from bot.board.context import BoardContext, redirect, visitor
from handlers.deposits.export import deposit_rows, to_csv
from handlers.deposits.facilitation import change_status
from handlers.deposits.formsource import form_for
from handlers.deposits.records import STATUS_LABELS, deposit_view
from handlers.replies import UserError
from storage.board import DepositFilter, deposit_tribes, deposits_page, filtered_deposits
from storage.deposits import DEPOSIT_STATUSES, find_deposit

PAGE_SIZE = 50


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _filters(board: BoardContext, query) -> tuple[DepositFilter, dict[str, str]]:
    """The filter the query string asks for, and the values to show back in the form."""
    tz = board.services.config.bot.tz
    status = query.get("statut", "")
    status = status if status in DEPOSIT_STATUSES else ""
    tribe = query.get("tribu", "").strip()
    since, until = _day(query.get("du", "")), _day(query.get("au", ""))
    wanted = DepositFilter(
        status=status or None, tribe=tribe or None,
        since=datetime.combine(since, time(), tz) if since else None,
        # « au 12 mars » includes the 12th.
        until=datetime.combine(until + timedelta(days=1), time(), tz) if until else None)
    shown = {"statut": status, "tribu": tribe, "du": since.isoformat() if since else "",
             "au": until.isoformat() if until else ""}
    return wanted, shown


def add_routes(app: web.Application, board: BoardContext) -> None:
    services = board.services

    async def listing(request: web.Request) -> web.Response:
        wanted, shown = _filters(board, request.query)
        try:
            page = max(1, int(request.query.get("page", "1")))
        except ValueError:
            page = 1
        form = form_for(services)
        tz = services.config.bot.tz
        with services.db.session() as session:
            rows, total = deposits_page(session, wanted, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
            tribes = deposit_tribes(session)
        pages = max(1, -(-total // PAGE_SIZE))
        query = {k: v for k, v in shown.items() if v}
        return board.page(request, "deposits.html.j2", section="depots",
                          deposits=[deposit_view(d, form, tz) for d in rows], total=total, page=page, pages=pages,
                          filters=shown, tribes=tribes, statuses=[(s, STATUS_LABELS[s]) for s in DEPOSIT_STATUSES],
                          query=urlencode(query), export_query=urlencode(query))

    async def export(request: web.Request) -> web.Response:
        wanted, _ = _filters(board, request.query)
        form = form_for(services)

        def build() -> tuple[bytes, int]:
            with services.db.session() as session:
                found = filtered_deposits(session, wanted)
            # The chat's `!depots export`: the same rule of disclosure, French headings, the BOM.
            return to_csv(deposit_rows(found, form.keys()), form, for_spreadsheet=True), len(found)

        data, _count = await asyncio.to_thread(build)
        stamp = services.clock().astimezone(services.config.bot.tz).strftime("%Y-%m-%d")
        return web.Response(body=data, content_type="text/csv", charset="utf-8", headers={
            "Content-Disposition": f'attachment; filename="depots-{stamp}.csv"', "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff"})

    def _show(request: web.Request, reference: str, *, status: int = 200, error: str = "") -> web.Response:
        form = form_for(services)
        with services.db.session() as session:
            deposit = find_deposit(session, reference)
        if deposit is None:
            return board.page(request, "message_page.html.j2", section="depots", status=404,
                              title="Dépôt introuvable", text=f"Aucun dépôt ne porte la référence {reference}.")
        return board.page(request, "deposit.html.j2", section="depots", status=status, error=error,
                          d=deposit_view(deposit, form, services.config.bot.tz),
                          statuses=[(s, STATUS_LABELS[s]) for s in DEPOSIT_STATUSES])

    async def detail(request: web.Request) -> web.Response:
        return _show(request, request.match_info["reference"])

    async def set_status(request: web.Request) -> web.Response:
        reference = request.match_info["reference"]
        form = await request.post()
        status, comment = str(form.get("statut", "")), " ".join(str(form.get("commentaire", "")).split())
        try:
            replies = await change_status(services, visitor(request).user_id, reference, status, comment)
        except UserError as error:
            return _show(request, reference, status=400, error=error.message)
        board.flash(request, " ".join(await board.send(replies)))
        return redirect(f"/depots/{reference}")

    app.router.add_get("/depots", listing)
    app.router.add_get("/depots/export.csv", export)
    app.router.add_get("/depots/{reference}", detail)
    app.router.add_post("/depots/{reference}/statut", set_status)
