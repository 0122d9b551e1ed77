"""The daily purge job: planned from the last purge recorded at every start, run in batches through
the units of work, counted in /metrics; and `manufacture-bot purge [--dry-run]`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from prometheus_client import CollectorRegistry, generate_latest
from sqlmodel import select

from bot.app import build_app
from bot.cli import main
from handlers.metrics import Metrics
from handlers.retention import EVERY, FIRST_DELAY, JOB_ID, RetentionJob, cutoffs
from storage.messages import HandledEvent, SentMessage
from storage.retention import last_purge, record_purge
from tests.unit.stand_ins import Clock

NOW = datetime(2027, 6, 16, 12, tzinfo=UTC)


@pytest.fixture
async def scheduler():
    started = AsyncIOScheduler(timezone=UTC)
    started.start(paused=True)
    yield started
    started.shutdown(wait=False)


async def test_the_first_start_plans_a_purge_a_little_later(make_services, scheduler):
    job = RetentionJob(make_services(clock=Clock(NOW)))
    assert await job.start(scheduler) == NOW + FIRST_DELAY
    assert scheduler.get_job(JOB_ID).next_run_time == NOW + FIRST_DELAY


async def test_a_restart_plans_the_purge_a_day_after_the_last_one(make_services, db, scheduler):
    with db.session() as session:
        record_purge(session, NOW - timedelta(hours=3), 0)
    job = RetentionJob(make_services(clock=Clock(NOW)))
    assert await job.start(scheduler) == NOW - timedelta(hours=3) + EVERY
    # Started again: one job, not two.
    await job.start(scheduler)
    assert [j.id for j in scheduler.get_jobs()] == [JOB_ID]


async def test_a_bot_down_for_days_purges_as_soon_as_it_is_back(make_services, db, scheduler):
    with db.session() as session:
        record_purge(session, NOW - timedelta(days=4), 0)
    job = RetentionJob(make_services(clock=Clock(NOW)))
    assert await job.start(scheduler) == NOW


def test_the_bot_builds_its_purge_job(make_config):
    app = build_app(make_config(), embedder=None)
    try:
        assert isinstance(app.retention, RetentionJob)
    finally:
        app.db.close()


async def test_a_run_purges_records_itself_and_counts_in_metrics(make_services, db):
    metrics = Metrics(CollectorRegistry())
    with db.session() as session:
        for i in range(7):
            session.add(HandledEvent(event_id=f"$old{i}", handled_at=NOW - timedelta(days=31), done=True))
        session.add(HandledEvent(event_id="$pending", handled_at=NOW - timedelta(days=31), done=False))
        session.add(SentMessage(event_id="$s", room_id="!r", tag="", sent_at=NOW - timedelta(days=91)))
    job = RetentionJob(make_services(clock=Clock(NOW), metrics=metrics))
    deleted = await job.run()
    assert (deleted["handledevent"], deleted["sentmessage"]) == (7, 1)
    with db.session() as session:
        assert list(session.exec(select(HandledEvent.event_id))) == ["$pending"]
        assert last_purge(session) == NOW
    text = generate_latest(metrics.registry).decode()
    assert 'manufacture_purged_rows_total{table="handledevent"} 7.0' in text
    assert 'manufacture_purged_rows_total{table="answerrecord"} 0.0' in text
    assert metrics.registry.get_sample_value("manufacture_purge_last_success_timestamp_seconds") > 0


def test_metrics_refuse_a_table_they_do_not_know():
    with pytest.raises(ValueError, match="unknown metric label"):
        Metrics(CollectorRegistry()).purged({"@ana:example.org": 1}, 0.1)


def test_the_cutoffs_follow_the_configuration(make_config):
    config = make_config(retention={"handled_events_days": 10, "questions_days": 100})
    cut = cutoffs(config, NOW)
    assert cut.handled_events == NOW - timedelta(days=10)
    assert cut.questions == NOW - timedelta(days=100)
    assert cut.sent_messages == NOW - timedelta(days=90)
    assert "introduction" in cut.kept_tags and cut.recap_tag == "deposit-recap"


def test_the_command_line_shows_what_would_go_then_purges(make_config, db, capsys):
    config = make_config()
    old = datetime.now(UTC) - timedelta(days=40)
    with db.session() as session:
        session.add(HandledEvent(event_id="$old", handled_at=old, done=True))
        session.add(HandledEvent(event_id="$pending", handled_at=old, done=False))
    assert main(["purge", "--dry-run", "--config", str(config.path)]) == 0
    out = capsys.readouterr().out
    assert "1 ligne(s) seraient supprimées" in out and "handledevent : 1" in out
    with db.session() as session:
        assert len(session.exec(select(HandledEvent)).all()) == 2
    assert main(["purge", "--config", str(config.path)]) == 0
    assert "1 ligne(s) supprimées" in capsys.readouterr().out
    with db.session() as session:
        assert list(session.exec(select(HandledEvent.event_id))) == ["$pending"]
