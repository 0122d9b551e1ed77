"""Forms left silent: one reminder in the member's direct chat, then closed as abandoned, answers kept."""

import json

from tests.unit.handlers.deposits.deposit_app import ALICE, drafts, thread_draft_of_the_previous_release


async def test_idle_form_gets_one_reminder_then_is_abandoned_and_kept(make_deposit_app):
    async with make_deposit_app() as h:
        await h.say(ALICE, "!deposer")
        await h.say(ALICE, "Cantine bio", room=await h.dm(ALICE))
        h.clock.advance(hours=23)
        assert await h.idle_check() == []
        h.clock.advance(hours=2)
        [reminder] = await h.idle_check()
        assert reminder.room_id == await h.dm(ALICE) and reminder.relations.in_reply_to is None
        assert reminder.mentions == [ALICE] and "Cantine bio" in reminder.body and "tribu" in reminder.body
        h.clock.advance(hours=30)
        assert await h.idle_check() == []  # one reminder only
        h.clock.advance(days=6)
        [closing] = await h.idle_check()
        assert closing.room_id == await h.dm(ALICE)
        assert "7 jours" in closing.body and "conservées" in closing.body and "!deposer" in closing.body
        [draft] = drafts(h)
        assert draft.status == "abandoned" and json.loads(draft.state)["answers"]["title"] == "Cantine bio"
        _, mine = await h.say(ALICE, "!mes-depots")
        assert mine.room_id == await h.dm(ALICE) and "Cantine bio" in mine.body and "interrompu" in mine.body
        # Any message in the direct chat is not taken as the form's (it is a question for the search, off
        # here): !deposer brings it back where it was.
        [other] = await h.say(ALICE, "Quand a lieu la prochaine rencontre ?", room=await h.dm(ALICE))
        assert "référentiel" in other.body and "Question" not in other.body
        assert drafts(h)[0].status == "abandoned"
        _told, welcome, again = await h.say(ALICE, "!deposer")
        assert "Bon retour" in welcome.body and "Question 2 —" in again.body and again.room_id == await h.dm(ALICE)
        assert len(drafts(h)) == 1 and drafts(h)[0].status == "filling"


async def test_activity_resets_the_reminder(make_deposit_app):
    async with make_deposit_app() as h:
        await h.say(ALICE, "!deposer")
        h.clock.advance(hours=25)
        assert len(await h.idle_check()) == 1
        await h.say(ALICE, "Cantine bio", room=await h.dm(ALICE))
        h.clock.advance(hours=25)
        assert len(await h.idle_check()) == 1


async def test_a_silent_draft_of_the_previous_release_is_reminded_in_the_direct_chat(make_deposit_app):
    async with make_deposit_app() as h:
        thread_draft_of_the_previous_release(h)
        h.clock.advance(hours=25)
        [reminder] = await h.idle_check()
        assert reminder.room_id == await h.dm(ALICE) and reminder.relations.in_reply_to is None
        assert "Cantine bio intercommunale" in reminder.body
        [draft] = drafts(h)
        assert draft.room_id == await h.dm(ALICE) and draft.thread_root is None
        sent = await h.say(ALICE, "2", room=await h.dm(ALICE))
        assert "Question 3 —" in sent[0].body


async def test_an_abandoned_form_in_a_direct_chat_does_not_swallow_later_messages(make_deposit_app):
    async with make_deposit_app() as h:
        await h.say(ALICE, "!deposer", room=await h.dm(ALICE))
        h.clock.advance(days=8)
        assert len(await h.idle_check()) == 1
        [other] = await h.say(ALICE, "Quand a lieu la prochaine rencontre ?", room=await h.dm(ALICE))
        assert "référentiel" in other.body and "Question" not in other.body  # the search's, not the form's
        assert drafts(h)[0].status == "abandoned"
        sent = await h.say(ALICE, "!deposer", room=await h.dm(ALICE))
        assert "Bon retour" in sent[0].body and len(drafts(h)) == 1
