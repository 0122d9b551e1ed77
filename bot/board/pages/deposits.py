"""Dépôts: the list with filters (status, tribe, dates), a deposit with all its answers, a status
change with a comment (the depositor is told as with `!depot … statut`), and the CSV export.

What shows of a deposit is `handlers.deposits.records.deposit_view`, the chat's one rule: after
its author's « non », a reference, a date and a status only. Every filter is checked
(bot/board/params.py): a value no filter can use is a French 400 page, not an empty list that
looks like an answer."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from aiohttp import web
from sqlmodel import Session

from bot.board.context import BoardContext, redirect, visitor
from bot.board.params import BadRequest, choice_field, day, page_exists, page_number, text_field, typed_day
from handlers.delivery import NotDelivered
from handlers.deposits.export import deposit_rows, to_csv
from handlers.deposits.facilitation import change_status
from handlers.deposits.formsource import form_for, tribe_names
from handlers.deposits.records import STATUS_LABELS, deposit_view
from handlers.french import format_date_fr
from handlers.replies import UserError
from storage.board import DepositFilter, deposit_tribes, deposits_page, filtered_deposits
from storage.deposits import DEPOSIT_STATUSES, Deposit, find_deposit

PAGE_SIZE = 50
# What a reference looks like (DEP-2027-0001, any case): anything else names no deposit, and is
# not sent to the database (PostgreSQL refuses a NUL byte in a query's text).
REFERENCE = re.compile(r"[A-Za-z0-9-]{1,40}")


async def _filters(board: BoardContext, query) -> tuple[DepositFilter, dict[str, str]]:
    """The filter the query string asks for, and the values to show back in the form."""
    services = board.services
    tz = services.config.bot.tz
    status = choice_field(query, "statut", "Statut")
    if status and status not in DEPOSIT_STATUSES:
        raise BadRequest(
            f"« {status} » n'est pas un statut : choisissez parmi "
            f"{', '.join(STATUS_LABELS[s] for s in DEPOSIT_STATUSES)}."
        )
    tribe = choice_field(query, "tribu", "Tribu")
    if tribe:
        known = set(await services.units.run(deposit_tribes))
        if tribe not in known | set(await services.units.run(tribe_names, services)):
            raise BadRequest(f"Aucune tribu ne s'appelle « {tribe} » : choisissez-la dans la liste.")
    since, until = day(query, "du", "Du"), day(query, "au", "Au")
    if since and until and since > until:
        raise BadRequest(
            f"La date de début ({format_date_fr(since, weekday=False)}) est après la date de fin "
            f"({format_date_fr(until, weekday=False)}) : inversez-les."
        )
    wanted = DepositFilter(
        status=status or None,
        tribe=tribe or None,
        since=datetime.combine(since, time(), tz) if since else None,
        # « au 12 mars » includes the 12th.
        until=datetime.combine(until + timedelta(days=1), time(), tz) if until else None,
    )
    shown = {
        "statut": status,
        "tribu": tribe,
        "du": typed_day(since) if since else "",
        "au": typed_day(until) if until else "",
    }
    return wanted, shown


def _period(since: str, until: str) -> str:
    """The dates filtered on, in words beside the fields (« Dépôts à partir du lundi 1er février 2027 »)."""

    def words(typed: str) -> str:
        day_, month, year = typed.split("/")
        return format_date_fr(date(int(year), int(month), int(day_)))

    if since and until:
        return f"Dépôts du {words(since)} au {words(until)}"
    if since:
        return f"Dépôts à partir du {words(since)}"
    return f"Dépôts jusqu'au {words(until)}" if until else ""


def _reference(request: web.Request) -> str | None:
    reference = request.match_info["reference"]
    return reference if REFERENCE.fullmatch(reference) else None


def add_routes(app: web.Application, board: BoardContext) -> None:
    services = board.services

    async def listing(request: web.Request) -> web.Response:
        wanted, shown = await _filters(board, request.query)
        page = page_number(request.query)
        form = await services.units.run(form_for, services)
        tz = services.config.bot.tz
        rows, total, tribes = await services.units.run(_listing, wanted, (page - 1) * PAGE_SIZE)
        pages = max(1, -(-total // PAGE_SIZE))
        page_exists(page, pages)
        query = {k: v for k, v in shown.items() if v}
        return board.page(
            request,
            "deposits.html.j2",
            section="depots",
            deposits=[deposit_view(d, form, tz) for d in rows],
            total=total,
            page=page,
            pages=pages,
            filters=shown,
            period=_period(shown["du"], shown["au"]),
            tribes=tribes,
            statuses=[(s, STATUS_LABELS[s]) for s in DEPOSIT_STATUSES],
            query=urlencode(query),
            export_query=urlencode(query),
        )

    async def export(request: web.Request) -> web.Response:
        wanted, _ = await _filters(board, request.query)
        form = await services.units.run(form_for, services)

        def build(session: Session) -> bytes:
            found = filtered_deposits(session, wanted)
            # The chat's `!depots export`: the same rule of disclosure, French headings, the BOM.
            return to_csv(deposit_rows(found, form.keys()), form, for_spreadsheet=True)

        data = await services.units.run(build)
        stamp = services.clock().astimezone(services.config.bot.tz).strftime("%Y-%m-%d")
        return web.Response(
            body=data,
            content_type="text/csv",
            charset="utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="depots-{stamp}.csv"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def _show(
        request: web.Request,
        reference: str | None,
        *,
        status: int = 200,
        error: str = "",
        chosen: str = "",
        comment: str = "",
    ) -> web.Response:
        """The deposit's page; after a refused change, with the facilitator's choice and comment
        filled in again, so that nothing they typed is lost."""
        form = await services.units.run(form_for, services)
        deposit = None
        if reference is not None:
            deposit = await services.units.run(find_deposit, reference)
        if deposit is None:
            shown = request.match_info["reference"]
            shown = shown if len(shown) <= 40 else shown[:40] + "…"
            return board.page(
                request,
                "message_page.html.j2",
                section="depots",
                status=404,
                title="Dépôt introuvable",
                text=f"Aucun dépôt ne porte la référence « {shown} ».",
            )
        return board.page(
            request,
            "deposit.html.j2",
            section="depots",
            status=status,
            error=error,
            d=deposit_view(deposit, form, services.config.bot.tz),
            statuses=[(s, STATUS_LABELS[s]) for s in DEPOSIT_STATUSES],
            chosen=chosen if chosen in DEPOSIT_STATUSES else deposit.status,
            comment=comment,
        )

    async def detail(request: web.Request) -> web.Response:
        return await _show(request, _reference(request))

    async def set_status(request: web.Request) -> web.Response:
        reference = _reference(request)
        if reference is None:
            return await _show(request, None)
        form = await request.post()
        status, typed = choice_field(form, "statut", "Nouveau statut"), text_field(form, "commentaire", "Commentaire")
        try:
            acknowledgement = await change_status(
                services, visitor(request).user_id, reference, status, " ".join(typed.split())
            )
        except NotDelivered as failed:
            # Nothing changed (handlers/deposits/facilitation.py): the same form, to try again.
            return await _show(request, reference, error=board.plain(failed.message), chosen=status, comment=typed)
        except UserError as error:
            return await _show(
                request, reference, status=400, error=board.plain(error.message), chosen=status, comment=typed
            )
        board.flash(request, await board.send([acknowledgement]))
        return redirect(f"/depots/{reference}")

    app.router.add_get("/depots", listing)
    app.router.add_get("/depots/export.csv", export)
    app.router.add_get("/depots/{reference}", detail)
    app.router.add_post("/depots/{reference}/statut", set_status)


def _listing(session: Session, wanted: DepositFilter, offset: int) -> tuple[list[Deposit], int, list[str]]:
    rows, total = deposits_page(session, wanted, offset=offset, limit=PAGE_SIZE)
    return rows, total, deposit_tribes(session)
