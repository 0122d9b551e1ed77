"""The deposit form in the chat: in the member's direct chat wherever it starts, restarts, two members at
once, confidential rooms, and drafts of the previous release left in a room's thread."""

from handlers.deposits.machine import FormState
from tests.unit.handlers.deposits.deposit_app import (
    ALICE,
    BOB,
    FACILITATOR,
    FACILITATORS,
    PEERS,
    SELF_DEPOSIT,
    TRIBE_ENERGY,
    TRIBE_FOOD,
    deposits,
    drafts,
    fill,
    thread_draft_of_the_previous_release,
)


async def test_deposer_in_a_room_continues_in_the_members_direct_chat(make_deposit_app):
    async with make_deposit_app() as h:
        told, question = await h.say(ALICE, "!déposer", event_id="$root")
        # The room hears only that the bot wrote privately: no question, no title, nothing typed.
        assert told.room_id == TRIBE_ENERGY and "message privé" in told.body and "Question" not in told.body
        assert question.room_id == await h.dm(ALICE) and "Question 1 —" in question.body
        [draft] = drafts(h)
        assert (draft.room_id, draft.origin_room_id, draft.thread_root) == (await h.dm(ALICE), TRIBE_ENERGY, None)
        # Answers typed in the room are not taken: nothing of the form happens there.
        assert await h.say(ALICE, "Cantine bio") == []
        assert await h.say(ALICE, "Cantine bio", thread_root="$root") == []
        [second] = await h.say(ALICE, "Cantine bio", room=await h.dm(ALICE))
        # A reply to the answer, in the direct chat.
        assert second.room_id == await h.dm(ALICE) and second.relations.in_reply_to == h.app.last_event_id
        assert "Question 2 —" in second.body


async def test_a_member_yet_to_join_the_direct_chat_is_told_to_accept_the_invitation(make_deposit_app):
    async with make_deposit_app() as h:
        h.app.homeserver.not_joining.add(ALICE)
        # The question waits for her in the direct chat: the room hears the pointer alone.
        [told] = await h.say(ALICE, "!deposer")
        assert "Acceptez mon invitation" in told.body
        h.app.homeserver.join(ALICE, await h.dm(ALICE))
        [question] = await h.app.settle()
        assert question.room_id == await h.dm(ALICE) and "Question 1 —" in question.body
        told, _ = await h.say(ALICE, "!mes-depots")
        assert told.body == "Je vous ai répondu en message privé."


async def test_a_complete_deposit_is_numbered_announced_and_notified(make_deposit_app):
    async with make_deposit_app() as h:
        await h.say(ALICE, "!deposer")
        sent = await fill(h, ALICE, SELF_DEPOSIT)
        recap = h.tagged(sent)
        assert h.tag(recap) == f"deposit-recap:{drafts(h)[0].id}"
        sent = await h.say(ALICE, "oui", room=await h.dm(ALICE))
        [deposit] = deposits(h)
        assert deposit.reference == "DEP-2027-0001" and deposit.title == "Cantine bio intercommunale"
        assert deposit.tribe == "Alimentation" and deposit.carrier == ALICE and deposit.depositor == ALICE
        assert deposit.visibility == "community" and deposit.status == "nouveau"
        assert deposit.origin_room_id == TRIBE_ENERGY and not deposit.origin_confidential
        assert deposit.answers["needs"] == ["partners", "funding"] and deposit.answers["carrier_name"] is None
        by_room = {s.room_id: s for s in sent}
        assert "DEP-2027-0001" in by_room[await h.dm(ALICE)].body  # the thanks answers the « oui », in the direct chat
        # Typed in a direct chat (a confidential room), the notice and the announcement get past the
        # sender's guard only by the author's consent: their confirmed recap.
        notice = by_room[FACILITATORS]
        assert "DEP-2027-0001" in notice.body and "Cantine bio intercommunale" in notice.body
        announce = by_room[TRIBE_FOOD]  # « toute la communauté » was the author's choice
        assert "Cantine bio intercommunale" in announce.body and "Pays de Lunel" in announce.body
        # A second confirmation (✅ after « oui ») makes no second deposit.
        assert await h.react(ALICE, "✅", recap) == []
        assert len(deposits(h)) == 1


async def test_references_follow_a_per_year_sequence(make_deposit_app):
    async with make_deposit_app() as h:
        for n, when in enumerate(["2027-03-01", "2027-03-02", "2028-01-05"]):
            h.clock.now = h.clock.now.replace(year=int(when[:4]), month=int(when[5:7]), day=int(when[8:]))
            await h.say(ALICE, "!deposer", event_id=f"$r{n}")
            await fill(h, ALICE, [*SELF_DEPOSIT, "oui"])
        assert [d.reference for d in deposits(h)] == ["DEP-2027-0001", "DEP-2027-0002", "DEP-2028-0001"]


async def test_confirmation_by_reaction_from_the_author_only(make_deposit_app):
    async with make_deposit_app() as h:
        await h.say(ALICE, "!deposer")
        recap = h.tagged(await fill(h, ALICE, SELF_DEPOSIT))
        assert await h.react(BOB, "✅", recap) == []
        assert await h.react(ALICE, "😀", recap) == []
        # A ✅ on the recap anywhere but the draft's direct chat does nothing.
        assert await h.react(ALICE, "✅", recap, room=TRIBE_ENERGY) == []
        assert deposits(h) == []
        sent = await h.react(ALICE, "✅", recap)
        assert deposits(h)[0].reference == "DEP-2027-0001"
        assert sent[0].room_id == await h.dm(ALICE) and sent[0].relations.in_reply_to is None


async def test_restart_in_the_middle_resumes_exactly_there(make_deposit_app):
    async with make_deposit_app() as first:
        await first.say(ALICE, "!deposer")
        await fill(first, ALICE, [*SELF_DEPOSIT[:4], "!passer"])
    # A new process over the same data folder: fresh registry, services and database engine.
    async with make_deposit_app() as second:
        sent = await second.say(ALICE, "!retour", room=await second.dm(ALICE))
        assert "Question 4 —" in sent[0].body and "Réponse actuelle : « Pays de Lunel »" in sent[0].body
        await fill(second, ALICE, ["Pays de Lunel", *SELF_DEPOSIT[4:], "oui"])
        [deposit] = deposits(second)
        assert deposit.title == "Cantine bio intercommunale" and deposit.answers["territory"] == "Pays de Lunel"


async def test_two_members_fill_forms_at_once_without_mixing(make_deposit_app):
    async with make_deposit_app() as h:
        await h.say(ALICE, "!deposer")
        await h.say(BOB, "!deposer")
        for a, b in zip(
            SELF_DEPOSIT,
            [
                "Jardin partagé",
                "1",
                "moi",
                "Die",
                "Un jardin partagé au pied des immeubles.",
                "un lieu",
                "en cours",
                "!passer",
                "2",
            ],
            strict=True,
        ):
            await h.say(ALICE, a, room=await h.dm(ALICE))
            await h.say(BOB, b, room=await h.dm(BOB))
        await h.say(BOB, "oui", room=await h.dm(BOB))
        await h.say(ALICE, "oui", room=await h.dm(ALICE))
        bob_deposit, alice_deposit = deposits(h)
        assert (bob_deposit.title, bob_deposit.depositor, bob_deposit.visibility) == (
            "Jardin partagé",
            BOB,
            "facilitators",
        )
        assert (alice_deposit.title, alice_deposit.depositor) == ("Cantine bio intercommunale", ALICE)


async def test_one_open_form_per_member_wherever_it_was_started(make_deposit_app):
    async with make_deposit_app() as h:
        await h.say(ALICE, "!deposer")
        await h.say(ALICE, "Cantine bio", room=await h.dm(ALICE))
        # From another room, !deposer goes back to the form in progress, in the direct chat.
        told, notice, again = await h.say(ALICE, "!deposer", room=PEERS)
        assert told.room_id == PEERS and "message privé" in told.body
        assert notice.room_id == again.room_id == await h.dm(ALICE)
        assert "déjà un dépôt en cours" in notice.body and "Question 2 —" in again.body
        assert len(drafts(h)) == 1 and drafts(h)[0].origin_room_id == TRIBE_ENERGY


async def test_deposit_on_behalf_of_someone_else(make_deposit_app):
    async with make_deposit_app() as h:
        await h.say(ALICE, "!deposer")
        await fill(
            h,
            ALICE,
            [
                "Ressourcerie",
                "1",
                "quelqu'un d'autre",
                "Jeanne Dupont",
                "jeanne@example.org",
                "Valence",
                "Une ressourcerie pour réemployer les objets du territoire.",
                "2",
                "idée",
                "!passer",
                "communauté",
                "oui",
            ],
        )
        [deposit] = deposits(h)
        assert deposit.carrier == "Jeanne Dupont" and deposit.depositor == ALICE
        assert deposit.answers["carrier_contact"] == "jeanne@example.org"


async def test_confidential_deposit_without_consent_is_never_announced_nor_shown(make_deposit_app):
    async with make_deposit_app() as h:
        told, question = await h.say(ALICE, "!deposer", room=PEERS)
        assert "Question" not in told.body  # the peers read nothing of the form
        # Her own words go to her alone: from a peer group, only that consent gets them past the guard.
        assert question.room_id == await h.dm(ALICE) and "Question 1 —" in question.body
        sent = await fill(h, ALICE, SELF_DEPOSIT[:-1])
        assert "espace confidentiel" in sent[0].body
        await h.say(ALICE, "non", room=await h.dm(ALICE))
        sent = await h.say(ALICE, "oui", room=await h.dm(ALICE))
        [deposit] = deposits(h)
        assert deposit.visibility == "facilitators" and deposit.origin_confidential and not deposit.content_shared
        assert deposit.origin_room_id == PEERS
        rooms = [s.room_id for s in sent]
        assert TRIBE_FOOD not in rooms and TRIBE_ENERGY not in rooms and PEERS not in rooms
        # Without her consent, the notice gets past the guard as carrying nothing said in the direct chat.
        [notice] = [s for s in sent if s.room_id == FACILITATORS]
        assert "DEP-2027-0001" in notice.body
        for secret in ("Cantine", "Lunel", "produits locaux", "alice@example.org", ALICE):
            assert secret not in notice.body
        # The facilitators' view of it stays empty too.
        shown = await h.say(FACILITATOR, "!depot DEP-2027-0001", room=FACILITATORS)
        assert "Cantine" not in shown[0].body and ALICE not in shown[0].body


async def test_confidential_deposit_with_consent_reaches_the_facilitators_only(make_deposit_app):
    async with make_deposit_app() as h:
        await h.say(ALICE, "!deposer", room=PEERS)
        sent = await fill(h, ALICE, [*SELF_DEPOSIT[:-1], "oui", "oui"])
        # The thanks answers the « oui » in the direct chat; the notice goes to the facilitators, past the
        # guard by her consent.
        assert {s.room_id for s in sent} == {await h.dm(ALICE), FACILITATORS}
        [notice] = [s for s in sent if s.room_id == FACILITATORS]
        assert "Cantine bio intercommunale" in notice.body
        assert deposits(h)[0].visibility == "facilitators"


async def test_a_form_started_in_a_direct_chat_stays_there(make_deposit_app):
    async with make_deposit_app() as h:
        [question] = await h.say(ALICE, "!deposer", room=await h.dm(ALICE))
        # Answers !deposer where it was typed.
        assert question.room_id == await h.dm(ALICE) and question.relations.in_reply_to == h.app.last_event_id
        assert "Question 1 —" in question.body
        sent = await h.say(ALICE, "Cantine bio", room=await h.dm(ALICE))
        assert "Question 2 —" in sent[0].body
        assert drafts(h)[0].origin_confidential  # a direct chat is a confidential place to start from
        # Other commands are not swallowed by the form: another module's, or one unknown to the bot.
        [other] = await h.say(ALICE, "!agenda", room=await h.dm(ALICE))
        assert "rendez-vous" in other.body and "Question" not in other.body
        [unknown] = await h.say(ALICE, "!zorglub", room=await h.dm(ALICE))
        assert "Je ne connais pas la commande" in unknown.body


async def test_mes_depots_answers_in_the_direct_chat_with_every_title(make_deposit_app):
    async with make_deposit_app() as h:
        await h.say(ALICE, "!deposer", room=PEERS)
        await fill(h, ALICE, [*SELF_DEPOSIT[:-1], "oui", "oui"])
        told, listing = await h.say(ALICE, "!mes-depots", room=TRIBE_ENERGY)
        # The tribe room learns nothing: neither the title nor that a deposit was made in a peer group.
        assert told.room_id == TRIBE_ENERGY and "DEP-2027" not in told.body and "Cantine" not in told.body
        assert "confidentiel" not in told.body
        assert listing.room_id == await h.dm(ALICE)
        assert "DEP-2027-0001" in listing.body and "Cantine bio intercommunale" in listing.body
        # Asked from the peer group, the listing gets past the guard as shown to its author alone.
        _, listing = await h.say(ALICE, "!mes-depots", room=PEERS)
        assert listing.room_id == await h.dm(ALICE) and "Cantine bio intercommunale" in listing.body
        [direct] = await h.say(ALICE, "!mes-depots", room=await h.dm(ALICE))
        assert direct.room_id == await h.dm(ALICE) and direct.relations.in_reply_to == h.app.last_event_id
        assert "Cantine bio intercommunale" in direct.body


async def test_a_draft_left_in_a_room_thread_by_the_previous_release_moves_to_the_direct_chat(make_deposit_app):
    async with make_deposit_app() as h:
        thread_draft_of_the_previous_release(h)
        # Bob writing in Alice's old thread changes nothing of hers.
        assert await h.say(BOB, "2", thread_root="$old") == []
        told, question = await h.say(ALICE, "2", thread_root="$old")
        assert told.room_id == TRIBE_ENERGY and "message privé" in told.body and "Cantine" not in told.body
        assert question.room_id == await h.dm(ALICE) and "Question 3 —" in question.body  # « 2 » was the tribe
        [draft] = drafts(h)
        assert (draft.room_id, draft.thread_root, draft.origin_room_id) == (await h.dm(ALICE), None, TRIBE_ENERGY)
        sent = await fill(h, ALICE, [*SELF_DEPOSIT[2:], "oui"])
        [deposit] = deposits(h)
        assert deposit.title == "Cantine bio intercommunale" and deposit.tribe == "Alimentation"
        assert deposit.origin_room_id == TRIBE_ENERGY
        assert any(s.room_id == TRIBE_FOOD for s in sent)


async def test_another_members_deposer_and_annuler_never_touch_an_open_form(make_deposit_app):
    async with make_deposit_app() as h:
        thread_draft_of_the_previous_release(h)  # Alice's form of the previous release, open in a room's thread
        # Bob's !deposer typed in Alice's thread starts Bob's own form, in Bob's direct chat.
        told, question = await h.say(BOB, "!deposer", thread_root="$old")
        assert "message privé" in told.body and question.room_id == await h.dm(BOB) and "Question 1 —" in question.body
        await h.say(BOB, "Jardin partagé", room=await h.dm(BOB))
        # His !annuler in the same thread cancels his form, not hers, and is understood there.
        told, cancelled = await h.say(BOB, "!annuler", thread_root="$old")
        assert "message privé" in told.body and cancelled.room_id == await h.dm(BOB)
        assert "Dépôt annulé" in cancelled.body and "!reprendre" in cancelled.body
        alice, bob = drafts(h)
        assert (alice.user_id, alice.status, alice.thread_root) == (ALICE, "filling", "$old")
        assert (bob.user_id, bob.status) == (BOB, "cancelled")
        assert bob.state and "Jardin partagé" in bob.state
        # With nothing left to cancel, !annuler says so instead of « Je ne connais pas la commande ».
        [nothing] = await h.say(BOB, "!annuler")
        assert "pas de dépôt en cours" in nothing.body and "Je ne connais pas" not in nothing.body


async def test_annuler_typed_in_a_room_cancels_the_form_of_the_direct_chat(make_deposit_app):
    async with make_deposit_app() as h:
        await h.say(ALICE, "!deposer")
        await h.say(ALICE, "Cantine bio", room=await h.dm(ALICE))
        told, cancelled = await h.say(ALICE, "!annuler", room=PEERS)
        assert told.room_id == PEERS and "Cantine" not in told.body  # the peers learn nothing of the form
        assert cancelled.room_id == await h.dm(ALICE) and "Dépôt annulé" in cancelled.body
        assert drafts(h)[0].status == "cancelled"


async def test_a_cancelled_draft_is_resumed_with_reprendre_where_it_was_left(make_deposit_app):
    async with make_deposit_app() as h:
        await h.say(ALICE, "!deposer")
        await fill(h, ALICE, SELF_DEPOSIT[:3])
        [cancelled] = await h.say(ALICE, "!annuler", room=await h.dm(ALICE))
        assert "!reprendre" in cancelled.body
        # A new !deposer starts afresh, and says the cancelled one is still within reach.
        [reminder, first] = await h.say(ALICE, "!deposer", room=await h.dm(ALICE))
        assert "!reprendre" in reminder.body and "Question 1 —" in first.body
        await h.say(ALICE, "Autre projet", room=await h.dm(ALICE))
        await h.say(ALICE, "!annuler", room=await h.dm(ALICE))
        # !reprendre takes up the latest cancelled draft, answers kept, at its next question.
        told, welcome, again = await h.say(ALICE, "!reprendre")
        assert "message privé" in told.body and "Bon retour" in welcome.body
        assert "Question 2 — Tribu" in again.body and again.room_id == await h.dm(ALICE)
        assert [d.status for d in drafts(h)] == ["cancelled", "filling"]
        # While a form is open, !reprendre asks its question again rather than opening another.
        notice, again = await h.say(ALICE, "!reprendre", room=await h.dm(ALICE))
        assert "déjà un dépôt en cours" in notice.body and "Question 2 —" in again.body


async def test_reprendre_with_nothing_to_resume_says_how_to_start(make_deposit_app):
    async with make_deposit_app() as h:
        [answer] = await h.say(ALICE, "!reprendre")
        assert "pas de dépôt annulé ou interrompu" in answer.body and "!deposer" in answer.body


async def test_the_announcement_says_the_detail_given_for_another_need(make_deposit_app):
    async with make_deposit_app() as h:
        answers = [*SELF_DEPOSIT[:5], "partenaires et autre chose", "Un camion frigorifique", *SELF_DEPOSIT[6:]]
        await h.say(ALICE, "!deposer")
        sent = await fill(h, ALICE, [*answers, "oui"])
        [announce] = [s for s in sent if s.room_id == TRIBE_FOOD]
        assert "Besoins : Des partenaires, Un camion frigorifique" in announce.body
        assert "Autre chose" not in announce.body


async def test_modifier_says_it_edits_an_answer_not_that_it_is_the_last_question(make_deposit_app):
    async with make_deposit_app() as h:
        await h.say(ALICE, "!deposer")
        await fill(h, ALICE, SELF_DEPOSIT)
        [question] = await h.say(ALICE, "!modifier territoire", room=await h.dm(ALICE))
        assert "Question 4 — Territoire (modification de votre réponse)" in question.body
        assert "dernière question" not in question.body and "Réponse actuelle : « Pays de Lunel »" in question.body
        # Answered, the recap comes back at once: nothing else was asked.
        [recap] = await h.say(ALICE, "Pays de Lunel et Camargue", room=await h.dm(ALICE))
        assert "Pays de Lunel et Camargue" in recap.body and h.tag(recap).startswith("deposit-recap:")


async def test_a_question_typed_on_a_text_field_is_not_saved_until_the_member_says(make_deposit_app):
    async with make_deposit_app() as h:
        await h.say(ALICE, "!deposer")
        dm = await h.dm(ALICE)
        await fill(h, ALICE, SELF_DEPOSIT[:3])
        [asked] = await h.say(ALICE, "c'est quoi une balise ?", room=dm)
        assert asked.body.startswith("Est-ce votre réponse, ou une question pour moi ?")
        assert "territory" not in FormState.from_json(drafts(h)[0].state).answers
        # « non »: nothing saved, the question comes again.
        [again] = await h.say(ALICE, "non", room=dm)
        assert "Question 4 — Territoire" in again.body and "!q" in again.body
        assert "territory" not in FormState.from_json(drafts(h)[0].state).answers
        # A question-like text, then « oui »: it was the answer after all, and it is saved.
        await h.say(ALICE, "Comment dire, Pays de Lunel", room=dm)
        [following] = await h.say(ALICE, "oui", room=dm)
        assert "Question 5 — Description" in following.body
        assert FormState.from_json(drafts(h)[0].state).answers["territory"] == "Comment dire, Pays de Lunel"


async def test_after_the_doubt_a_plain_answer_is_taken_and_choices_are_never_doubted(make_deposit_app):
    async with make_deposit_app() as h:
        await h.say(ALICE, "!deposer")
        dm = await h.dm(ALICE)
        [asked] = await h.say(ALICE, "Pourquoi pas une cantine ?", room=dm)
        assert asked.body.startswith("Est-ce votre réponse")
        # Anything but yes or no is the answer itself.
        [tribe] = await h.say(ALICE, "Cantine bio intercommunale", room=dm)
        assert "Question 2 — Tribu" in tribe.body
        assert FormState.from_json(drafts(h)[0].state).answers["title"] == "Cantine bio intercommunale"
