"""Usage: does the bot help? Per week, questions asked, answered vs abstained vs forwarded, 👍/👎;
deposits by tribe and status. Plots drawn server-side as SVG (bot/board/charts.py).

Read on a phone: the figures are sentences, not a wide table. The totals of the period come first,
then one foldable block per week that saw something; the weeks with nothing are one line. The
counts include the weeks the retention purge emptied (usage_week, storage/board.py weekly_usage)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from aiohttp import web
from sqlmodel import Session

from bot.board.charts import grouped_bars
from bot.board.context import BoardContext
from handlers.deposits.records import STATUS_LABELS
from handlers.french import format_count_fr, format_date_fr
from storage.board import WeekUsage, deposits_by_tribe_and_status, weekly_usage
from storage.deposits import DEPOSIT_STATUSES

WEEKS = 12
# The figures of a week, in the order they are read, each said in words (an emoji alone is not read
# the same by everyone, nor at all by a screen reader): (field, singular, plural).
FIGURES = (
    ("asked", "question posée au bot", "questions posées au bot"),
    ("answered", "répondue par le bot", "répondues par le bot"),
    ("abstained", "sans réponse du bot (abstention)", "sans réponse du bot (abstentions)"),
    ("forwarded", "transmise à l'équipe", "transmises à l'équipe"),
    ("up", "avis « utile » (👍)", "avis « utile » (👍)"),
    ("down", "avis « pas utile » (👎)", "avis « pas utile » (👎)"),
)
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
            [
                ("👍 utile", COLORS["up"], [w.up for w in weeks]),
                ("👎 pas utile", COLORS["down"], [w.down for w in weeks]),
            ],
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
        active = [
            {"week": label, "summary": _week_summary(w), "figures": _figures(w)}
            for label, w in zip(labels, weeks, strict=True)
            if _busy(w)
        ]
        quiet = [label for label, w in zip(labels, weeks, strict=True) if not _busy(w)]
        totals = WeekUsage(weeks[0].week)
        for w in weeks:
            for name, _, _ in FIGURES:
                setattr(totals, name, getattr(totals, name) + getattr(w, name))
        return board.page(
            request,
            "usage.html.j2",
            section="usage",
            charts=[questions, votes, deposit_chart],
            totals=_figures(totals),
            weeks=active,
            quiet_weeks=quiet,
            weeks_count=WEEKS,
            tribes=[
                {
                    "tribe": t,
                    "total": sum(by_tribe[t].values()),
                    "statuses": [
                        f"{STATUS_LABELS[s]} : {format_count_fr(by_tribe[t][s])}"
                        for s in DEPOSIT_STATUSES
                        if by_tribe[t].get(s)
                    ],
                }
                for t in tribes
            ],
        )

    app.router.add_get("/usage", page)


def _busy(week: WeekUsage) -> bool:
    return any(getattr(week, name) for name, _, _ in FIGURES)


def _figures(week: WeekUsage) -> list[dict[str, str]]:
    """Every figure of the week, zeros included: a block opened on purpose shows all of them."""
    return [
        {"count": format_count_fr(value), "label": singular if value <= 1 else plural}
        for name, singular, plural in FIGURES
        for value in (getattr(week, name),)
    ]


def _week_summary(week: WeekUsage) -> str:
    """The line a folded week shows: its questions and its votes, in words."""
    asked = f"{format_count_fr(week.asked)} question{'s' if week.asked > 1 else ''}"
    forwarded = f"{format_count_fr(week.forwarded)} transmise{'s' if week.forwarded > 1 else ''}"
    votes = week.up + week.down
    return f"{asked}, {forwarded}, {format_count_fr(votes)} avis"


def _usage(session: Session, now: datetime) -> tuple[list[WeekUsage], list[tuple[str | None, str, int]]]:
    return weekly_usage(session, now, WEEKS), deposits_by_tribe_and_status(session)
