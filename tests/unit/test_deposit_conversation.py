"""The deposit form in the chat: threads, restarts, two members at once, confidential rooms, reminders."""
import json

from sqlmodel import select

from handlers.deposits import check_idle_drafts
from storage.deposits import Deposit, DepositDraft
from tests.unit.deposit_helpers import (DIRECT, FACILITATOR, FACILITATORS, PEERS, SELF_DEPOSIT, TRIBE_ENERGY, Clock, Harness,
                                        last_tag)

ALICE, BOB = "@alice:test", "@bob:test"


async def fill(h, user, answers, room=TRIBE_ENERGY, root="$root"):
    sent = []
    for text in answers:
        sent = await h.say(user, text, room=room, thread_root=root)
    return sent


def deposits(h):
    with h.db.session() as s:
        return list(s.exec(select(Deposit).order_by(Deposit.id)))


def drafts(h):
    with h.db.session() as s:
        return list(s.exec(select(DepositDraft).order_by(DepositDraft.id)))


async def test_deposer_opens_a_thread_and_only_the_starter_counts(tmp_path):
    h = Harness.build(tmp_path)
    sent = await h.say(ALICE, "!déposer", event_id="$root")
    assert sent[0].start_thread and "Question 1/" in sent[0].text
    assert drafts(h)[0].thread_root == "$root"
    # Someone else chatting in the thread is not taken as an answer.
    assert await h.say(BOB, "Super idée !", thread_root="$root") == []
    # Nor is the starter's message outside the thread.
    assert await h.say(ALICE, "Cantine bio") == []
    sent = await h.say(ALICE, "Cantine bio", thread_root="$root")
    assert sent[0].thread_root == "$root" and "Question 2/" in sent[0].text


async def test_a_complete_deposit_is_numbered_announced_and_notified(tmp_path):
    h = Harness.build(tmp_path)
    await h.say(ALICE, "!deposer", event_id="$root")
    sent = await fill(h, ALICE, SELF_DEPOSIT)
    assert last_tag(sent) == f"deposit-recap:{drafts(h)[0].id}"
    sent = await h.say(ALICE, "oui", thread_root="$root")
    [deposit] = deposits(h)
    assert deposit.reference == "DEP-2027-0001" and deposit.title == "Cantine bio intercommunale"
    assert deposit.tribe == "Alimentation" and deposit.carrier == ALICE and deposit.depositor == ALICE
    assert deposit.visibility == "community" and deposit.status == "nouveau"
    assert deposit.answers["needs"] == ["partners", "funding"] and deposit.answers["carrier_name"] is None
    by_room = {s.room_id: s for s in sent}
    assert "DEP-2027-0001" in by_room[None].text and by_room[None].thread_root == "$root"
    notice = by_room[FACILITATORS.room_id]
    assert "DEP-2027-0001" in notice.text and "Cantine bio intercommunale" in notice.text
    assert not notice.author_consented
    announce = by_room["!alimentation:test"]
    assert "Cantine bio intercommunale" in announce.text and "Pays de Lunel" in announce.text
    # A second confirmation (✅ after « oui ») makes no second deposit.
    assert await h.react(ALICE, "✅", f"deposit-recap:{deposit.draft_id}") == []
    assert len(deposits(h)) == 1


async def test_references_follow_a_per_year_sequence(tmp_path):
    h = Harness.build(tmp_path)
    for n, when in enumerate(["2027-03-01", "2027-03-02", "2028-01-05"]):
        h.clock.now = h.clock.now.replace(year=int(when[:4]), month=int(when[5:7]), day=int(when[8:]))
        await h.say(ALICE, "!deposer", event_id=f"$r{n}")
        await fill(h, ALICE, SELF_DEPOSIT + ["oui"], root=f"$r{n}")
    assert [d.reference for d in deposits(h)] == ["DEP-2027-0001", "DEP-2027-0002", "DEP-2028-0001"]


async def test_confirmation_by_reaction_from_the_author_only(tmp_path):
    h = Harness.build(tmp_path)
    await h.say(ALICE, "!deposer", event_id="$root")
    tag = last_tag(await fill(h, ALICE, SELF_DEPOSIT))
    assert await h.react(BOB, "✅", tag) == []
    assert await h.react(ALICE, "😀", tag) == []
    assert deposits(h) == []
    sent = await h.react(ALICE, "✅", tag)
    assert deposits(h)[0].reference == "DEP-2027-0001"
    assert sent[0].thread_root == "$root" and not sent[0].in_reply


async def test_restart_in_the_middle_resumes_exactly_there(tmp_path):
    clock = Clock()
    first = Harness.build(tmp_path, clock)
    await first.say(ALICE, "!deposer", event_id="$root")
    await fill(first, ALICE, SELF_DEPOSIT[:4] + ["!passer"])
    first.db.close()
    # A new process: fresh registry, services and database engine over the same file.
    second = Harness.build(tmp_path, clock)
    sent = await second.say(ALICE, "!retour", thread_root="$root")
    assert "Question 4/" in sent[0].text and "Réponse actuelle : « Pays de Lunel »" in sent[0].text
    await fill(second, ALICE, ["Pays de Lunel"] + SELF_DEPOSIT[4:] + ["oui"])
    [deposit] = deposits(second)
    assert deposit.title == "Cantine bio intercommunale" and deposit.answers["territory"] == "Pays de Lunel"


async def test_two_members_fill_forms_in_one_room_without_mixing(tmp_path):
    h = Harness.build(tmp_path)
    await h.say(ALICE, "!deposer", event_id="$a")
    await h.say(BOB, "!deposer", event_id="$b")
    for a, b in zip(SELF_DEPOSIT, ["Jardin partagé", "1", "moi", "Die", "Un jardin partagé au pied des immeubles.",
                                   "un lieu", "en cours", "!passer", "2"]):
        await h.say(ALICE, a, thread_root="$a")
        await h.say(BOB, b, thread_root="$b")
    # Bob typing in Alice's thread changes nothing of hers.
    await h.say(BOB, "oui", thread_root="$a")
    assert deposits(h) == []
    await h.say(BOB, "oui", thread_root="$b")
    await h.say(ALICE, "oui", thread_root="$a")
    bob_deposit, alice_deposit = deposits(h)
    assert (bob_deposit.title, bob_deposit.depositor, bob_deposit.visibility) == ("Jardin partagé", BOB, "facilitators")
    assert (alice_deposit.title, alice_deposit.depositor) == ("Cantine bio intercommunale", ALICE)


async def test_one_open_form_per_member_and_room(tmp_path):
    h = Harness.build(tmp_path)
    await h.say(ALICE, "!deposer", event_id="$root")
    await h.say(ALICE, "Cantine bio", thread_root="$root")
    sent = await h.say(ALICE, "!deposer", event_id="$again")
    assert "déjà un dépôt en cours" in sent[0].text
    assert sent[1].thread_root == "$root" and "Question 2/" in sent[1].text
    assert len(drafts(h)) == 1


async def test_deposit_on_behalf_of_someone_else(tmp_path):
    h = Harness.build(tmp_path)
    await h.say(ALICE, "!deposer", event_id="$root")
    await fill(h, ALICE, ["Ressourcerie", "1", "quelqu'un d'autre", "Jeanne Dupont", "jeanne@example.org",
                          "Valence", "Une ressourcerie pour réemployer les objets du territoire.", "2",
                          "idée", "!passer", "communauté", "oui"])
    [deposit] = deposits(h)
    assert deposit.carrier == "Jeanne Dupont" and deposit.depositor == ALICE
    assert deposit.answers["carrier_contact"] == "jeanne@example.org"


async def test_confidential_deposit_without_consent_is_never_announced_nor_shown(tmp_path):
    h = Harness.build(tmp_path)
    await h.say(ALICE, "!deposer", room=PEERS, event_id="$root")
    sent = await fill(h, ALICE, SELF_DEPOSIT[:-1], room=PEERS)
    assert "espace confidentiel" in sent[0].text and "lise son contenu" in sent[0].text
    await h.say(ALICE, "non", room=PEERS, thread_root="$root")
    sent = await h.say(ALICE, "oui", room=PEERS, thread_root="$root")
    [deposit] = deposits(h)
    assert deposit.visibility == "facilitators" and deposit.origin_confidential and not deposit.content_shared
    rooms = [s.room_id for s in sent]
    assert "!alimentation:test" not in rooms and "!energie:test" not in rooms
    [notice] = [s for s in sent if s.room_id == FACILITATORS.room_id]
    assert "DEP-2027-0001" in notice.text and not notice.author_consented
    for secret in ("Cantine", "Lunel", "produits locaux", "alice@example.org", ALICE):
        assert secret not in notice.text
    # The facilitators' view of it stays empty too.
    shown = await h.say("@fanny:test", "!depot DEP-2027-0001", room=FACILITATORS)
    assert "Cantine" not in shown[0].text and "pas souhaité partager" in shown[0].text


async def test_the_author_may_share_a_withheld_deposit_later_and_only_the_author(tmp_path):
    h = Harness.build(tmp_path)
    await h.say(ALICE, "!deposer", room=PEERS, event_id="$root")
    sent = await fill(h, ALICE, SELF_DEPOSIT[:-1] + ["non", "oui"], room=PEERS)
    assert not deposits(h)[0].content_shared
    assert "!partager DEP-2027-0001" in sent[0].text  # the way back is offered at once

    # Someone else cannot, and learns nothing about the deposit.
    [refused] = await h.say("@bob:test", "!partager DEP-2027-0001", room=PEERS)
    assert "Vous n'avez pas de dépôt" in refused.text and "Cantine" not in refused.text
    assert not deposits(h)[0].content_shared
    [bad] = await h.say(ALICE, "!partager", room=PEERS)
    assert "référence" in bad.text

    sent = await h.say(ALICE, "!partager dep-2027-0001", room=PEERS)
    assert deposits(h)[0].content_shared
    confirmation, notice = sent
    assert confirmation.room_id is None and "transmis à l'équipe d'animation" in confirmation.text
    assert "Cantine" not in confirmation.text
    assert notice.room_id == FACILITATORS.room_id and notice.author_consented
    assert "son auteur en partage maintenant le contenu" in notice.text and "Cantine bio intercommunale" in notice.text
    assert "Partage avec l'équipe : oui" in notice.text and deposits(h)[0].answers["share_content"] is True
    shown = await h.say(FACILITATOR, "!depot DEP-2027-0001", room=FACILITATORS)
    assert "Cantine bio intercommunale" in shown[0].text

    [again] = await h.say(ALICE, "!partager DEP-2027-0001", room=PEERS)
    assert "déjà" in again.text


async def test_confidential_deposit_with_consent_reaches_the_facilitators_only(tmp_path):
    h = Harness.build(tmp_path)
    await h.say(ALICE, "!deposer", room=PEERS, event_id="$root")
    sent = await fill(h, ALICE, SELF_DEPOSIT[:-1] + ["oui", "oui"], room=PEERS)
    assert {s.room_id for s in sent} == {None, FACILITATORS.room_id}
    [notice] = [s for s in sent if s.room_id == FACILITATORS.room_id]
    assert notice.author_consented and "Cantine bio intercommunale" in notice.text
    assert deposits(h)[0].visibility == "facilitators"


async def test_direct_chat_runs_without_thread(tmp_path):
    h = Harness.build(tmp_path)
    sent = await h.say(ALICE, "!deposer", room=DIRECT)
    assert not sent[0].start_thread and sent[0].thread_root is None
    sent = await h.say(ALICE, "Cantine bio", room=DIRECT)
    assert "Question 2/" in sent[0].text and sent[0].thread_root is None
    # Other commands still reach their owners.
    # Other commands are not swallowed by the form (here: unknown to this registry).
    [other] = await h.say(ALICE, "!agenda", room=DIRECT)
    assert "Je ne connais pas la commande" in other.text


async def test_idle_form_gets_one_reminder_then_is_abandoned_and_kept(tmp_path):
    h = Harness.build(tmp_path)
    await h.say(ALICE, "!deposer", event_id="$root")
    await h.say(ALICE, "Cantine bio", thread_root="$root")
    h.clock.advance(hours=23)
    assert await check_idle_drafts(h.services) == []
    h.clock.advance(hours=2)
    [reminder] = [h.render(r) for r in await check_idle_drafts(h.services)]
    assert reminder.room_id == TRIBE_ENERGY.room_id and reminder.thread_root == "$root"
    assert reminder.mentions == (ALICE,) and "Cantine bio" in reminder.text and "tribu" in reminder.text
    h.clock.advance(hours=30)
    assert await check_idle_drafts(h.services) == []  # one reminder only
    h.clock.advance(days=6)
    [closing] = [h.render(r) for r in await check_idle_drafts(h.services)]
    assert "7 jours" in closing.text and "conservées" in closing.text
    [draft] = drafts(h)
    assert draft.status == "abandoned" and json.loads(draft.state)["answers"]["title"] == "Cantine bio"
    mine = await h.say(ALICE, "!mes-depots")
    assert "Cantine bio" in mine[0].text and "interrompu" in mine[0].text
    # Writing in the thread again brings the form back where it was.
    sent = await h.say(ALICE, "me revoilà", thread_root="$root")
    assert "Bon retour" in sent[0].text and "Question 2/" in sent[1].text
    assert drafts(h)[0].status == "filling"


async def test_activity_resets_the_reminder(tmp_path):
    h = Harness.build(tmp_path)
    await h.say(ALICE, "!deposer", event_id="$root")
    h.clock.advance(hours=25)
    assert len(await check_idle_drafts(h.services)) == 1
    await h.say(ALICE, "Cantine bio", thread_root="$root")
    h.clock.advance(hours=25)
    assert len(await check_idle_drafts(h.services)) == 1


async def test_mes_depots_hides_confidential_content_in_other_rooms(tmp_path):
    h = Harness.build(tmp_path)
    await h.say(ALICE, "!deposer", room=PEERS, event_id="$root")
    await fill(h, ALICE, SELF_DEPOSIT[:-1] + ["oui", "oui"], room=PEERS)
    elsewhere = await h.say(ALICE, "!mes-depots", room=TRIBE_ENERGY)
    assert "DEP-2027-0001" in elsewhere[0].text and "Cantine" not in elsewhere[0].text
    there = await h.say(ALICE, "!mes-depots", room=PEERS)
    assert "Cantine bio intercommunale" in there[0].text


async def test_an_abandoned_form_in_a_direct_chat_does_not_swallow_later_messages(tmp_path):
    h = Harness.build(tmp_path)
    await h.say(ALICE, "!deposer", room=DIRECT)
    h.clock.advance(days=8)
    assert len(await check_idle_drafts(h.services)) == 1
    assert await h.say(ALICE, "Quand a lieu la prochaine rencontre ?", room=DIRECT) == []
    sent = await h.say(ALICE, "!deposer", room=DIRECT)
    assert "Question 1/" in sent[0].text and len(drafts(h)) == 2
