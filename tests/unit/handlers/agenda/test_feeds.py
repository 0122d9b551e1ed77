"""Calendar feeds over real HTTP: the last good copy kept, backoff, one warning per outage."""

from __future__ import annotations

from storage.agenda import PENDING, FeedCache
from tests.unit.handlers.agenda.harness import FACILITATORS, feed_harness, ics, vevent


async def test_failing_feed_keeps_last_good_copy_and_warns_once(tmp_path, feed_server):
    feed_server.body = ics(vevent("atelier", "20270304T140000", "Atelier"))
    harness = feed_harness(tmp_path, feed_server.url)
    service = harness.service()
    await service.sync_from_config_and_feeds()
    assert len(harness.rows(status=PENDING)) == 2

    failures = [(500, feed_server.body), (200, "<html>Maintenance</html>")]
    for status, body in failures:
        feed_server.status, feed_server.body = status, body
        harness.clock.advance(hours=7)  # past any backoff
        report = await service.poll()
        assert report.feed_errors
        assert len(harness.rows(status=PENDING)) == 2  # the last good copy still drives the rows
    metrics = service.feeds.services.metrics
    assert metrics.registry.get_sample_value("manufacture_feed_failures_total") == len(failures)
    warnings = harness.poster.to(FACILITATORS)
    assert len(warnings) == 1 and "Framagenda" in warnings[0] and "500" in warnings[0]

    # While backing off, polls do not even hit the server.
    requests = feed_server.requests
    await service.poll()
    assert feed_server.requests == requests
    assert metrics.registry.get_sample_value("manufacture_feed_failures_total") == len(failures)  # no fetch, no failure

    # Unreachable: the server is gone. Same outage, no new warning; the copy is in the DB.
    url = feed_server.url
    port = int(url.split(":")[2].split("/")[0])
    await feed_server.stop()
    harness.clock.advance(hours=7)
    report = await service.poll()
    assert "injoignable" in next(iter(report.feed_errors.values()))
    assert len(harness.poster.to(FACILITATORS)) == 1
    with harness.db.session() as session:
        cache = session.get(FeedCache, url)
        assert "atelier" in cache.body and cache.failures == 3 and cache.outage_notified

    # Back online: one recovery notice, and the next outage would be announced again.
    await feed_server.start(port)
    feed_server.status, feed_server.body = 200, ics(vevent("atelier", "20270304T140000", "Atelier"))
    harness.clock.advance(hours=7)
    await harness.service().poll()
    assert "de nouveau lisible" in harness.poster.to(FACILITATORS)[-1]
    assert len(harness.poster.to(FACILITATORS)) == 2
