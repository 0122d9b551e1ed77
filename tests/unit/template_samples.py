"""A sample context for every shipped template, so a test can render each one."""

from config import RetentionConfig
from handlers.context import RoomInfo
from handlers.help import TOPICS, retention_durations
from handlers.registry import Command


async def _noop(ctx):
    return None


_COMMAND = Command(name="aide", handler=_noop, usage="aide [commande]", help="Affiche l'aide.", aliases=("help",))

SAMPLES = {
    "help/overview.md.j2": {
        "prefix": "!",
        "sections": [("Général", [_COMMAND])],
        "room": RoomInfo(room_id="!r:x", kind="tribe", name="Alimentation"),
        "is_facilitator": False,
        "topics": TOPICS,
    },
    "help/command.md.j2": {"prefix": "!", "command": _COMMAND},
    "help/topics/confidentialite.md.j2": {"prefix": "!", "durations": retention_durations(RetentionConfig())},
    "rooms/unencrypted_warning.md.j2": {"name": "Pairs — agents"},
    "rooms/unencrypted_alert.md.j2": {"name": "Pairs — agents"},
    "rooms/direct_chat_waiting.md.j2": {"declined": True},
}

from tests.unit.bot.board.samples import BOARD_MARKDOWN_SAMPLES  # noqa: E402
from tests.unit.handlers.agenda.samples import AGENDA_TEMPLATE_SAMPLES  # noqa: E402
from tests.unit.handlers.deposits.samples import DEPOSIT_TEMPLATE_SAMPLES  # noqa: E402

SAMPLES.update(DEPOSIT_TEMPLATE_SAMPLES)
SAMPLES.update(BOARD_MARKDOWN_SAMPLES)
SAMPLES.update(AGENDA_TEMPLATE_SAMPLES)
SAMPLES.update(
    {
        "questions/answer.md.j2": {
            "blocks": [
                {
                    "side": "la permanence",
                    "sentences": ["La permanence a lieu le premier mardi du mois."],
                    "entries": [{"title": "Les chantiers", "gloss": "Un chantier produit un outil.", "size": 0}],
                    "total": 3,
                    "offset": 0,
                    "more": 2,
                    "title": "Animation",
                    "noun": "rendez-vous",
                    "heading_path": ["Animation"],
                    "count": {
                        "number": 23,
                        "noun": "balises",
                        "within": "Les balises",
                        "stated": None,
                        "parts": [{"title": "Famille engagement", "number": 6}],
                        "groups": "familles",
                    },
                    "citation": "Animation › La permanence mensuelle",
                }
            ],
            "see_also": ["Animation › Les chantiers"],
            "follow_up": True,
            "in_thread": False,
            "permanence": {
                "title": "Permanence",
                "when": "mardi 2 mars 2027 à 10h00",
                "location": "",
                "link": "https://visio.example.org/p",
            },
        },
        "questions/small_talk.md.j2": {"kind": "greeting"},
        "questions/choice.md.j2": {
            "question": "Vous cherchez plutôt :",
            "labels": ["Les acteurs du territoire › L'agent", "Les balises du référentiel › Famille engagement"],
        },
        "questions/abstain.md.j2": {
            "can_forward": False,
            "nothing_more": False,
            "confidential": True,
            "prefix": "!",
            "in_direct": False,
            "permanence": {
                "title": "Permanence",
                "when": "mardi 2 mars 2027 à 10h00",
                "location": "",
                "link": "https://visio.example.org/p",
            },
        },
        "questions/forwarded.md.j2": {
            "number": 3,
            "asker": "@ana:example.org",
            "room_name": "Alimentation",
            "question": "Qui contacter pour un local ?",
            "prefix": "!",
            "private": False,
        },
        "questions/queue.md.j2": {
            "questions": [
                {
                    "id": 3,
                    "asker": "@ana:example.org",
                    "room_name": "Alimentation",
                    "question": "Qui contacter ?",
                    "date": "mardi 2 mars 2027 à 10h00",
                    "origin": "shared",
                    "where": "dans le salon « Alimentation », en réponse à la question : tous les membres du salon la lisent",
                },
                {
                    "id": 4,
                    "asker": "@bob:example.org",
                    "room_name": "Bob",
                    "question": "Et le local ?",
                    "date": "mardi 2 mars 2027 à 11h00",
                    "origin": "direct",
                    "where": "en privé, dans la conversation privée de @bob:example.org avec le bot",
                },
            ],
            "prefix": "!",
        },
        "questions/facilitator_answer.md.j2": {"question": "Qui contacter ?", "answer": "L'équipe d'animation."},
    }
)

# Context keys whose values the bot (or the deployment's form file) writes as Markdown: every
# other string of a sample is a place where member text may land.
# Deposit references are numbered by the bot and printed inside code spans.
BOT_WRITTEN_EVERYWHERE = {"prefix", "template", "type", "visibility", "reference", "url"}
BOT_WRITTEN = {
    "help/overview.md.j2": {"sections", "topics"},
    "help/topics/confidentialite.md.j2": {"durations"},
    "help/command.md.j2": {"command"},
    "deposits/question.md.j2": {"intro", "error", "question"},
    "deposits/help.md.j2": {"question", "help"},
    "deposits/reminder.md.j2": {"question"},
    "questions/small_talk.md.j2": {"kind"},
    "questions/choice.md.j2": {"question"},
}
SAMPLES.update(
    {"rooms/introduction.md.j2": {"kind": "peer_group", "name": "Pairs — agents", "bot_name": "Manufacture"}}
)
SAMPLES.update(
    {
        "personal_data/inventory.md.j2": {
            "prefix": "!",
            "kinds": [
                {"label": "Questions posées", "count": 3, "first": "1er mars 2027", "last": "9 mars 2027"},
                {
                    "label": "Conversations privées avec moi",
                    "count": 1,
                    "first": "1er mars 2027",
                    "last": "1er mars 2027",
                },
            ],
        },
        "personal_data/forget_prompt.md.j2": {
            "lines": [("Questions posées", 3), ("Dépôts de projets faits par vous", 2)],
            "deposits": 2,
            "lifetime": "une heure",
        },
        "personal_data/erased.md.j2": {
            "lines": [("Questions posées", 3), ("Dépôts de projets faits par vous", 2)],
            "anonymised": ["DEP-2027-0001"],
            "removed": ["DEP-2027-0002", "DEP-2027-0003"],
            "carrier_erased": ["DEP-2027-0004"],
        },
        "personal_data/facilitators_notice.md.j2": {
            "anonymised": ["DEP-2027-0001"],
            "removed": ["DEP-2027-0002"],
            "carrier_erased": ["DEP-2027-0004"],
        },
    }
)
