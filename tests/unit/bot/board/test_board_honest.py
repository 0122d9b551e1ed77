"""The board says what happened: a refused or too long message changes nothing and says so, with
the text typed kept in the form; the answer's destination is chosen and named; every filter that
cannot be used is a French 400 page."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from sqlmodel import select

from handlers.replies import Post
from storage.deposits import Deposit
from storage.direct_chats import DirectChat
from storage.knowledge import faq_entries
from storage.questions import ForwardedQuestion
from storage.rooms import RoomRecord
from tests.unit.bot.board.conftest import ALICE, BOB

HUNDRED_KB = ("Un long texte. " * 6827).rstrip()  # 102 404 characters


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def question_id(db) -> int:
    with db.session() as session:
        return session.exec(select(ForwardedQuestion)).one().id


def waiting(db) -> bool:
    with db.session() as session:
        return session.exec(select(ForwardedQuestion)).one().answer is None


def status_of(db, sequence: int = 1) -> tuple[str, int]:
    with db.session() as session:
        deposit = session.exec(select(Deposit).where(Deposit.sequence == sequence)).one()
        return deposit.status, len(deposit.history)


def no_faq_entry(board, db) -> bool:
    with db.session() as session:
        return board.search.added == [] and faq_entries(session) == []


async def answer(board, number: int, **fields: str):
    csrf = await board.csrf("/questions")
    return await board.client.post(
        f"/questions/{number}/repondre", allow_redirects=False, data={"csrf": csrf, **fields}
    )


async def set_status(board, reference: str = "DEP-2027-0001", **fields: str):
    csrf = await board.csrf(f"/depots/{reference}")
    return await board.client.post(f"/depots/{reference}/statut", allow_redirects=False, data={"csrf": csrf, **fields})


# ------------------------------------------------------------------ a refused message changes nothing


async def test_an_answer_the_homeserver_refuses_changes_nothing_and_says_what_to_do(board, db):
    await board.log_in()
    number = question_id(db)
    board.homeserver_refuses = True
    response = await answer(board, number, reponse="La mairie, au 2e étage.", faq="oui")
    page = await response.text()
    said = text_of(page)
    assert response.status == 200 and board.refused and board.posted == []
    assert f"La réponse à la question n°{number} n'a pas pu être envoyée" in said
    assert "Rien n'a changé : la question attend toujours sa réponse et la FAQ est inchangée" in said
    assert "Réessayez dans un moment" in said
    assert "Réponse à la question" not in said  # no acknowledgement of a send that did not happen
    # The text typed and the FAQ box are there again, to send once more.
    assert ">La mairie, au 2e étage.</textarea>" in html.unescape(page)
    assert re.search(r'name="faq" value="oui" checked', page)
    assert waiting(db) and no_faq_entry(board, db)
    listing = text_of(await (await board.client.get("/questions")).text())
    assert "Qui contacter pour un local ?" in listing and "1 question en attente" in listing


async def test_a_status_change_the_homeserver_refuses_is_not_recorded(board, db):
    await board.log_in()
    before = status_of(db)
    board.homeserver_refuses = True
    response = await set_status(board, statut="accompagne", commentaire="Rendez-vous le 12 mars")
    page = await response.text()
    said = text_of(page)
    assert response.status == 200 and len(board.refused) == 1 and board.posted == []
    assert "Le statut du dépôt DEP-2027-0001 n'a pas changé" in said
    assert "n'a pas pu être envoyé" in said and "Réessayez dans un moment" in said
    assert "Son auteur en est informé" not in said
    assert status_of(db) == before
    # The facilitator's choice and comment, ready to send again.
    assert re.search(r'<option value="accompagne" selected>', page)
    assert ">Rendez-vous le 12 mars</textarea>" in page
    board.homeserver_refuses = False
    retried = await set_status(board, statut="accompagne", commentaire="Rendez-vous le 12 mars")
    assert retried.status == 303 and status_of(db) == ("accompagne", before[1] + 1)
    # The retry carries the same transaction key: a send the homeserver took after all is not doubled.
    assert board.posted[0].txn_key == board.refused[0].txn_key


async def test_a_100_kb_answer_is_refused_before_sending_and_kept_in_the_form(board, db):
    await board.log_in()
    number = question_id(db)
    response = await answer(board, number, reponse=HUNDRED_KB, faq="oui", destination="prive")
    page = await response.text()
    said = text_of(page)
    assert response.status == 400 and board.posted == [] and board.refused == []
    assert (
        "La réponse est trop longue : 102\u202f404 caractères, alors qu'un message en compte au plus 4\u202f000" in said
    )
    assert "rien n'a été envoyé ni modifié" in said
    assert "Un long texte. Un long texte." in page and page.count("Un long texte.") >= 6827
    assert re.search(r'value="prive" checked', page)
    assert waiting(db) and no_faq_entry(board, db)


async def test_a_100_kb_comment_is_refused_before_sending_and_kept_in_the_form(board, db):
    await board.log_in()
    before = status_of(db)
    response = await set_status(board, statut="clos", commentaire=HUNDRED_KB)
    page = await response.text()
    assert response.status == 400 and board.posted == [] and board.refused == []
    assert "Le commentaire est trop long : 102\u202f404 caractères" in text_of(page)
    assert page.count("Un long texte.") >= 6827 and re.search(r'<option value="clos" selected>', page)
    assert status_of(db) == before


async def test_a_faq_answer_longer_than_a_message_is_refused_and_kept(board, db, monkeypatch):
    from handlers.questions.faq import FaqEntry

    entry = FaqEntry("faq/local", "Qui contacter pour un local ?", "La mairie.")

    async def listed(services):
        return [entry]

    monkeypatch.setattr("bot.board.pages.questions.list_faq", listed)
    monkeypatch.setattr("handlers.questions.faq.list_faq", listed)
    await board.log_in()
    csrf = await board.csrf("/questions")
    response = await board.client.post(
        "/faq/modifier", data={"csrf": csrf, "source": "faq/local", "reponse": HUNDRED_KB}
    )
    page = await response.text()
    assert response.status == 400 and "La réponse est trop longue" in text_of(page)
    assert page.count("Un long texte.") >= 6827 and board.search.added == []


async def test_a_status_change_waiting_for_the_depositor_to_join_says_so(board, db):
    await board.log_in()
    board.direct_chats.joined = False
    response = await set_status(board, statut="en-etude")
    assert response.status == 303 and status_of(db)[0] == "en-etude"
    [note] = board.posted
    assert note.to == Post("!dm-alice:test")
    flash = text_of(await (await board.client.get("/depots/DEP-2027-0001")).text())
    assert "dès que cette personne aura accepté l'invitation" in flash and "en est informé" not in flash


# ------------------------------------------------------------------ where the answer goes


async def test_the_answer_form_names_both_places_and_who_reads_them(board, db):
    await board.log_in()
    page = text_of(await (await board.client.get("/questions")).text())
    assert "Dans le salon « Énergie », en réponse à la question : tous les membres du salon la lisent." in page
    assert "En privé, dans la conversation privée de @bob:test avec le bot : personne d'autre ne la lit." in page
    assert "à personne d'autre" not in page and "là où la question a été posée)" not in page


async def test_an_answer_in_private_goes_to_the_askers_direct_chat_only(board, db):
    await board.log_in()
    number = question_id(db)
    response = await answer(board, number, reponse="Voyez la mairie.", destination="prive")
    assert response.status == 303
    [sent] = board.posted
    assert sent.to == Post("!dm-bob:test") and sent.mentions == (BOB,) and sent.author_consented
    assert not any(r.to.room_id == "!energie:test" for r in board.posted)
    flash = text_of(await (await board.client.get("/questions")).text())
    assert (
        "Réponse à la question n°1 envoyée en privé, dans la conversation privée de @bob:test avec le bot : "
        "personne d'autre ne la lit." in flash
    )
    assert not waiting(db)


async def test_an_answer_in_private_to_a_member_yet_to_join_says_it_waits(board, db):
    await board.log_in()
    board.direct_chats.joined = False
    response = await answer(board, question_id(db), reponse="Voyez la mairie.", destination="prive")
    assert response.status == 303 and not waiting(db)
    flash = text_of(await (await board.client.get("/questions")).text())
    assert "elle lui sera remise en privé" in flash and "dès que cette personne aura accepté l'invitation" in flash
    assert "envoyée" not in flash


async def test_a_question_asked_in_a_direct_chat_is_answered_there_with_no_choice(board, db):
    with db.session() as session:
        session.add(RoomRecord(room_id="!dm-alice:test", is_direct=True))
        session.add(DirectChat(room_id="!dm-alice:test", user_id=ALICE))
        session.add(
            ForwardedQuestion(
                room_id="!dm-alice:test",
                room_name="Alice",
                asker=ALICE,
                question="Puis-je venir avec mon chien ?",
                event_id="$privately",
            )
        )
    await board.log_in()
    page = await (await board.client.get("/questions")).text()
    card = page[page.index("Puis-je venir") :]
    card = card[: card.index("</article>")]
    assert 'value="salon"' not in card and "Dans le salon" not in card
    assert "conversation privée de @alice:test avec le bot, où la question a été posée" in html.unescape(card)
    with db.session() as session:
        number = session.exec(select(ForwardedQuestion).where(ForwardedQuestion.asker == ALICE)).one().id
    # Even a forged « salon » cannot post it in a shared room: it is answered where it was asked.
    response = await answer(board, number, reponse="Oui, tenu en laisse.", destination="salon")
    assert response.status == 303
    [sent] = board.posted
    assert sent.to == Post("!dm-alice:test", reply_to="$privately")


async def test_an_unknown_destination_is_refused_and_the_text_kept(board, db):
    await board.log_in()
    response = await answer(board, question_id(db), reponse="Voyez la mairie.", destination="partout")
    page = await response.text()
    assert response.status == 400 and "Choisissez où envoyer la réponse" in text_of(page)
    assert ">Voyez la mairie.</textarea>" in page and board.posted == [] and waiting(db)


# ------------------------------------------------------------------ every parameter checked


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("page=99999999999999999999", "n'est pas un numéro de page"),
        ("page=0", "n'est pas un numéro de page"),
        ("page=-3", "n'est pas un numéro de page"),
        ("page=deux", "n'est pas un numéro de page"),
        ("page=7", "La page 7 n'existe pas : il y en a 1"),
        ("au=9999-12-31", "hors de la période"),
        ("du=0001-01-01", "hors de la période"),
        ("du=2027-02-30", "n'est pas valable : écrivez-la sous la forme JJ/MM/AAAA"),
        ("du=30/02/2027", "n'est pas valable"),
        ("du=02/01/27", "n'est pas valable"),
        ("du=2027-03-01&au=2027-02-01", "La date de début (1er mars 2027) est après la date de fin (1er février 2027)"),
        ("du=01/03/2027&au=01/02/2027", "La date de début (1er mars 2027) est après la date de fin"),
        ("statut=perdu", "« perdu » n'est pas un statut"),
        ("tribu=Atlantide", "Aucune tribu ne s'appelle « Atlantide »"),
    ],
)
async def test_a_filter_that_cannot_be_used_is_a_french_400_page(board, query, words):
    await board.log_in()
    for path in ("/depots", "/depots/export.csv"):
        if path.endswith(".csv") and query.startswith("page="):
            continue
        response = await board.client.get(f"{path}?{query}")
        page = await response.text()
        assert response.status == 400, (path, query)
        assert response.headers["Content-Type"].startswith("text/html") and '<html lang="fr">' in page
        assert words in text_of(page), (path, query)


async def test_page_numbers_of_the_questions_are_checked(board):
    await board.log_in()
    for query, words in (
        ("page=99999999999999999999", "n'est pas un numéro de page"),
        ("page=2", "La page 2 n'existe pas"),
    ):
        response = await board.client.get(f"/questions?{query}")
        assert response.status == 400 and words in text_of(await response.text())


async def test_unknown_references_and_numbers_are_french_pages(board):
    await board.log_in()
    csrf = await board.csrf()
    for method, path, status, words in (
        ("GET", "/depots/DEP-2027-9999", 404, "Aucun dépôt ne porte la référence « DEP-2027-9999 »"),
        ("GET", "/depots/%00", 404, "Aucun dépôt ne porte la référence"),
        ("POST", "/depots/DEP-2027-9999/statut", 404, "Aucun dépôt ne porte la référence"),
        ("POST", "/questions/99999999999999999999/repondre", 400, "n'est pas un numéro de question"),
        ("POST", "/questions/4242/repondre", 400, "Il n'y a pas de question n°4242"),
        ("POST", "/agenda/rappels/99999999999999999999/annuler", 400, "n'est pas un numéro de rappel"),
        ("POST", "/agenda/rappels/4242/annuler", 400, "Ce rappel n'existe pas"),
        ("GET", "/nulle-part", 404, "Cette adresse ne mène à aucune page"),
        ("GET", "/depots/DEP-2027-0001/statut", 405, "ne s'utilise pas ainsi"),
    ):
        response = await board.client.request(method, path, data={"csrf": csrf, "reponse": "x", "statut": "clos"})
        page = await response.text()
        assert response.status == status, (method, path, page[-600:])
        assert '<html lang="fr">' in page and words in text_of(page), (method, path)
    assert board.posted == []


# ------------------------------------------------------------------ the export opens safely


async def test_the_boards_csv_runs_no_formula_in_a_spreadsheet(board, db):
    from tests.unit.bot.board.conftest import make_deposit

    with db.session() as session:
        session.add(make_deposit(3, title='=HYPERLINK("http://evil.example","Cliquez")', tribe="Énergie"))
    await board.log_in()
    data = await (await board.client.get("/depots/export.csv")).read()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    [third] = [r for r in rows if r[0] == "DEP-2027-0003"]
    assert '\'=HYPERLINK("http://evil.example","Cliquez")' in third and "'@alice:test" in third
