"""Facilitators' follow-up (!depots, !depot), the CSV export, and what every view shows of a withheld deposit."""

import csv
import io
import json

import pytest

from bot.devtools.fake_homeserver import Refusal
from handlers.deposits.facilitation import change_status
from handlers.deposits.formsource import form_for
from handlers.deposits.records import facilitators_notice
from handlers.replies import UserError
from storage.deposits import Deposit, format_reference
from tests.unit.handlers.deposits.deposit_app import (
    ALICE,
    BOB,
    FACILITATOR,
    FACILITATORS,
    PEERS,
    PEERS_NAME,
    TRIBE_ENERGY,
    DepositApp,
    form_keys,
    run_cli,
)


async def test_list_and_filter(h):
    [listing] = await h.say(FACILITATOR, "!depots", room=FACILITATORS)
    assert "DEP-2027-0001" in listing.body and "DEP-2027-0002" in listing.body
    assert listing.body.count("Cantine bio intercommunale") == 1  # the confidential one stays unnamed
    [listing] = await h.say(FACILITATOR, "!depots en étude", room=FACILITATORS)
    assert "Aucun dépôt" in listing.body
    [listing] = await h.say(FACILITATOR, "!depots nouveau alimentation", room=FACILITATORS)
    assert "DEP-2027-0001" in listing.body and "DEP-2027-0002" not in listing.body


async def test_show_and_change_status_tells_the_depositor(h):
    [shown] = await h.say(FACILITATOR, "!depot dep-2027-0001", room=FACILITATORS)
    assert "Pays de Lunel" in shown.body and "1er mars 2027" in shown.body
    # Told in the depositor's direct chat, where only they read the title and the comment: posted by
    # the handler before the status was recorded, so before its acknowledgement.
    told, ack = await h.say(
        FACILITATOR, "!depot DEP-2027-0001 statut en étude Rendez-vous pris le 12 mars", room=FACILITATORS
    )
    assert ack.room_id == FACILITATORS
    assert "en étude" in ack.body and "Son auteur en est informé en message privé" in ack.body
    assert (told.room_id, told.relations.in_reply_to, told.mentions) == (await h.dm(ALICE), None, [ALICE])
    assert "Rendez-vous pris le 12 mars" in told.body
    [shown] = await h.say(FACILITATOR, "!depot DEP-2027-0001", room=FACILITATORS)
    assert "en étude" in shown.body and "Rendez-vous pris" in shown.body
    mine = await h.say(ALICE, "!mes-depots", room=await h.dm(ALICE))
    assert "en étude" in mine[0].body


async def test_a_status_change_the_homeserver_refuses_is_not_recorded(h):
    # The message to the depositor is refused; the answer to the facilitator goes.
    h.app.homeserver.refuse("send", Refusal(times=1))
    [answer] = await h.say(FACILITATOR, "!depot DEP-2027-0001 statut clos Fini", room=FACILITATORS)
    assert answer.room_id == FACILITATORS
    assert "Le statut du dépôt DEP-2027-0001 n'a pas changé" in answer.body and "Réessayez" in answer.body
    assert "Son auteur en est informé" not in answer.body
    [shown] = await h.say(FACILITATOR, "!depot DEP-2027-0001", room=FACILITATORS)
    assert "clos" not in shown.body and "Fini" not in shown.body


async def test_a_comment_longer_than_a_message_is_refused_before_anything(h):
    before = len(h.app.sent)
    with pytest.raises(UserError, match="Le commentaire est trop long : 100\u202f000 caractères"):
        await change_status(h.app.services, FACILITATOR, "DEP-2027-0001", "clos", "x" * 100_000)
    assert await h.app.settle() == [] and len(h.app.sent) == before
    [shown] = await h.say(FACILITATOR, "!depot DEP-2027-0001", room=FACILITATORS)
    assert "clos" not in shown.body


async def test_a_depositor_yet_to_join_their_direct_chat_reads_it_when_they_join(h):
    # Alice left her direct chat: the bot invites her to a new one, which she has yet to join.
    h.app.homeserver.not_joining.add(ALICE)
    h.app.homeserver.leave(ALICE, await h.dm(ALICE))
    await h.app.settle()
    [ack] = await h.say(FACILITATOR, "!depot DEP-2027-0001 statut clos", room=FACILITATORS)
    assert "dès que cette personne aura accepté l'invitation" in ack.body and "en est informé" not in ack.body
    [shown] = await h.say(FACILITATOR, "!depot DEP-2027-0001", room=FACILITATORS)
    assert "clos" in shown.body
    [invited] = [room for room in h.app.homeserver.rooms.values() if room.members.get(ALICE) == "invite"]
    h.app.homeserver.join(ALICE, invited.room_id)
    [told] = await h.app.settle()
    assert told.room_id == invited.room_id and "clos" in told.body


async def test_mistakes_are_explained_in_french(h):
    for command, words in [
        ("!depot DEP-2027-0099", "Aucun dépôt"),
        ("!depot DEP-2027-0001 statut fini", "statut connu"),
        ("!depots violet", "ni le statut ni la tribu"),
        ("!depot", "référence"),
    ]:
        [answer] = await h.say(FACILITATOR, command, room=FACILITATORS)
        assert words in answer.body


async def test_csv_export_in_the_facilitators_room(h):
    caption, sent = await h.say(FACILITATOR, "!depots export", room=FACILITATORS)
    assert caption.room_id == sent.room_id == FACILITATORS and caption.body
    content = h.attachment(sent)
    assert sent.content["info"]["mimetype"] == "text/csv" and sent.content["filename"].endswith(".csv")
    # For French spreadsheets: a byte-order mark, and « ; » between columns.
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert [r["Référence"] for r in rows] == ["DEP-2027-0001", "DEP-2027-0002"]
    # One column per thing, headed in French: no title, tribe, carrier or visibility twice.
    header = next(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert len(header) == len(set(header))
    assert header[:6] == ["Référence", "Statut", "Déposé le", "Déposé par", "Titre", "Tribu"]
    assert "Porteur du projet" in header and "Visibilité" in header and "Partage avec l'équipe" not in header
    assert not {"title", "tribe", "carrier", "visibility", "share_content"} & set(header)
    assert rows[0]["Titre"] == "Cantine bio intercommunale" and rows[0]["Besoins"] == "Des partenaires; Un financement"
    assert rows[0]["Porteur du projet"] == "Moi-même" and rows[0]["Statut"] == "nouveau"
    # No content of the confidential deposit whose author said no.
    assert rows[1]["Titre"] == "" and rows[1]["Territoire"] == "" and rows[1]["Déposé par"] == ""
    assert rows[1]["Contenu transmis à l'équipe d'animation"] == "non"
    assert rows[1]["Visibilité"] == "équipe d'animation seulement"


# Bob's deposit, made from a peer group for someone else, and « non » to sharing it.
WITHHELD = {
    "title": "Maison de santé des Lilas",
    "tribe": "Alimentation",
    "carrier": "other",
    "carrier_name": "Camille Martin",
    "carrier_contact": "camille@example.net",
    "territory": "Vallée de la Drôme",
    "description": "Une maison de santé pluriprofessionnelle pour les communes de la vallée.",
    "needs": ["place"],
    "stage": "idea",
    "contact": "bob@example.org",
    "share_content": False,
}
ORDINARY = {
    "title": "Cantine bio intercommunale",
    "tribe": "Énergie",
    "carrier": "me",
    "territory": "Pays de Lunel",
    "description": "Une cantine qui sert des produits locaux et bio aux écoles du territoire.",
    "needs": ["partners"],
    "stage": "preparation",
    "visibility": "community",
}
# Who made it, for whom, from where, and what it says.
WITHHELD_SECRETS = (
    BOB,
    "Maison de santé",
    "Camille Martin",
    "camille@example.net",
    "Vallée de la Drôme",
    "pluriprofessionnelle",
    "bob@example.org",
    PEERS,
    PEERS_NAME,
)
# The views that show a shared deposit in full, not as one line of a list.
DETAILED_VIEWS = (
    "notice",
    "!depot DEP-2027-0002",
    "!depots export",
    "deposits list --json",
    "deposits export --format csv",
    "deposits export --format json",
)


def store_deposit(
    h: DepositApp, sequence: int, depositor: str, origin: str, answers: dict, history: tuple = ()
) -> Deposit:
    """A deposit as the form records it, written directly: these tests are about what is shown of it."""
    now = h.clock()
    steps = [{"status": "nouveau", "at": now.isoformat(), "by": depositor, "comment": ""}, *history]
    stored = Deposit(
        reference=format_reference(now.year, sequence),
        year=now.year,
        sequence=sequence,
        title=answers["title"],
        tribe=answers["tribe"],
        carrier=answers.get("carrier_name") or depositor,
        depositor=depositor,
        status=steps[-1]["status"],
        visibility=answers.get("visibility", "facilitators"),
        origin_room_id=origin,
        origin_confidential=origin == PEERS,  # the one confidential room of these tests
        content_shared=answers.get("share_content", True),
        created_at=now,
        answers={key: answers.get(key) for key in form_keys()},
        history=steps,
    )
    with h.db.session() as session:
        session.add(stored)
    return stored


@pytest.fixture
async def withheld(make_deposit_app):
    """Alice's ordinary deposit (DEP-2027-0001) and Bob's withheld one (DEP-2027-0002), which a
    facilitator has followed up once; and the facilitators' notice of Bob's deposit, as it was sent."""
    async with make_deposit_app() as h:
        store_deposit(h, 1, ALICE, TRIBE_ENERGY, ORDINARY)
        follow_up = {
            "status": "en-etude",
            "at": h.clock().isoformat(),
            "by": FACILITATOR,
            "comment": "Premier échange prévu",
        }
        bob_deposit = store_deposit(h, 2, BOB, PEERS, WITHHELD, (follow_up,))
        services = h.app.services
        with h.db.session() as session:
            notice = facilitators_notice(session, services, form_for(session, services), bob_deposit)
        assert notice is not None
        before = len(h.app.sent)
        assert await services.post(notice)
        [sent] = h.app.sent[before:]
        assert sent.room_id == FACILITATORS
        yield h, sent.body


async def facilitators_views(h: DepositApp, capsys) -> dict[str, str]:
    """Everything the facilitators can read of the deposits, in the chat and from the command line."""
    views = {}
    for command in ("!depot DEP-2027-0002", "!depots", "!depots en étude"):
        [reply] = await h.say(FACILITATOR, command, room=FACILITATORS)
        views[command] = reply.body
    _caption, export = await h.say(FACILITATOR, "!depots export", room=FACILITATORS)
    views["!depots export"] = h.attachment(export).decode("utf-8-sig")
    # The command line opens the running bot's database, by its configuration.
    config = str(h.app.config.path)
    for argv in (
        ["deposits", "list"],
        ["deposits", "list", "--json"],
        ["deposits", "export", "--format", "csv"],
        ["deposits", "export", "--format", "json"],
    ):
        assert run_cli([*argv, "--config", config]) == 0
        views[" ".join(argv)] = capsys.readouterr().out
    return views


async def test_a_withheld_deposit_shows_its_reference_date_and_status_only(withheld, capsys):
    h, notice = withheld
    views = {"notice": notice, **await facilitators_views(h, capsys)}
    for name, text in views.items():
        assert "DEP-2027-0002" in text, name
        for secret in WITHHELD_SECRETS:
            assert secret not in text, (name, secret)
    for name, text in views.items():
        if name != "notice":  # the notice is dated by its message
            assert "1er mars 2027" in text or "2027-03-01" in text, name
            assert "en étude" in text or "en-etude" in text, name
    # The facilitator's own follow-up still shows, with its author.
    assert FACILITATOR in views["!depot DEP-2027-0002"] and "Premier échange prévu" in views["!depot DEP-2027-0002"]

    [row] = [r for r in json.loads(views["deposits export --format json"]) if r["reference"] == "DEP-2027-0002"]
    assert (row["depositor"], row["carrier"], row["tribe"], row["title"]) == (None, None, None, None)
    assert [entry["by"] for entry in row["history"]] == [None, FACILITATOR]
    [listed] = await h.say(FACILITATOR, "!depots alimentation", room=FACILITATORS)
    assert "DEP-2027-0002" not in listed.body  # its tribe is part of what Bob kept to himself


async def test_after_partager_every_view_shows_the_withheld_deposit(withheld, capsys):
    h, _ = withheld
    sent = await h.say(BOB, "!partager DEP-2027-0002 confirmer", room=PEERS)
    [notice] = [s for s in sent if s.room_id == FACILITATORS]
    views = {"notice": notice.body, **await facilitators_views(h, capsys)}
    for name, text in views.items():
        assert "Maison de santé des Lilas" in text, name
    for name in DETAILED_VIEWS:
        for detail in (BOB, "Camille Martin", "camille@example.net", "Vallée de la Drôme", "bob@example.org"):
            assert detail in views[name], (name, detail)
    [row] = [r for r in json.loads(views["deposits export --format json"]) if r["reference"] == "DEP-2027-0002"]
    assert [entry["by"] for entry in row["history"]] == [BOB, FACILITATOR]
    [listed] = await h.say(FACILITATOR, "!depots alimentation", room=FACILITATORS)
    assert "DEP-2027-0002" in listed.body
