"""Usage: does the bot help? Per week, questions asked, answered vs abstained vs forwarded, 👍/👎;
deposits by tribe and status. Plots drawn server-side as SVG (bot/board/charts.py)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from aiohttp import web
from sqlmodel import Session

from bot.board.charts import grouped_bars
from bot.board.context import BoardContext
from handlers.deposits.records import STATUS_LABELS
from handlers.french import format_date_fr
from storage.board import WeekUsage, deposits_by_tribe_and_status, weekly_usage
from storage.deposits import DEPOSIT_STATUSES

WEEKS = 12
# Deposits without a tribe, and those whose author kept the content (and so the tribe) to themselves.
NO_TRIBE = "sans tribu ou confidentiel"
COLORS = {
    "asked": "#4a6fa5",
    "answered": "#2e8b57",
    "abstained": "#d98e04",
    "forwarded": "#8e44ad",
    "up": "#2e8b57",
    "down": "#c0392b",
}
STATUS_COLORS = {"nouveau": "#4a6fa5", "en-etude": "#d98e04", "accompagne": "#2e8b57", "clos": "#7f8c8d"}


def add_routes(app: web.Application, board: BoardContext) -> None:
    services = board.services

    async def page(request: web.Request) -> web.Response:
        tz = services.config.bot.tz
        weeks, deposits = await services.units.run(_usage, services.clock())
        labels = [format_date_fr(w.week.astimezone(tz), weekday=False).rsplit(" ", 1)[0] for w in weeks]
        short = [w.week.astimezone(tz).strftime("%d/%m") for w in weeks]
        questions = grouped_bars(
            "Questions par semaine",
            short,
            [
                ("répondues", COLORS["answered"], [w.answered for w in weeks]),
                ("sans réponse (abstention)", COLORS["abstained"], [w.abstained for w in weeks]),
                ("transmises à l'équipe", COLORS["forwarded"], [w.forwarded for w in weeks]),
            ],
        )
        votes = grouped_bars(
            "Avis sur les réponses par semaine",
            short,
            [("👍", COLORS["up"], [w.up for w in weeks]), ("👎", COLORS["down"], [w.down for w in weeks])],
        )
        by_tribe: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(DEPOSIT_STATUSES, 0))
        for tribe, status, count in deposits:
            by_tribe[tribe or NO_TRIBE][status] += count
        tribes = sorted(by_tribe)
        deposit_chart = grouped_bars(
            "Dépôts par tribu et par statut",
            tribes,
            [(STATUS_LABELS[s], STATUS_COLORS[s], [by_tribe[t].get(s, 0) for t in tribes]) for s in DEPOSIT_STATUSES],
        )
        table = [
            {
                "week": label,
                "asked": w.asked,
                "answered": w.answered,
                "abstained": w.abstained,
                "forwarded": w.forwarded,
                "up": w.up,
                "down": w.down,
            }
            for label, w in zip(labels, weeks, strict=True)
        ]
        return board.page(
            request,
            "usage.html.j2",
            section="usage",
            charts=[questions, votes, deposit_chart],
            weeks=table,
            weeks_count=WEEKS,
            tribes=[{"tribe": t, "counts": [by_tribe[t].get(s, 0) for s in DEPOSIT_STATUSES]} for t in tribes],
            status_labels=[STATUS_LABELS[s] for s in DEPOSIT_STATUSES],
        )

    app.router.add_get("/usage", page)


def _usage(session: Session, now: datetime) -> tuple[list[WeekUsage], list[tuple[str | None, str, int]]]:
    return weekly_usage(session, now, WEEKS), deposits_by_tribe_and_status(session)
