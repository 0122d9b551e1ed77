"""The facilitators' board over HTTP, in-process: login by a one-time link, sessions, rights checked
at every request, CSRF, and each page's actions going through the chat's own logic."""

from __future__ import annotations

import csv
import html
import io

from sqlmodel import select

from handlers.replies import Post
from storage.deposits import Deposit
from storage.questions import ForwardedQuestion
from tests.unit.bot.board.conftest import ALICE, BOB, FACILITATOR, SECRET_TITLE


async def test_opening_a_link_shows_a_button_and_uses_nothing_up(board):
    token = board.links.token(FACILITATOR)
    for _ in range(2):  # a link preview, then the person
        page = await board.client.get(f"/connexion?jeton={token}")
        assert page.status == 200
        body = await page.text()
        assert "Me connecter" in body and 'method="post"' in body
        assert "tableau_session" not in page.headers.get("Set-Cookie", "")
    response = await board.client.post("/connexion", data={"jeton": token}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/depots"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # http in this config
    assert "Max-Age=36000" in cookie  # a working day
    listing = await board.client.get("/depots")
    assert listing.status == 200 and "DEP-2027-0001" in await listing.text()


async def test_a_replayed_link_is_refused(board):
    token = board.links.token(FACILITATOR)
    assert (await board.client.post("/connexion", data={"jeton": token}, allow_redirects=False)).status == 303
    board.client.session.cookie_jar.clear()
    again = await board.client.post("/connexion", data={"jeton": token}, allow_redirects=False)
    assert again.status == 403 and "déjà servi" in await again.text()
    assert "tableau_session" not in again.headers.get("Set-Cookie", "")
    shown = await board.client.get(f"/connexion?jeton={token}")
    assert shown.status == 403 and "Me connecter" not in await shown.text()


async def test_an_expired_or_forged_link_is_refused(board, clock):
    token = board.links.token(FACILITATOR)
    clock.advance(minutes=10, seconds=1)
    expired = await board.client.post("/connexion", data={"jeton": token}, allow_redirects=False)
    assert expired.status == 403 and "expiré" in await expired.text()
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    refused = await board.client.post("/connexion", data={"jeton": forged}, allow_redirects=False)
    assert refused.status == 403 and "pas valable" in await refused.text()


async def test_a_non_facilitators_link_logs_nobody_in(board):
    response = await board.client.post("/connexion", data={"jeton": board.links.token(BOB)}, allow_redirects=False)
    assert response.status == 403 and "réservé à l&#39;équipe d&#39;animation" in await response.text()


async def test_without_a_session_no_page_shows_any_data(board):
    for path in ("/depots", "/depots/DEP-2027-0001", "/depots/export.csv", "/questions", "/agenda", "/usage"):
        response = await board.client.get(path, allow_redirects=False)
        body = await response.text()
        assert response.status == 401, path
        assert "DEP-2027" not in body and "Jardin" not in body and "local" not in body, path
        assert "!tableau" in body
    board.client.session.cookie_jar.update_cookies({"tableau_session": "made-up"})
    assert (await board.client.get("/depots")).status == 401


async def test_rights_are_checked_at_every_request(board):
    await board.log_in()
    assert (await board.client.get("/depots")).status == 200
    board.facilitators.discard(FACILITATOR)
    response = await board.client.get("/depots")
    assert response.status == 401 and "DEP-2027" not in await response.text()


async def test_a_session_lasts_a_working_day(board, clock):
    await board.log_in()
    clock.advance(hours=9, minutes=59)
    assert (await board.client.get("/depots")).status == 200
    clock.advance(minutes=2)
    assert (await board.client.get("/depots")).status == 401


async def test_a_form_without_the_right_csrf_token_is_refused(board, db):
    await board.log_in()
    for data in ({"statut": "clos"}, {"statut": "clos", "csrf": "wrong"}):
        response = await board.client.post("/depots/DEP-2027-0001/statut", data=data, allow_redirects=False)
        assert response.status == 403 and "jeton de sécurité" in await response.text()
    with db.session() as session:
        assert session.exec(select(Deposit).where(Deposit.sequence == 1)).one().status == "nouveau"
    assert board.posted == []


async def test_a_status_change_reaches_the_depositor_in_their_direct_chat(board, db):
    await board.log_in()
    csrf = await board.csrf("/depots/DEP-2027-0001")
    response = await board.client.post(
        "/depots/DEP-2027-0001/statut",
        allow_redirects=False,
        data={"csrf": csrf, "statut": "en-etude", "commentaire": "Rendez-vous <le 12>"},
    )
    assert response.status == 303
    [note] = board.posted
    assert note.to == Post("!dm-alice:test") and note.mentions == (ALICE,)
    assert note.context["status_label"] == "en étude" and note.context["comment"] == "Rendez-vous <le 12>"
    page = await (await board.client.get("/depots/DEP-2027-0001")).text()
    assert "Son auteur en est informé en message privé" in page  # the acknowledgement, once
    assert "Rendez-vous &lt;le 12&gt;" in page and "<le 12>" not in page
    with db.session() as session:
        deposit = session.exec(select(Deposit).where(Deposit.sequence == 1)).one()
    assert deposit.status == "en-etude" and deposit.history[-1]["by"] == FACILITATOR


async def test_a_confidential_deposit_shows_no_depositor_and_no_content(board):
    await board.log_in()
    listing = await (await board.client.get("/depots")).text()
    detail = await (await board.client.get("/depots/DEP-2027-0002")).text()
    export = await board.client.get("/depots/export.csv")
    data = await export.read()
    for seen in (listing, detail, data.decode("utf-8-sig")):
        assert "DEP-2027-0002" in seen
        assert BOB not in seen and SECRET_TITLE not in seen and "Description de " + SECRET_TITLE not in seen
    assert "contenu non transmis" in listing and "n'a pas transmis le contenu" in detail
    # Filtering by its tribe would tell what its author kept: it is not listed there.
    by_tribe = await (await board.client.get("/depots?tribu=%C3%89nergie")).text()
    assert "DEP-2027-0001" in by_tribe and "DEP-2027-0002" not in by_tribe


async def test_the_csv_opens_in_french_spreadsheets(board):
    await board.log_in()
    export = await board.client.get("/depots/export.csv?statut=nouveau")
    assert export.status == 200 and export.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in export.headers["Content-Disposition"]
    data = await export.read()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["Référence", "Statut", "Déposé le", "Déposé par"]
    assert [r[0] for r in rows[1:]] == ["DEP-2027-0001", "DEP-2027-0002"]


async def test_filters_by_status_and_dates(board):
    await board.log_in()
    assert (
        "DEP-2027-0001" in await (await board.client.get("/depots?statut=nouveau&du=2027-02-01&au=2027-02-01")).text()
    )
    empty = await (await board.client.get("/depots?du=2027-02-02")).text()
    assert "Aucun dépôt ne correspond" in empty and "DEP-2027-0001" not in empty
    assert "Aucun dépôt ne correspond" in await (await board.client.get("/depots?statut=clos")).text()


async def test_an_answer_from_the_board_reaches_the_asker(board, db):
    await board.log_in()
    page = await (await board.client.get("/questions")).text()
    assert "Qui contacter pour un local ?" in page
    csrf = await board.csrf("/questions")
    with db.session() as session:
        number = session.exec(select(ForwardedQuestion)).one().id
    response = await board.client.post(
        f"/questions/{number}/repondre",
        allow_redirects=False,
        data={"csrf": csrf, "reponse": "La mairie, au 2e étage."},
    )
    assert response.status == 303
    [answer] = board.posted
    assert answer.to == Post("!energie:test", reply_to="$asked") and answer.mentions == (BOB,)
    assert answer.context["answer"] == "La mairie, au 2e étage."
    after = await (await board.client.get("/questions")).text()
    # The flash says where it went, and who reads it there.
    assert (
        "publiée dans le salon « Énergie », en réponse à la question : tous les membres du salon la lisent"
        in html.unescape(after)
    )
    assert "Aucune question n'attend de réponse" in after
    again = await board.client.post(f"/questions/{number}/repondre", data={"csrf": csrf, "reponse": "Encore"})
    assert again.status == 400 and "déjà reçu une réponse" in await again.text()


async def test_logging_out_ends_the_session(board):
    await board.log_in()
    csrf = await board.csrf()
    assert (await board.client.post("/deconnexion", data={"csrf": csrf})).status == 200
    assert (await board.client.get("/depots")).status == 401


async def test_every_page_answers_and_sends_no_script(board):
    await board.log_in()
    for path in ("/depots", "/depots/DEP-2027-0001", "/questions", "/agenda", "/usage"):
        response = await board.client.get(path)
        body = await response.text()
        assert response.status == 200, path
        assert "<script" not in body and "http://" not in body.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    css = await board.client.get("/static/board.css")
    assert css.status == 200 and "body" in await css.text()


def test_over_https_the_cookie_is_secure(make_config, db, clock):
    from aiohttp import web

    from bot.board.auth import Auth
    from handlers.board.links import LoginLinks

    config = make_config(board={"listen": "127.0.0.1:8470", "public_url": "https://tableau.example.org"}).board
    auth = Auth(db, LoginLinks(b"k" * 32, config.base_url, clock), config, lambda user: True, clock)
    response = web.Response()
    auth.set_cookie(response, "raw")
    cookie = response.cookies["tableau_session"]
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"
