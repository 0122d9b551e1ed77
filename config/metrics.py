"""[metrics]: the operator's loopback listener for /metrics (Prometheus) and /healthz; off unless set."""
from __future__ import annotations

from dataclasses import dataclass

from config.reader import TomlReader


@dataclass(frozen=True)
class MetricsConfig:
    # "host:port" ("[::1]:9464" for IPv6); empty: no listener.
    listen: str = ""
    # /healthz answers 503 once the last successful sync is older than this. The bot's long poll
    # returns at least every 30 s, so two missed polls and some slack.
    sync_stale_seconds: float = 120.0

    @property
    def enabled(self) -> bool:
        return bool(self.listen)

    @property
    def host(self) -> str:
        return split_listen(self.listen)[0]

    @property
    def port(self) -> int:
        return split_listen(self.listen)[1]


def split_listen(listen: str) -> tuple[str, int]:
    """("127.0.0.1", 9464) from "127.0.0.1:9464", ("::1", 9464) from "[::1]:9464"; ValueError otherwise."""
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(listen)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(listen)
    return host, int(port)


def parse_metrics(m: TomlReader) -> MetricsConfig:
    listen = m.get("listen", str, MetricsConfig.listen).strip()
    if listen:
        try:
            split_listen(listen)
        except ValueError:
            raise m.fail("listen", "attendu « hôte:port », par exemple « 127.0.0.1:9464 »") from None
    stale = m.get("sync_stale_seconds", float, MetricsConfig.sync_stale_seconds)
    if stale <= 0:
        raise m.fail("sync_stale_seconds", "doit être positif")
    config = MetricsConfig(listen=listen, sync_stale_seconds=stale)
    m.no_unknown_keys()
    return config
