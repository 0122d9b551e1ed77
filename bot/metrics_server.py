"""The operator's listener: /metrics (Prometheus text format) and /healthz, inside the bot's event loop.

Only counts and durations are served, never a room, a member or a message. It shares the loop with
the sync, so every handler here is cheap: rendering the registry takes microseconds.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.local_listener import LocalListener
from config import MetricsConfig
from handlers.metrics import Metrics
from storage.database import STORAGE_UNAVAILABLE, Database

log = logging.getLogger(__name__)


# A database slower than this to answer counts as unreachable (SQLite waits up to 5 s on a lock).
DATABASE_PROBE_SECONDS = 3.0
# Named, not spelled `(TimeoutError, *STORAGE_UNAVAILABLE)` in the except: mypy reads no starred tuple there.
PROBE_FAILURES: tuple[type[Exception], ...] = (TimeoutError, *STORAGE_UNAVAILABLE)
DATABASE_DOWN = "base de données injoignable"


def health(metrics: Metrics, stale_after: float, database_answers: bool = True) -> tuple[bool, str]:
    """Whether the bot is healthy, and why (one line for an operator's probe or log)."""
    if not database_answers or metrics.database_down_since is not None:
        return False, DATABASE_DOWN
    age = metrics.seconds_since_sync()
    if age is None:
        return False, "aucune synchronisation réussie avec le serveur Matrix pour l'instant"
    if age > stale_after:
        return False, f"dernière synchronisation réussie il y a {age:.0f} s (limite {stale_after:.0f} s)"
    return True, f"dernière synchronisation réussie il y a {age:.0f} s"


class MetricsServer:
    def __init__(self, metrics: Metrics, config: MetricsConfig, db: Database) -> None:
        self.metrics, self.config, self.db = metrics, config, db
        self.listener = LocalListener()

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        return app

    async def start(self) -> None:
        await self.listener.start(self.application(), self.config.host, self.config.port)
        log.info("Metrics and health served on http://%s/metrics and /healthz", self.config.listen)

    async def stop(self) -> None:
        await self.listener.stop()

    async def _metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        healthy, reason = health(self.metrics, self.config.sync_stale_seconds, await self._database_answers())
        return web.Response(status=200 if healthy else 503, text=reason + "\n")

    async def _database_answers(self) -> bool:
        # In a thread: a server that does not answer, or a locked SQLite file, must not hold the loop.
        try:
            await asyncio.wait_for(asyncio.to_thread(self.db.ping), DATABASE_PROBE_SECONDS)
        except PROBE_FAILURES as error:
            log.warning("Health probe: the database does not answer (%s)", type(error).__name__)
            return False
        return True
