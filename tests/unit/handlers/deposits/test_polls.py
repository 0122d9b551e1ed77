"""A question with fixed choices comes as a poll beside its numbered text: a response answers as typing
the choice does, ends the poll, and nothing answers a poll no longer in hand or someone else's vote."""

from handlers.deposits.machine import FormState
from tests.unit.handlers.deposits.deposit_app import (
    ALICE,
    BOB,
    deposits,
    drafts,
    fill,
    messages,
    poll_ends,
    polls,
)

TITLE = "Cantine bio intercommunale"


async def test_a_choice_is_asked_as_a_poll_and_a_response_answers_it(make_deposit_app):
    async with make_deposit_app() as h:
        await h.say(ALICE, "!deposer")
        dm = await h.dm(ALICE)
        await h.say(ALICE, TITLE, room=dm)
        [question], [poll] = messages(h.events), polls(h.events)
        # The numbered text stays, for typing and for clients without polls.
        assert "Question 2 — Tribu" in question.body and "2. Alimentation" in question.body
        start = poll.content["org.matrix.msc3381.poll.start"]
        assert poll.room_id == dm and start["max_selections"] == 1
        assert start["kind"] == "org.matrix.msc3381.poll.disclosed"
        assert [(a["id"], a["org.matrix.msc1767.text"]) for a in start["answers"]] == [
            ("1", "Énergie"),
            ("2", "Alimentation"),
        ]
        assert "2. Alimentation" in poll.content["org.matrix.msc1767.text"]
        assert h.tag(poll) == f"deposit-poll:{drafts(h)[0].id}:tribe"

        sent = await h.vote(ALICE, poll, "2")
        # The poll is ended, then the next question comes, with its own poll.
        [end] = poll_ends(sent)
        assert end.content["m.relates_to"] == {"rel_type": "m.reference", "event_id": poll.event_id}
        assert end.content["org.matrix.msc1767.text"]
        assert sent.index(end) < sent.index(messages(sent)[0])
        assert "Question 3 — Porteur du projet" in messages(sent)[0].body
        assert "tribe" in drafts(h)[0].state and '"tribe": "Alimentation"' in drafts(h)[0].state

        # A later response to the ended poll answers nothing, even a different choice.
        assert await h.vote(ALICE, poll, "1") == []
        assert '"tribe": "Alimentation"' in drafts(h)[0].state


async def test_typing_the_number_still_works_and_ends_the_poll(make_deposit_app):
    async with make_deposit_app() as h:
        await h.say(ALICE, "!deposer")
        dm = await h.dm(ALICE)
        await h.say(ALICE, TITLE, room=dm)
        [poll] = polls(h.events)
        sent = await h.say_all(ALICE, "1", room=dm)
        [end] = poll_ends(sent)
        assert end.content["m.relates_to"]["event_id"] == poll.event_id
        assert '"tribe": "Énergie"' in drafts(h)[0].state
        assert await h.vote(ALICE, poll, "2") == []
        assert '"tribe": "Énergie"' in drafts(h)[0].state


async def test_another_members_response_is_ignored(make_deposit_app):
    async with make_deposit_app() as h:
        await h.say(ALICE, "!deposer")
        await h.say(ALICE, TITLE, room=await h.dm(ALICE))
        [poll] = polls(h.events)
        assert await h.vote(BOB, poll, "2") == []
        assert "tribe" not in FormState.from_json(drafts(h)[0].state).answers
        # The poll is still Alice's to answer.
        sent = await h.vote(ALICE, poll, "2")
        assert len(poll_ends(sent)) == 1 and '"tribe": "Alimentation"' in drafts(h)[0].state


async def test_a_response_in_the_stable_names_answers_too_and_back_asks_a_new_poll(make_deposit_app):
    async with make_deposit_app() as h:
        await h.say(ALICE, "!deposer")
        dm = await h.dm(ALICE)
        await h.say(ALICE, TITLE, room=dm)
        [tribe_poll] = polls(h.events)
        sent = await h.vote(ALICE, tribe_poll, "2", stable=True)
        [carrier_poll] = polls(sent)
        assert '"tribe": "Alimentation"' in drafts(h)[0].state
        # !retour ends the carrier's poll and asks the tribe again, with a new poll that answers it.
        sent = await h.say_all(ALICE, "!retour", room=dm)
        assert [e.content["m.relates_to"]["event_id"] for e in poll_ends(sent)] == [carrier_poll.event_id]
        [again] = polls(sent)
        assert again.event_id != tribe_poll.event_id
        assert await h.vote(ALICE, tribe_poll, "1") == []
        await h.vote(ALICE, again, "1")
        assert '"tribe": "Énergie"' in drafts(h)[0].state


async def test_a_whole_deposit_answered_by_polls_where_there_are_some(make_deposit_app):
    async with make_deposit_app() as h:
        await h.say(ALICE, "!deposer")
        dm = await h.dm(ALICE)
        typed = {
            "Question 1": TITLE,
            "Question 4": "Pays de Lunel",
            "Question 5": "Une cantine qui sert des produits locaux et bio aux écoles du territoire.",
            "Question 6": "1, 2",
            "Question 8": "alice@example.org",
        }
        chosen = {"Question 2": "2", "Question 3": "1", "Question 7": "2", "Question 9": "1"}
        question, poll = messages(h.events)[-1], (polls(h.events) or [None])[-1]
        for _ in range(9):
            number = question.body.split("Question ")[1].split(" ")[0]
            key = f"Question {number}"
            if key in chosen:
                assert poll is not None, key
                sent = await h.vote(ALICE, poll, chosen[key])
            else:
                assert poll is None, key
                sent = await h.say_all(ALICE, typed[key], room=dm)
            question, poll = messages(sent)[-1], (polls(sent) or [None])[-1]
        assert "Récapitulatif" in question.body or "récapitulatif" in question.body
        await fill(h, ALICE, ["oui"])
        [deposit] = deposits(h)
        assert deposit.tribe == "Alimentation" and deposit.carrier == ALICE and deposit.visibility == "community"


async def test_a_refused_answer_keeps_the_poll_open(make_deposit_app):
    async with make_deposit_app() as h:
        await h.say(ALICE, "!deposer")
        dm = await h.dm(ALICE)
        await h.say(ALICE, TITLE, room=dm)
        [poll] = polls(h.events)
        sent = await h.say_all(ALICE, "7", room=dm)
        # Asked again, without a second poll nor ending the first: it still answers the question.
        assert "parmi les choix proposés" in messages(sent)[0].body
        assert polls(sent) == [] and poll_ends(sent) == []
        sent = await h.vote(ALICE, poll, "2")
        assert len(poll_ends(sent)) == 1 and '"tribe": "Alimentation"' in drafts(h)[0].state
