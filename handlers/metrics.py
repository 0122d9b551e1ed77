"""What an operator counts: one typed object, built by the composition root around its registry and
passed where things happen (handlers, the sender, the sync). Scraped at /metrics (bot/metrics_server.py).

Labels take a handful of fixed words only: never a user id, a room id or anything a member wrote.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from storage.retention import PURGED_TABLES

MESSAGE_KINDS = (
    "command",
    "unknown_command",
    "listener",
    "question",
    "too_long",
    "ignored",
    "reaction",
    "redaction",
    "poll",
)
ANSWER_OUTCOMES = ("answered", "abstained", "forwarded")
FORM_STAGES = ("started", "completed", "abandoned")
MISSED_REASONS = ("beyond_grace", "undelivered")
SEND_FAILURES = ("refused", "local_error", "upload", "unreachable")
RETRY_CAUSES = ("database", "homeserver")
# A search takes about 10 ms warm; a cold model or a large collection, seconds.
SEARCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# From the origin server's timestamp to the bot handling the event; a restart's catch-up is minutes.
LAG_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)
# Reminders are due to the minute; the grace period is counted in minutes too.
LATENESS_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 1800.0, 3600.0)


class Metrics:
    """`registry`: the one the /metrics endpoint serves; None gives this object a registry of its own
    that nobody scrapes (tests and command-line tools count for nothing)."""

    def __init__(self, registry: CollectorRegistry | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.clock = clock
        self.last_sync_success: float | None = None
        # Since when handling events fails because the database does not answer (None: it answers).
        self.database_down_since: float | None = None
        r = self.registry
        self.messages = Counter(
            "manufacture_messages_handled", "Incoming events handled, by what took them.", ["kind"], registry=r
        )
        self.handler_failures = Counter(
            "manufacture_handler_failures",
            "Unexpected errors while handling an event (the member got an apology).",
            registry=r,
        )
        self.answers = Counter("manufacture_answers", "Questions by outcome.", ["outcome"], registry=r)
        self.search_seconds = Histogram(
            "manufacture_search_seconds", "Time to search the référentiel.", buckets=SEARCH_BUCKETS, registry=r
        )
        self.sends = Counter("manufacture_sends", "Messages the homeserver accepted from the bot.", registry=r)
        self.send_failures = Counter(
            "manufacture_send_failures", "Messages that could not be sent.", ["reason"], registry=r
        )
        self.rate_limited = Counter(
            "manufacture_rate_limit_retries",
            "Requests the homeserver refused with M_LIMIT_EXCEEDED, then retried.",
            registry=r,
        )
        self.syncs = Counter("manufacture_syncs", "Successful syncs with the homeserver.", registry=r)
        self.sync_failures = Counter("manufacture_sync_failures", "Syncs the homeserver refused.", registry=r)
        self.sync_success_time = Gauge(
            "manufacture_sync_last_success_timestamp_seconds",
            "When the last sync succeeded (Unix time; 0 before the first).",
            registry=r,
        )
        self.sync_age = Gauge(
            "manufacture_sync_last_success_age_seconds",
            "Seconds since the last successful sync (-1 before the first).",
            registry=r,
        )
        self.sync_age.set_function(self._sync_age_or_unknown)
        self.event_lag = Histogram(
            "manufacture_event_lag_seconds",
            "From a message's origin timestamp to the bot handling it.",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.reminder_lateness = Histogram(
            "manufacture_reminder_lateness_seconds",
            "How long after its due time a reminder was posted.",
            buckets=LATENESS_BUCKETS,
            registry=r,
        )
        self.reminders_missed = Counter(
            "manufacture_reminders_missed",
            "Reminders never posted: beyond the grace period, or reaching no room.",
            ["reason"],
            registry=r,
        )
        self.feed_failures = Counter("manufacture_feed_failures", "Calendar feed fetches that failed.", registry=r)
        self.forms = Counter(
            "manufacture_deposit_forms", "Deposit forms started, completed and abandoned.", ["stage"], registry=r
        )
        self.event_retries = Counter(
            "manufacture_event_retries",
            "Attempts at handling an event that failed because the database or the "
            "homeserver did not answer (the event waits and is tried again).",
            ["cause"],
            registry=r,
        )
        self.events_pending = Gauge(
            "manufacture_events_pending",
            "Events received and not handled yet (waiting their turn or a retry).",
            registry=r,
        )
        self.undecryptable = Counter(
            "manufacture_undecryptable_events", "Encrypted events whose key had not arrived when they did.", registry=r
        )
        self.purged_rows = Counter(
            "manufacture_purged_rows",
            "Rows the retention purge deleted ([retention]), by table.",
            ["table"],
            registry=r,
        )
        self.purge_success_time = Gauge(
            "manufacture_purge_last_success_timestamp_seconds",
            "When the last retention purge finished (Unix time; 0 before the first since start).",
            registry=r,
        )
        self.purge_seconds = Gauge(
            "manufacture_purge_last_duration_seconds", "How long the last retention purge took.", registry=r
        )
        # Every series exists from the start at 0: a rate over a series born late misses its first count.
        for family, label_values in (
            (self.messages, MESSAGE_KINDS),
            (self.answers, ANSWER_OUTCOMES),
            (self.forms, FORM_STAGES),
            (self.reminders_missed, MISSED_REASONS),
            (self.send_failures, SEND_FAILURES),
            (self.event_retries, RETRY_CAUSES),
            (self.purged_rows, PURGED_TABLES),
        ):
            for value in label_values:
                family.labels(value)

    def message_handled(self, kind: str) -> None:
        self.messages.labels(_known(kind, MESSAGE_KINDS)).inc()

    def answer(self, outcome: str) -> None:
        self.answers.labels(_known(outcome, ANSWER_OUTCOMES)).inc()

    def form(self, stage: str) -> None:
        self.forms.labels(_known(stage, FORM_STAGES)).inc()

    def reminder_missed(self, reason: str) -> None:
        self.reminders_missed.labels(_known(reason, MISSED_REASONS)).inc()

    def send_failed(self, reason: str) -> None:
        self.send_failures.labels(_known(reason, SEND_FAILURES)).inc()

    def event_retried(self, cause: str) -> None:
        self.event_retries.labels(_known(cause, RETRY_CAUSES)).inc()
        if cause == "database" and self.database_down_since is None:
            self.database_down_since = self.clock()

    def purged(self, deleted: Mapping[str, int], seconds: float) -> None:
        for table, count in deleted.items():
            self.purged_rows.labels(_known(table, PURGED_TABLES)).inc(count)
        self.purge_seconds.set(seconds)
        self.purge_success_time.set(self.clock())

    def database_answered(self) -> None:
        self.database_down_since = None

    def sync_succeeded(self) -> None:
        self.last_sync_success = self.clock()
        self.syncs.inc()
        self.sync_success_time.set(self.last_sync_success)

    def seconds_since_sync(self) -> float | None:
        """None before the first successful sync."""
        if self.last_sync_success is None:
            return None
        return max(0.0, self.clock() - self.last_sync_success)

    def _sync_age_or_unknown(self) -> float:
        age = self.seconds_since_sync()
        return -1.0 if age is None else age


def _known(value: str, allowed: tuple[str, ...]) -> str:
    # A label outside its fixed words would be a programming error that could leak an id: refuse it.
    if value not in allowed:
        raise ValueError(f"unknown metric label {value!r}; expected one of {allowed}")
    return value
