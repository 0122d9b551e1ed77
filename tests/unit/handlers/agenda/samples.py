"""A sample context per agenda template, for the agenda's template test and tests/unit/template_samples.py."""

AGENDA_TEMPLATE_SAMPLES = {
    f"agenda/{name}.md.j2": context
    for name, context in {
        "reminder": {
            "title": "Permanence",
            "delay": "demain",
            "when": "mardi 2 mars 2027 à 10h00",
            "location": "Salle",
            "link": "https://x",
            "late": True,
            "all_day": False,
        },
        "broadcast": {"text": "Bonjour <b>", "late": False},
        "cancellation": {"title": "Agora", "when": "mardi", "location": ""},
        "agenda": {
            "events": [{"title": "A", "when": "w", "location": "", "link": ""}],
            "days": 31,
            "permanence": {"title": "P", "when": "w", "location": "l", "link": "https://x.org"},
        },
        "permanence": {"event": None, "days": 60},
        "scheduled": {"manual": [], "events": [{"when": "w", "targets": "tous", "title": "P"}]},
        "scheduled_one": {"number": 3, "when": "w", "targets": "tous"},
        "broadcast_done": {"posted": 1, "problem": ""},
        "cancelled_one": {"number": 3, "when": "w", "text": "t"},
        "feed_down": {"feed": "F", "error": "réponse HTTP 500", "has_copy": True, "last_good": ""},
        "feed_back": {"feed": "F"},
        "delivery_problem": {"number": 1, "title": "t", "failed": ["!a:x"], "unresolved": [], "none": False},
        "rights_revoked": {"number": 1, "author": "@a:x"},
        "digest": {
            "items": [
                {
                    "template": "agenda/reminder.md.j2",
                    "title": "Permanence",
                    "text": "",
                    "delay": "dans 15 minutes",
                    "when": "mardi 2 mars 2027 à 10h00",
                    "location": "",
                    "link": "https://x",
                    "late": False,
                    "all_day": False,
                },
                {
                    "template": "agenda/broadcast.md.j2",
                    "title": "",
                    "text": "Pensez à l'Agora <b>",
                    "delay": "",
                    "when": "",
                    "location": "",
                    "link": "",
                    "late": True,
                    "all_day": False,
                },
            ]
        },
    }.items()
}
