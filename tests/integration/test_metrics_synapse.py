"""/metrics and /healthz of a bot running against a real Synapse: the counts move as it answers and
posts, health follows the sync, and no room, member or message appears in the scrape."""

from __future__ import annotations

import socket

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from handlers.replies import Post, Reply
from tests.integration.conftest import bot_config

pytestmark = pytest.mark.synapse
QUESTION = "comment garder nos bénévoles motivés dans la durée ?"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def scrape(base: str) -> tuple[str, int, str]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/metrics") as answer:
            assert answer.status == 200
            metrics = await answer.text()
        async with http.get(f"{base}/healthz") as answer:
            return metrics, answer.status, await answer.text()


async def test_metrics_count_what_the_bot_does_and_name_no_one(synapse, make_bot, bot_account, human, tmp_path):
    tribe = await human.create_room("Tribu Alimentation", encrypted=True, invite=(bot_account.user_id,))
    port = free_port()
    config = bot_config(
        synapse,
        tmp_path / "bot",
        bot_account,
        rooms=[{"id": tribe, "kind": "tribe", "name": "Alimentation"}],
        extra={"metrics": {"listen": f"127.0.0.1:{port}"}},
    )
    base = f"http://127.0.0.1:{port}"
    async with make_bot(config) as app:
        before, status, _ = await scrape(base)
        assert status == 200  # started means synced
        await human.wait_joined(tribe, bot_account.user_id)
        await human.send(tribe, f"!question {QUESTION}")
        await human.wait_for_message(tribe, bot_account.user_id, contains="Source :")
        assert await app.services.post(Reply(text="Rappel : la permanence commence bientôt.", to=Post(tribe)))
        await human.wait_for_message(tribe, bot_account.user_id, contains="Rappel")
        text, status, reason = await scrape(base)
    assert status == 200 and reason.startswith("dernière synchronisation réussie")
    first, now = samples(before), samples(text)
    assert now[("manufacture_messages_handled_total", (("kind", "command"),))] >= 1
    assert now[("manufacture_answers_total", (("outcome", "answered"),))] == 1
    assert now[("manufacture_search_seconds_count", ())] == 1
    assert now[("manufacture_sends_total", ())] >= first[("manufacture_sends_total", ())] + 2
    assert now[("manufacture_syncs_total", ())] > first[("manufacture_syncs_total", ())]
    assert now[("manufacture_event_lag_seconds_count", ())] >= 1
    assert 0 <= now[("manufacture_sync_last_success_age_seconds", ())] < 60
    for secret in (tribe, human.user_id, bot_account.user_id, "localhost", QUESTION, "bénévoles", "Alimentation"):
        assert secret not in text
    # Stopped with the bot: the port is free again.
    with pytest.raises(aiohttp.ClientConnectionError):
        await scrape(base)
