"""A sample context for every deposit template (tests/unit/template_samples.py merges them)."""

_ROW = {"number": 1, "key": "title", "label": "Titre", "value": "Cantine <b>bio</b>"}
_VIEW = {
    "reference": "DEP-2027-0001",
    "title": "Cantine <b>bio</b>",
    "tribe": "Énergie",
    "status_label": "nouveau",
    "visibility_label": "toute la communauté",
    "created": "1er mars 2027",
    "depositor": "@alice:test",
    "origin_confidential": False,
    "content_shared": True,
    "rows": [_ROW],
    "history": [{"date": "1er mars 2027", "status_label": "nouveau", "by": "@alice:test", "comment": "ok"}],
}
DEPOSIT_TEMPLATE_SAMPLES = {
    f"deposits/{name}.md.j2": context
    for name, context in {
        "question": {
            "intro": "Bonjour",
            "error": "Non",
            "label": "Titre",
            "question": "Titre ?",
            "type": "choices",
            "required": False,
            "options": ["A", "B"],
            "position": 1,
            "remaining_at_least": 2,
            "remaining_at_most": 4,
            "previous": "A",
        },
        "recap": {"title": "Dépôt", "rows": [_ROW]},
        "help": {
            "in_recap": False,
            "field": {
                "label": "Titre",
                "question": "?",
                "help": "Aide",
                "options": ["A"],
                "required": True,
                "position": 1,
            },
        },
        "confirmed": {
            "title": "Cantine <b>bio</b>",
            "reference": "DEP-2027-0001",
            "visibility": "community",
            "content_shared": True,
            "announced": True,
        },
        "facilitators_notice": {
            "reference": "DEP-2027-0001",
            "content_shared": True,
            "origin_confidential": True,
            "depositor": "@alice:test",
            "rows": [_ROW],
            "shared_later": False,
        },
        "tribe_announce": {
            "title": "Cantine <b>bio</b>",
            "reference": "DEP-2027-0001",
            "territory": "Lunel",
            "needs": "Un lieu",
        },
        "deposit": {"d": _VIEW},
        "list": {"deposits": [_VIEW], "filters": "nouveau"},
        "mine": {
            "deposits": [_VIEW],
            "drafts": [{"title": "X", "status_label": "en cours", "updated": "2 mars 2027", "answered": 2}],
        },
        "reminder": {"title": "Cantine <b>bio</b>", "question": "Titre ?"},
        "abandoned": {"title": "Cantine <b>bio</b>", "days": "7"},
        "status_changed": {
            "reference": "DEP-2027-0001",
            "title": "Cantine <b>bio</b>",
            "status_label": "clos",
            "comment": "Bravo",
        },
    }.items()
}
