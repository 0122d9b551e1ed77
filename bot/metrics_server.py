"""The operator's listener: /metrics (Prometheus text format) and /healthz, inside the bot's event loop.

Only counts and durations are served, never a room, a member or a message. It shares the loop with
the sync, so every handler here is cheap: rendering the registry takes microseconds.
"""
from __future__ import annotations

import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.local_listener import LocalListener
from config import MetricsConfig
from handlers.metrics import Metrics

log = logging.getLogger(__name__)


def health(metrics: Metrics, stale_after: float) -> tuple[bool, str]:
    """Whether the bot is healthy, and why (plain English, for an operator's probe or log)."""
    age = metrics.seconds_since_sync()
    if age is None:
        return False, "no successful sync with the homeserver yet"
    if age > stale_after:
        return False, f"last successful sync {age:.0f} s ago (limit {stale_after:.0f} s)"
    return True, f"last successful sync {age:.0f} s ago"


class MetricsServer:
    def __init__(self, metrics: Metrics, config: MetricsConfig) -> None:
        self.metrics, self.config = metrics, config
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
        healthy, reason = health(self.metrics, self.config.sync_stale_seconds)
        return web.Response(status=200 if healthy else 503, text=reason + "\n")
