"""[metrics]: the operator's loopback listener for /metrics (Prometheus) and /healthz; off unless set."""

from __future__ import annotations

from dataclasses import dataclass

from config.listen import Listener, parse_listen
from config.reader import TomlReader


@dataclass(frozen=True)
class MetricsConfig(Listener):
    # /healthz answers 503 once the last successful sync is older than this. The bot's long poll
    # returns at least every 30 s, so two missed polls and some slack.
    sync_stale_seconds: float = 120.0


def parse_metrics(m: TomlReader) -> MetricsConfig:
    listen = parse_listen(m, "127.0.0.1:9464")
    stale = m.get("sync_stale_seconds", float, MetricsConfig.sync_stale_seconds)
    if stale <= 0:
        raise m.fail("sync_stale_seconds", "doit être positif")
    config = MetricsConfig(listen=listen, sync_stale_seconds=stale)
    m.no_unknown_keys()
    return config
