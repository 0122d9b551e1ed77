"""Facilitators' follow-up (!depots, !depot), the CSV export, and what every view shows of a withheld deposit."""

import csv
import dataclasses
import io
import json
from pathlib import Path

import pytest

from handlers.deposits.facilitation import change_status
from handlers.deposits.formsource import form_for
from handlers.deposits.records import facilitators_notice
from handlers.replies import Post, UserError
from storage.deposits import Deposit, format_reference
from tests.unit.handlers.deposits.harness import (
    ALICE,
    BOB,
    FACILITATOR,
    FACILITATORS,
    PEERS,
    TRIBE_ENERGY,
    Harness,
    copy_db,
    form_keys,
    run_cli,
)


async def test_list_and_filter(h):
    [listing] = await h.say(FACILITATOR, "!depots", room=FACILITATORS)
    assert "DEP-2027-0001" in listing.text and "DEP-2027-0002" in listing.text
    assert listing.text.count("Cantine bio intercommunale") == 1  # the confidential one stays unnamed
    [listing] = await h.say(FACILITATOR, "!depots en étude", room=FACILITATORS)
    assert "Aucun dépôt" in listing.text
    [listing] = await h.say(FACILITATOR, "!depots nouveau alimentation", room=FACILITATORS)
    assert "DEP-2027-0001" in listing.text and "DEP-2027-0002" not in listing.text


async def test_show_and_change_status_tells_the_depositor(h):
    [shown] = await h.say(FACILITATOR, "!depot dep-2027-0001", room=FACILITATORS)
    assert "Pays de Lunel" in shown.text and "1er mars 2027" in shown.text
    [ack] = await h.say(
        FACILITATOR, "!depot DEP-2027-0001 statut en étude Rendez-vous pris le 12 mars", room=FACILITATORS
    )
    assert "en étude" in ack.text and "Son auteur en est informé en message privé" in ack.text
    # Told in the depositor's direct chat, where only they read the title and the comment: posted by
    # the handler before the status was recorded.
    [told] = [h.render(r) for r in h.posted]
    assert (told.to, told.mentions) == (Post(h.dm(ALICE).room_id), (ALICE,))
    assert told.author_consented and "Rendez-vous pris le 12 mars" in told.text
    [shown] = await h.say(FACILITATOR, "!depot DEP-2027-0001", room=FACILITATORS)
    assert "en étude" in shown.text and "Rendez-vous pris" in shown.text
    mine = await h.say(ALICE, "!mes-depots", room=h.dm(ALICE))
    assert "en étude" in mine[0].text


async def test_a_status_change_the_homeserver_refuses_is_not_recorded(h):
    async def refused(reply):
        return None

    h.services = dataclasses.replace(h.services, post=refused)
    [answer] = await h.say(FACILITATOR, "!depot DEP-2027-0001 statut clos Fini", room=FACILITATORS)
    assert "Le statut du dépôt DEP-2027-0001 n'a pas changé" in answer.text and "Réessayez" in answer.text
    assert "Son auteur en est informé" not in answer.text
    [shown] = await h.say(FACILITATOR, "!depot DEP-2027-0001", room=FACILITATORS)
    assert "clos" not in shown.text and "Fini" not in shown.text


async def test_a_comment_longer_than_a_message_is_refused_before_anything(h):
    with pytest.raises(UserError, match="Le commentaire est trop long : 100\u202f000 caractères"):
        await change_status(h.services, FACILITATOR, "DEP-2027-0001", "clos", "x" * 100_000)
    assert h.posted == []
    [shown] = await h.say(FACILITATOR, "!depot DEP-2027-0001", room=FACILITATORS)
    assert "clos" not in shown.text


async def test_a_depositor_yet_to_join_their_direct_chat_reads_it_when_they_join(h):
    async def kept_for_later(reply):
        h.posted.append(reply)
        return  # as the sender says of a message it keeps for a direct chat not joined yet

    h.services = dataclasses.replace(h.services, post=kept_for_later)
    h.services.direct_chats.joined = False
    [ack] = await h.say(FACILITATOR, "!depot DEP-2027-0001 statut clos", room=FACILITATORS)
    assert "dès que cette personne aura accepté l'invitation" in ack.text and "en est informé" not in ack.text
    [shown] = await h.say(FACILITATOR, "!depot DEP-2027-0001", room=FACILITATORS)
    assert "clos" in shown.text


async def test_mistakes_are_explained_in_french(h):
    for command, words in [
        ("!depot DEP-2027-0099", "Aucun dépôt"),
        ("!depot DEP-2027-0001 statut fini", "statut connu"),
        ("!depots violet", "ni le statut ni la tribu"),
        ("!depot", "référence"),
    ]:
        [answer] = await h.say(FACILITATOR, command, room=FACILITATORS)
        assert words in answer.text


async def test_csv_export_in_the_facilitators_room(h):
    [sent] = await h.say(FACILITATOR, "!depots export", room=FACILITATORS)
    attachment = sent.attachment
    assert attachment.mimetype == "text/csv" and attachment.filename.endswith(".csv")
    # For French spreadsheets: a byte-order mark, and « ; » between columns.
    assert attachment.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(attachment.content.decode("utf-8-sig")), delimiter=";"))
    assert [r["Référence"] for r in rows] == ["DEP-2027-0001", "DEP-2027-0002"]
    # One column per thing, headed in French: no title, tribe, carrier or visibility twice.
    header = next(csv.reader(io.StringIO(attachment.content.decode("utf-8-sig")), delimiter=";"))
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
    PEERS.room_id,
    PEERS.name,
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


def store_deposit(h, sequence: int, depositor: str, origin, answers: dict, history: tuple = ()) -> Deposit:
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
        origin_room_id=origin.room_id,
        origin_confidential=origin.confidential,
        content_shared=answers.get("share_content", True),
        created_at=now,
        answers={key: answers.get(key) for key in form_keys()},
        history=steps,
    )
    with h.db.session() as session:
        session.add(stored)
    return stored


@pytest.fixture
async def withheld(tmp_path):
    """Alice's ordinary deposit (DEP-2027-0001) and Bob's withheld one (DEP-2027-0002), which a
    facilitator has followed up once; and the facilitators' notice of Bob's deposit."""
    h = Harness.build(tmp_path)
    store_deposit(h, 1, ALICE, TRIBE_ENERGY, ORDINARY)
    follow_up = {
        "status": "en-etude",
        "at": h.clock().isoformat(),
        "by": FACILITATOR,
        "comment": "Premier échange prévu",
    }
    bob_deposit = store_deposit(h, 2, BOB, PEERS, WITHHELD, (follow_up,))
    notice = facilitators_notice(h.services, form_for(h.services), bob_deposit)
    return h, h.render(notice).text


async def facilitators_views(h, tmp_path, capsys) -> dict[str, str]:
    """Everything the facilitators can read of the deposits, in the chat and from the command line."""
    views = {}
    for command in ("!depot DEP-2027-0002", "!depots", "!depots en étude"):
        [reply] = await h.say(FACILITATOR, command, room=FACILITATORS)
        views[command] = reply.text
    [export] = await h.say(FACILITATOR, "!depots export", room=FACILITATORS)
    views["!depots export"] = export.attachment.content.decode("utf-8-sig")
    copy_db(h, Path(h.config.data_dir))
    config = str(h.config.path)
    for argv in (
        ["deposits", "list"],
        ["deposits", "list", "--json"],
        ["deposits", "export", "--format", "csv"],
        ["deposits", "export", "--format", "json"],
    ):
        assert run_cli([*argv, "--config", config]) == 0
        views[" ".join(argv)] = capsys.readouterr().out
    return views


async def test_a_withheld_deposit_shows_its_reference_date_and_status_only(withheld, tmp_path, capsys):
    h, notice = withheld
    views = {"notice": notice, **await facilitators_views(h, tmp_path, capsys)}
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
    assert "DEP-2027-0002" not in listed.text  # its tribe is part of what Bob kept to himself


async def test_after_partager_every_view_shows_the_withheld_deposit(withheld, tmp_path, capsys):
    h, _ = withheld
    sent = await h.say(BOB, "!partager DEP-2027-0002", room=PEERS)
    [notice] = [s for s in sent if s.room_id == FACILITATORS.room_id]
    views = {"notice": notice.text, **await facilitators_views(h, tmp_path, capsys)}
    for name, text in views.items():
        assert "Maison de santé des Lilas" in text, name
    for name in DETAILED_VIEWS:
        for detail in (BOB, "Camille Martin", "camille@example.net", "Vallée de la Drôme", "bob@example.org"):
            assert detail in views[name], (name, detail)
    [row] = [r for r in json.loads(views["deposits export --format json"]) if r["reference"] == "DEP-2027-0002"]
    assert [entry["by"] for entry in row["history"]] == [BOB, FACILITATOR]
    [listed] = await h.say(FACILITATOR, "!depots alimentation", room=FACILITATORS)
    assert "DEP-2027-0002" in listed.text
