"""Calendar feeds: fetch (http(s) or a local file), keep the last good copy in the database, and
back off while a feed is down, telling the facilitators once per outage.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import icalendar
from sqlmodel import Session
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from config import FeedConfig
from handlers.agenda.occurrences import Calendars, feed_source, parse_calendar
from handlers.context import Services
from storage.agenda import feed_cache
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# Between polls, a failing feed is retried after 1, 2, 4... poll periods, never less often than this.
MAX_BACKOFF = timedelta(hours=6)
FETCH_TIMEOUT = aiohttp.ClientTimeout(total=30)
# Network hiccups are retried within one poll; a feed that answers garbage is not.
_TRANSIENT = (aiohttp.ClientConnectionError, asyncio.TimeoutError, aiohttp.ServerDisconnectedError)

# notify(template, context, txn_key): a notice for the facilitators' room.
Notify = Callable[[str, Mapping[str, object], str], Awaitable[None]]


@dataclass(frozen=True)
class FeedState:
    feed: FeedConfig
    calendar: icalendar.Calendar | None  # the fresh copy, else the last good one, else None
    fresh: bool
    error: str = ""


def feed_label(feed: FeedConfig) -> str:
    return feed.name or feed.url


async def fetch_text(url: str, *, attempts: int = 3, retry_wait: float = 1.0) -> str:
    """The feed's text; raises on HTTP errors, unreachable hosts and unreadable files."""
    if not url.startswith(("http://", "https://")):
        return await asyncio.to_thread(Path(url).read_text, encoding="utf-8")
    async for attempt in AsyncRetrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=retry_wait, max=10),
        retry=retry_if_exception_type(_TRANSIENT),
        reraise=True,
    ):
        with attempt:
            async with aiohttp.ClientSession(timeout=FETCH_TIMEOUT) as session, session.get(url) as response:
                response.raise_for_status()
                # ICS is UTF-8 by RFC 5545, whatever the server's Content-Type says.
                return (await response.read()).decode("utf-8", errors="replace")
    raise AssertionError("unreachable")  # AsyncRetrying either returns or re-raises


def _describe(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"réponse HTTP {exc.status}"
    if isinstance(exc, (aiohttp.ClientConnectionError, asyncio.TimeoutError)):
        return "serveur injoignable"
    if isinstance(exc, FileNotFoundError):
        return "fichier introuvable"
    if isinstance(exc, ValueError):
        return "contenu illisible (ce n'est pas un calendrier iCalendar)"
    return type(exc).__name__


def _backoff(failures: int, poll_minutes: float) -> timedelta:
    # Half a period less than a whole number of periods, so the poll that should retry is not
    # missed by a few seconds of scheduling jitter.
    periods = 2 ** min(failures - 1, 16)
    return min(timedelta(minutes=poll_minutes * (periods - 0.5)), MAX_BACKOFF)


def _cache_key(url: str) -> str:
    return hashlib.sha1(url.encode()).hexdigest()[:12]


class FeedPoller:
    def __init__(self, services: Services, notify: Notify, *, attempts: int = 3, retry_wait: float = 1.0) -> None:
        self.services = services
        self.notify = notify
        self.attempts = attempts
        self.retry_wait = retry_wait

    async def refresh(self, feed: FeedConfig) -> FeedState:
        """Fetches the feed unless it is backing off; always returns the best copy available."""
        now = self.services.clock()
        cache = await self.services.units.run(feed_cache, feed.url)
        backing_off = cache.next_attempt_at is not None and now < cache.next_attempt_at
        cached_body = cache.body
        if backing_off:
            return FeedState(feed, await self._parse_cached(cached_body), fresh=False)
        try:
            body = await fetch_text(feed.url, attempts=self.attempts, retry_wait=self.retry_wait)
            calendar = await asyncio.to_thread(parse_calendar, body)
        except Exception as exc:  # every failure is handled the same way: keep the last good copy
            error = _describe(exc)
            log.warning("agenda feed %s failed: %s (%r)", feed_label(feed), error, exc)
            self.services.metrics.feed_failures.inc()
            await self._record_failure(feed, now, error)
            return FeedState(feed, await self._parse_cached(cached_body), fresh=False, error=error)
        await self._record_success(feed, now, body)
        return FeedState(feed, calendar, fresh=True)

    async def _parse_cached(self, body: str) -> icalendar.Calendar | None:
        if not body:
            return None
        try:
            return await asyncio.to_thread(parse_calendar, body)
        except ValueError:
            return None  # only good copies are stored, but be safe

    async def _record_failure(self, feed: FeedConfig, now: datetime, error: str) -> None:
        poll_minutes = self.services.config.agenda.poll_minutes
        must_notify, since, last_good = await self.services.units.run(_failed, feed.url, now, error, poll_minutes)
        if must_notify:
            await self.notify(
                "agenda/feed_down.md.j2",
                {
                    "feed": feed_label(feed),
                    "error": error,
                    "has_copy": last_good is not None,
                    "last_good": last_good.isoformat() if last_good else "",
                },
                f"feed-down-{_cache_key(feed.url)}-{int(since.timestamp())}",
            )

    async def _record_success(self, feed: FeedConfig, now: datetime, body: str) -> None:
        was_notified, since = await self.services.units.run(_fetched, feed.url, now, body)
        if was_notified:
            await self.notify(
                "agenda/feed_back.md.j2",
                {"feed": feed_label(feed)},
                f"feed-back-{_cache_key(feed.url)}-{int(since.timestamp()) if since else 0}",
            )


def _failed(
    session: Session, url: str, now: datetime, error: str, poll_minutes: float
) -> tuple[bool, datetime, datetime | None]:
    """A failed fetch recorded; returns whether to tell the facilitators, since when it fails, and the
    last good copy's time."""
    cache = feed_cache(session, url)
    # The count and the start of an outage are reset together (_fetched): a first failure.
    if cache.failures == 0 or cache.failing_since is None:
        cache.failing_since = now
    cache.failures += 1
    cache.last_error = error
    cache.next_attempt_at = now + _backoff(cache.failures, poll_minutes)
    must_notify = not cache.outage_notified
    # Recorded before posting: a crash here loses one notice rather than repeating it each poll.
    cache.outage_notified = True
    session.add(cache)
    return must_notify, cache.failing_since, cache.fetched_at


def _fetched(session: Session, url: str, now: datetime, body: str) -> tuple[bool, datetime | None]:
    """A good copy stored; returns whether an outage was told, and since when it lasted."""
    cache = feed_cache(session, url)
    was_notified, since = cache.outage_notified, cache.failing_since
    cache.body, cache.fetched_at = body, now
    cache.failures, cache.last_error, cache.next_attempt_at = 0, "", None
    cache.outage_notified, cache.failing_since = False, None
    session.add(cache)
    return was_notified, since


def _bodies(session: Session, urls: list[str]) -> dict[str, str]:
    return {url: feed_cache(session, url).body for url in urls}


async def cached_calendars(services: Services, work: UnitOfWork | None = None) -> Calendars:
    """The stored copy of every configured feed, parsed (in a thread: parsing is long).
    `work`: the event's unit, when a command reads the agenda."""
    feeds = services.config.agenda.feeds
    bodies = await (work or services.units.run)(_bodies, [feed.url for feed in feeds])
    return await asyncio.to_thread(_parse_all, feeds, bodies)


def _parse_all(feeds: Sequence[FeedConfig], bodies: dict[str, str]) -> Calendars:
    calendars: Calendars = {}
    for feed in feeds:
        if bodies[feed.url]:
            try:
                calendars[feed_source(feed)] = (feed, parse_calendar(bodies[feed.url]))
            except ValueError:
                continue
    return calendars
