"""Matrix polls (MSC3381) as the bot sends and reads them: the one place that knows their event format.

Sent in the unstable names Element and Tchap's web client read today (`org.matrix.msc3381.poll.*`, with
the `org.matrix.msc1767.text` fallback other clients show); responses are read in both the unstable
and the stable (`m.poll.*`) names. nio has no poll classes: a response arrives as an UnknownEvent,
in an encrypted room too (nio parses the decrypted payload by its inner type).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handlers.replies import Poll

POLL_START = "org.matrix.msc3381.poll.start"
POLL_END = "org.matrix.msc3381.poll.end"
RESPONSE_TYPES = ("org.matrix.msc3381.poll.response", "m.poll.response")
TEXT = "org.matrix.msc1767.text"


def start_content(poll: Poll) -> dict[str, Any]:
    fallback = "\n".join([poll.question, *(f"{i}. {c.label}" for i, c in enumerate(poll.choices, 1))])
    return {
        POLL_START: {
            "question": {TEXT: poll.question, "body": poll.question, "msgtype": "m.text"},
            "kind": "org.matrix.msc3381.poll.disclosed",
            "max_selections": 1,
            "answers": [{"id": c.id, TEXT: c.label} for c in poll.choices],
        },
        TEXT: fallback,
    }


def end_content(poll_event_id: str, text: str) -> dict[str, Any]:
    return {
        "m.relates_to": {"rel_type": "m.reference", "event_id": poll_event_id},
        POLL_END: {},
        TEXT: text,
    }


@dataclass(frozen=True)
class PollResponse:
    poll_event_id: str
    # The chosen answers' ids; empty when the member took their vote back.
    answers: tuple[str, ...]


def is_response(event_type: str) -> bool:
    return event_type in RESPONSE_TYPES


def read_response(event_type: str, content: dict[str, Any]) -> PollResponse | None:
    """A poll response's poll and answers; None for anything malformed."""
    if not is_response(event_type):
        return None
    relation = content.get("m.relates_to")
    if not isinstance(relation, dict) or relation.get("rel_type") != "m.reference":
        return None
    poll_event_id = relation.get("event_id")
    if not isinstance(poll_event_id, str):
        return None
    answers: object = content.get("m.selections")
    for key in RESPONSE_TYPES:
        inner = content.get(key)
        if isinstance(inner, dict) and "answers" in inner:
            answers = inner["answers"]
    if not isinstance(answers, list):
        return None
    return PollResponse(poll_event_id, tuple(a for a in answers if isinstance(a, str)))
