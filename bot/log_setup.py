"""How the process logs: one format, and the chatty libraries held at WARNING at least."""

from __future__ import annotations

import logging

# nio and the HTTP stack are chatty at INFO and may log event content at DEBUG.
CHATTY = ("nio", "aiohttp", "peewee", "apscheduler", "httpx", "bm25s", "alembic")


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in CHATTY:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
