"""Votes on an answer through a real Synapse, in an encrypted tribe room: one per person, their
latest 👍/👎, and a redacted reaction taken back."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from handlers.feedback_cli import build_report
from storage.questions import AnswerFeedback
from tests.integration.conftest import bot_config

pytestmark = pytest.mark.synapse


async def test_each_person_counts_once_and_a_redacted_reaction_is_withdrawn(
    synapse, make_bot, bot_account, human, member, tmp_path
):
    tribe = await human.create_room("Tribu Alimentation", encrypted=True, invite=(bot_account.user_id, member.user_id))
    config = bot_config(
        synapse, tmp_path / "bot", bot_account, rooms=[{"id": tribe, "kind": "tribe", "name": "Alimentation"}]
    )
    async with make_bot(config) as app:
        await human.wait_joined(tribe, bot_account.user_id)
        await human.wait_joined(tribe, member.user_id)
        await member.wait_joined(tribe, bot_account.user_id)
        await human.send(tribe, "!q comment fonctionne la permanence ?")
        answer = await human.wait_for_message(tribe, bot_account.user_id, contains="Source :")

        def recorded_reactions() -> int:
            with app.db.session() as session:
                return session.exec(select(func.count()).select_from(AnswerFeedback)).one()

        async def totals_once(reactions: int) -> tuple[int, int]:
            """(👍, 👎) in the feedback report, once the bot has taken in this many vote reactions."""
            await human.wait_until(lambda: recorded_reactions() == reactions, what=f"{reactions} vote reactions")
            report = build_report(app.db)
            return report["up"], report["down"]

        await human.react(tribe, answer.event_id, "👍")
        assert await totals_once(1) == (1, 0)
        await human.react(tribe, answer.event_id, "👍\ufe0f")
        assert await totals_once(2) == (1, 0)
        down = await human.react(tribe, answer.event_id, "👎")
        assert await totals_once(3) == (0, 1)
        await member.react(tribe, answer.event_id, "👍")
        assert await totals_once(4) == (1, 1)
        # Taking back the 👎 leaves the person's 👍️: two people, two 👍.
        await human.redact(tribe, down)
        assert await totals_once(3) == (2, 0)
