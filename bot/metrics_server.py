"""The operator's listener: /metrics (Prometheus text format) and /healthz, inside the bot's event loop.

Only counts and durations are served, never a room, a member or a message. It shares the loop with
the sync, so every handler here is cheap: rendering the registry takes microseconds.
"""
from __future__ import annotations

import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

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
        self._runner: web.AppRunner | None = None

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        return app

    async def start(self) -> None:
        # handle_signals=False: the bot's own handlers stop it; aiohttp's would end the loop under it.
        runner = web.AppRunner(self.application(), handle_signals=False, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.config.host, self.config.port).start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        log.info("Metrics and health served on http://%s/metrics and /healthz", self.config.listen)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        healthy, reason = health(self.metrics, self.config.sync_stale_seconds)
        return web.Response(status=200 if healthy else 503, text=reason + "\n")
