"""A context for every board page template, every text a member, a feed or a facilitator could have
typed being hostile HTML: the rendering test checks that it comes out escaped."""

from __future__ import annotations

from bot.board.charts import grouped_bars

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'

_PAGE = {
    "section": "depots",
    "user_id": "@fanny:test" + EVIL,
    "csrf": "tok" + EVIL,
    "flash": "Fait " + EVIL,
    "error": "Erreur " + EVIL,
    "max_length": "4\u202f000",
}

_DEPOSIT = {
    "reference": "DEP-2027-0001",
    "title": "Jardin " + EVIL,
    "tribe": "Énergie" + EVIL,
    "status": "nouveau",
    "status_label": "nouveau",
    "visibility_label": "équipe d'animation seulement",
    "created": "lundi 1er février 2027",
    "depositor": "@alice:test" + EVIL,
    "origin_confidential": True,
    "content_shared": True,
    "rows": [{"key": "description", "label": "Description", "value": "Un jardin " + EVIL}],
    "history": [
        {
            "date": "lundi 1er février 2027",
            "status_label": "nouveau",
            "by": "@alice:test" + EVIL,
            "comment": "Vu " + EVIL,
        }
    ],
}

BOARD_HTML_SAMPLES = {
    "board/login.html.j2": {"token": "abc" + EVIL},
    "board/login_needed.html.j2": {},
    "board/base.html.j2": dict(_PAGE),
    "board/message.html.j2": {"title": "Titre " + EVIL, "text": "Texte " + EVIL},
    "board/message_page.html.j2": {
        **_PAGE,
        "title": "Titre " + EVIL,
        "text": "Texte " + EVIL,
        "back_url": "/questions",
        "back_label": "Retour " + EVIL,
    },
    "board/deposits.html.j2": {
        **_PAGE,
        "deposits": [_DEPOSIT, {**_DEPOSIT, "content_shared": False, "title": None, "depositor": None, "tribe": None}],
        "total": 2,
        "page": 1,
        "pages": 2,
        "filters": {"statut": "nouveau", "tribu": EVIL, "du": "01/02/2027", "au": ""},
        "period": "Dépôts du lundi 1er février 2027" + EVIL,
        "tribes": ["Énergie" + EVIL],
        "statuses": [("nouveau", "nouveau")],
        "query": "tribu=%3Cscript%3E",
        "export_query": "tribu=%3Cscript%3E",
    },
    "board/deposit.html.j2": {
        **_PAGE,
        "d": _DEPOSIT,
        "statuses": [("nouveau", "nouveau"), ("clos", "clos")],
        "chosen": "clos",
        "comment": "Mon commentaire " + EVIL,
    },
    "board/questions.html.j2": {
        **_PAGE,
        "questions": [
            {
                "id": 3,
                "asker": "@bob:test" + EVIL,
                "room_name": EVIL,
                "question": "Qui ? " + EVIL,
                "date": "lundi",
                "choosable": True,
                "in_room": "Dans le salon « " + EVIL + " », en réponse à la question",
                "in_private": "En privé, dans la conversation privée de @bob:test" + EVIL,
            },
            {
                "id": 4,
                "asker": "@ana:test",
                "room_name": "",
                "question": "Et ? " + EVIL,
                "date": "lundi",
                "choosable": False,
                "in_room": "",
                "in_private": "En privé, où la question a été posée",
            },
        ],
        "total": 2,
        "page": 1,
        "pages": 1,
        "search_enabled": True,
        "history": [
            {
                "id": 2,
                "asker": "@bob:test" + EVIL,
                "room_name": "Énergie" + EVIL,
                "question": "Où ? " + EVIL,
                "asked": "lundi",
                "answer": "Là " + EVIL,
                "answered_by": "@fanny:test" + EVIL,
                "answered": "mardi",
            }
        ],
        "history_total": "1",
        "history_count": 1,
        "answered_count": 3,
        "history_page": 1,
        "history_pages": 2,
        "search": "local " + EVIL,
        "search_query": "cherche=local",
        "draft": {"id": 3, "text": "Brouillon " + EVIL, "private": True, "faq": True, "error": "Trop long " + EVIL},
        "faq_draft": {"source": "faq/abc" + EVIL, "text": "Nouvelle " + EVIL, "error": "Trop long " + EVIL},
        "faq": [type("Entry", (), {"source": "faq/abc" + EVIL, "question": "Q " + EVIL, "answer": "R " + EVIL})()],
    },
    "board/agenda.html.j2": {
        **_PAGE,
        "days": 31,
        "events": [
            {
                "title": "Atelier " + EVIL,
                "when": "mardi",
                "location": EVIL,
                "cancelled": False,
                "rooms": ["Toutes les tribus : Énergie" + EVIL],
                "feed": "Calendrier " + EVIL,
            }
        ],
        "rooms": [("tribus" + EVIL, [{"id": 4, "when": "mardi", "text": "Pensez " + EVIL, "manual": True}])],
        "feeds": [
            {
                "label": "Agenda " + EVIL,
                "address": "/srv/agenda.ics" + EVIL,
                "fetched": "lundi",
                "failures": 2,
                "error": "HTTP 500 " + EVIL,
                "failing_since": "lundi",
            }
        ],
    },
    "board/usage.html.j2": {
        **_PAGE,
        "weeks_count": 2,
        "charts": [
            grouped_bars("Questions " + EVIL, ["1 mars", "8 mars" + EVIL], [("répondues" + EVIL, "#2e8b57", [3, 4])])
        ],
        "totals": [{"count": "3", "label": "questions posées au bot" + EVIL}],
        "weeks": [
            {
                "week": "1er mars" + EVIL,
                "summary": "3 questions " + EVIL,
                "figures": [{"count": "3", "label": "questions posées au bot" + EVIL}],
            }
        ],
        "quiet_weeks": ["8 mars" + EVIL],
        "tribes": [{"tribe": "Énergie" + EVIL, "total": 1, "statuses": ["nouveau : 1" + EVIL]}],
    },
}

BOARD_MARKDOWN_SAMPLES = {
    "board/link.md.j2": {"url": "https://tableau.example.org/connexion?jeton=abc.def", "minutes": 10},
}
