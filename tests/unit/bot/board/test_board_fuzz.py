"""Every route of the board, every one of its query, form and path parameters, with hostile values,
logged in and with a valid CSRF token: no answer is a server error, and every refusal is a French
HTML page (not aiohttp's English text)."""

from __future__ import annotations

import random
from urllib.parse import quote

import aiohttp
import pytest

from storage.questions import ForwardedQuestion

# (method, path with {placeholders}, path parameters, query parameters, form parameters): the
# ordinary value of each, which the test replaces one at a time.
ROUTES = [
    ("GET", "/", {}, {}, None),
    (
        "GET",
        "/depots",
        {},
        {"statut": "nouveau", "tribu": "Énergie", "du": "2027-01-01", "au": "2027-12-31", "page": "1"},
        None,
    ),
    (
        "GET",
        "/depots/export.csv",
        {},
        {"statut": "nouveau", "tribu": "Énergie", "du": "2027-01-01", "au": "2027-12-31"},
        None,
    ),
    ("GET", "/depots/{reference}", {"reference": "DEP-2027-0001"}, {}, None),
    (
        "POST",
        "/depots/{reference}/statut",
        {"reference": "DEP-2027-0001"},
        {},
        {"statut": "en-etude", "commentaire": "Vu"},
    ),
    ("GET", "/questions", {}, {"page": "1", "cherche": "local", "historique": "1"}, None),
    (
        "POST",
        "/questions/{number}/repondre",
        {"number": "1"},
        {},
        {"reponse": "La mairie.", "destination": "salon", "faq": "oui"},
    ),
    ("POST", "/faq/modifier", {}, {}, {"source": "faq/local", "reponse": "La mairie."}),
    ("POST", "/faq/retirer", {}, {}, {"source": "faq/local"}),
    ("GET", "/agenda", {}, {}, None),
    ("POST", "/agenda/rappels/{row_id}/annuler", {"row_id": "1"}, {}, {}),
    ("GET", "/usage", {}, {}, None),
    ("GET", "/connexion", {}, {"jeton": "abc.def"}, None),
    ("POST", "/connexion", {}, {}, {"jeton": "abc.def"}),
    ("GET", "/static/{filename}", {"filename": "board.css"}, {}, None),
]

HOSTILE = [
    "",
    "0",
    "-1",
    "1",
    "2",
    "99999999999999999999",
    str(2**31),
    str(2**63),
    "-99999999999999999999",
    "1e309",
    "NaN",
    "١٢",
    "１２",
    "abc",
    " 1 ",
    "1.5",
    "0x10",
    "0001-01-01",
    "9999-12-31",
    "2027-02-30",
    "2027-13-01",
    "27-2-1",
    "2027-W05-1",
    "20270201",
    "2027-02-01T10:00",
    "DEP-2027-0001",
    "DEP-2027-9999",
    "dep-2027-0002",
    "DEP-99999999999999999999-1",
    "faq/local",
    "faq/inconnue",
    "nouveau",
    "clos",
    "oui",
    "non",
    "prive",
    "salon",
    "Énergie",
    "../../etc/passwd",
    "..",
    "%00",
    "\x00",
    "a\x00b",
    "\r\n\t",
    "\x1b[31m",
    "\u202e\u200b\ufeff",
    "😀" * 50,
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    '=HYPERLINK("http://evil.example")',
    "{{ 7*7 }}",
    "x" * 2000,
    "é" * 700,
]
# Long texts fit in a form, not in a URL (aiohttp refuses a request line over 8 KB before any page).
FORM_ONLY = ["y" * 200_000, "z" * 1_500_000]
ENGLISH = (
    "Not Found",
    "Bad Request",
    "Internal Server Error",
    "Method Not Allowed",
    "Request Entity Too Large",
    "Forbidden",
    "Unauthorized",
)


def random_texts(count: int = 12) -> list[str]:
    """Arbitrary unicode, the same every run: surrogates excepted, which no browser sends."""
    rng = random.Random(17)
    texts = []
    for _ in range(count):
        length = rng.randint(1, 40)
        texts.append(
            "".join(
                chr(rng.choice([rng.randint(0, 0x7F), rng.randint(0x80, 0xD7FF), rng.randint(0xE000, 0x10FFFF)]))
                for _ in range(length)
            )
        )
    return texts


def requests(route):
    """One request per parameter of the route and hostile value, the other parameters ordinary."""
    method, template, path, query, form = route
    places = [("path", name) for name in path] + [("query", name) for name in query]
    places += [("form", name) for name in form or {}] + ([("form", "csrf")] if method == "POST" else [])
    for place, name in places:
        values = HOSTILE + random_texts() + (FORM_ONLY if place == "form" else [])
        for value in values:
            p, q, f = dict(path), dict(query), dict(form or {})
            {"path": p, "query": q, "form": f}[place][name] = value
            yield method, template, p, q, f if method == "POST" else None, (place, name, value[:40])


async def logged_in(board, db) -> str:
    """The board with a forwarded question to answer, logged in: its CSRF token."""
    with db.session() as session:
        session.add(
            ForwardedQuestion(
                room_id="!energie:test",
                room_name="Énergie",
                asker="@bob:test",
                question="Et un autre local ?",
                event_id="$asked2",
            )
        )
    await board.log_in()
    return await board.csrf()


# One test per route that takes a parameter, so the workers share the requests.
WITH_PARAMETERS = [route for route in ROUTES if any(route[2:4]) or route[0] == "POST"]


@pytest.mark.parametrize("route", WITH_PARAMETERS, ids=[f"{route[0]} {route[1]}" for route in WITH_PARAMETERS])
async def test_no_parameter_of_a_route_makes_the_board_fail(board, db, route):
    csrf = await logged_in(board, db)
    count = 0
    for method, template, path, query, form, what in requests(route):
        url = template.format(**{k: quote(v, safe="") for k, v in path.items()})
        data = {"csrf": csrf, **form} if form is not None else None
        response = await board.client.request(method, url, params=query, data=data, allow_redirects=False)
        body = await response.text(errors="replace")
        count += 1
        assert response.status < 500, (method, url, what, body[-500:])
        if response.status >= 400:
            assert response.headers["Content-Type"].startswith("text/html"), (method, url, what)
            assert '<html lang="fr">' in body and not any(e in body for e in ENGLISH), (method, url, what, body)
    assert count >= len(HOSTILE)
    # Still logged in, and still answering, after all that.
    assert (await board.client.get("/depots")).status == 200
    assert (await board.client.post("/deconnexion", data={"csrf": csrf})).status == 200


def test_every_parameter_of_every_route_is_tried():
    assert sum(1 for route in ROUTES for _ in requests(route)) > 1500


async def test_a_file_where_a_form_expects_text_is_refused_in_french_never_read(board, db):
    csrf = await logged_in(board, db)
    for method, template, path, _, form in ROUTES:
        if method != "POST" or not form:
            continue
        for name in form:
            data = aiohttp.FormData({"csrf": csrf, **{k: v for k, v in form.items() if k != name}})
            data.add_field(name, b"=1+1\x00", filename="piece.txt", content_type="text/plain")
            response = await board.client.post(template.format(**path), data=data, allow_redirects=False)
            body = await response.text()
            assert '<html lang="fr">' in body, (template, name, body[-300:])
            if template == "/connexion":
                assert response.status == 403 and "pas valable" in body
            else:
                assert response.status == 400 and "attend du texte, pas un fichier" in body, (template, name)
    assert (await board.client.get("/depots")).status == 200
