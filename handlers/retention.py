"""The daily retention purge (issue 20): what [retention] says is past its purpose is deleted, one
short batch at a time (storage/retention.py), and counted in /metrics.

Like every job, it is planned from the database at each start: the next run comes a day after the
last one recorded in purge_run (at once when that is past), so a bot restarted every night still
purges once a day and a bot down for a week purges as soon as it is back.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from config import Config
from config.cli import add_config_option, config_from
from handlers.board.links import LINK_LIFETIME
from handlers.context import Services
from handlers.deposits.machine import RECAP_TAG
from handlers.rooms import INTRODUCTION_TAG
from storage.database import open_database
from storage.retention import RULES, Cutoffs, last_purge, purge, purge_batch, purgeable, record_purge
from storage.time import utcnow

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

JOB_ID = "retention-purge"
EVERY = timedelta(days=1)
# A first purge waits a little after a first start: the catch-up of missed events comes first.
FIRST_DELAY = timedelta(minutes=10)


def cutoffs(config: Config, now: datetime) -> Cutoffs:
    """What goes now under this configuration: the job's and the command line's one reading of it."""
    return Cutoffs.of(
        config.retention,
        now,
        feed_urls=[feed.url for feed in config.agenda.feeds],
        # bot/board/auth.py keeps a used link's nonce that long: past it the link is refused anyway.
        link_keep=2 * LINK_LIFETIME,
        kept_tags=[INTRODUCTION_TAG],
        recap_tag=RECAP_TAG,
    )


class RetentionJob:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def start(self, scheduler: AsyncIOScheduler) -> datetime:
        """Plans the daily job from the last purge recorded; returns when it runs next."""
        now = self.services.clock()
        last = await self.services.units.run(last_purge)
        due = now + FIRST_DELAY if last is None else max(now, last + EVERY)
        scheduler.add_job(
            self.run,
            "interval",
            seconds=EVERY.total_seconds(),
            next_run_time=due,
            id=JOB_ID,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        return due

    async def run(self) -> Counter[str]:
        """One purge to the end: each batch is a step of its own (committed, the write lock released
        between two), so the bot's events go on being handled meanwhile."""
        started, now = time.monotonic(), self.services.clock()
        cut = cutoffs(self.services.config, now)
        deleted: Counter[str] = Counter()
        async with self.services.units.open() as work:
            for rule in range(len(RULES)):
                more = True
                while more:
                    batch, more = await work(purge_batch, rule, cut)
                    deleted.update(batch)
            await work(record_purge, now, sum(deleted.values()))
        self.services.metrics.purged(deleted, time.monotonic() - started)
        # Table names and counts only: nothing of what the rows held.
        log.info("Retention purge: %s", ", ".join(f"{n} {t}" for t, n in sorted(deleted.items()) if n) or "nothing")
        return deleted


# ---------------------------------------------------------------- command line


def cmd_purge(args: argparse.Namespace) -> int:
    config = config_from(args)
    db = open_database(config.data_dir, config.database)
    try:
        with db.session() as session:
            cut = cutoffs(config, utcnow())
            if args.dry_run:
                counts = purgeable(session, cut)
                verb = "seraient supprimées"
            else:
                counts = purge(session, cut)
                record_purge(session, cut.now, sum(counts.values()))
                verb = "supprimées"
    finally:
        db.close()
    total = sum(counts.values())
    print(f"{total} ligne(s) {verb}{' (rien n’a été supprimé)' if args.dry_run else ''} :")
    for table, count in sorted(counts.items()):
        print(f"  {table} : {count}")
    return 0


def register_cli(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "purge",
        help="supprime ce qui a dépassé sa durée de conservation ([retention]), comme le fait le bot chaque jour",
    )
    parser.add_argument("--dry-run", action="store_true", help="compte ce qui partirait, sans rien supprimer")
    add_config_option(parser)
    parser.set_defaults(func=cmd_purge)
