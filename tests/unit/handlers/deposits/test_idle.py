"""Forms left silent: one reminder in the member's direct chat, then closed as abandoned, answers kept."""

import json

from handlers.deposits import check_idle_drafts
from handlers.replies import Post
from tests.unit.handlers.deposits.harness import ALICE, Harness, drafts, thread_draft_of_the_previous_release


async def test_idle_form_gets_one_reminder_then_is_abandoned_and_kept(tmp_path):
    h = Harness.build(tmp_path)
    await h.say(ALICE, "!deposer")
    await h.say(ALICE, "Cantine bio", room=h.dm(ALICE))
    h.clock.advance(hours=23)
    assert await check_idle_drafts(h.services) == []
    h.clock.advance(hours=2)
    [reminder] = [h.render(r) for r in await check_idle_drafts(h.services)]
    assert reminder.to == Post(h.dm(ALICE).room_id)
    assert reminder.mentions == (ALICE,) and "Cantine bio" in reminder.text and "tribu" in reminder.text
    h.clock.advance(hours=30)
    assert await check_idle_drafts(h.services) == []  # one reminder only
    h.clock.advance(days=6)
    [closing] = [h.render(r) for r in await check_idle_drafts(h.services)]
    assert closing.room_id == h.dm(ALICE).room_id
    assert "7 jours" in closing.text and "conservées" in closing.text and "!deposer" in closing.text
    [draft] = drafts(h)
    assert draft.status == "abandoned" and json.loads(draft.state)["answers"]["title"] == "Cantine bio"
    _, mine = await h.say(ALICE, "!mes-depots")
    assert mine.room_id == h.dm(ALICE).room_id and "Cantine bio" in mine.text and "interrompu" in mine.text
    # Any message in the direct chat is not taken as the form's: !deposer brings it back where it was.
    assert await h.say(ALICE, "Quand a lieu la prochaine rencontre ?", room=h.dm(ALICE)) == []
    _told, welcome, again = await h.say(ALICE, "!deposer")
    assert "Bon retour" in welcome.text and "Question 2 —" in again.text and again.room_id == h.dm(ALICE).room_id
    assert len(drafts(h)) == 1 and drafts(h)[0].status == "filling"


async def test_activity_resets_the_reminder(tmp_path):
    h = Harness.build(tmp_path)
    await h.say(ALICE, "!deposer")
    h.clock.advance(hours=25)
    assert len(await check_idle_drafts(h.services)) == 1
    await h.say(ALICE, "Cantine bio", room=h.dm(ALICE))
    h.clock.advance(hours=25)
    assert len(await check_idle_drafts(h.services)) == 1


async def test_a_silent_draft_of_the_previous_release_is_reminded_in_the_direct_chat(tmp_path):
    h = Harness.build(tmp_path)
    thread_draft_of_the_previous_release(h)
    h.clock.advance(hours=25)
    [reminder] = [h.render(r) for r in await check_idle_drafts(h.services)]
    assert reminder.to == Post(h.dm(ALICE).room_id)
    assert "Cantine bio intercommunale" in reminder.text
    [draft] = drafts(h)
    assert draft.room_id == h.dm(ALICE).room_id and draft.thread_root is None
    sent = await h.say(ALICE, "2", room=h.dm(ALICE))
    assert "Question 3 —" in sent[0].text


async def test_an_abandoned_form_in_a_direct_chat_does_not_swallow_later_messages(tmp_path):
    h = Harness.build(tmp_path)
    await h.say(ALICE, "!deposer", room=h.dm(ALICE))
    h.clock.advance(days=8)
    assert len(await check_idle_drafts(h.services)) == 1
    assert await h.say(ALICE, "Quand a lieu la prochaine rencontre ?", room=h.dm(ALICE)) == []
    sent = await h.say(ALICE, "!deposer", room=h.dm(ALICE))
    assert "Bon retour" in sent[0].text and len(drafts(h)) == 1
