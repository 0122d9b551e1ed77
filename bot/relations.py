"""Where a message sits in the conversation — its thread, the message it replies to — read and written.

Matrix says both in the content's `m.relates_to` alone: `rel_type: m.thread` names the thread's root,
`m.in_reply_to` the message replied to. A message in a thread always carries an `m.in_reply_to`, for
clients without threads; when it is only that (`is_falling_back`), it replies to nothing.

Reply fallbacks — the replied message quoted at the top of the body, « > <@alice:x.org> … », and in
an <mx-reply> at the top of the HTML — were removed from the spec (MSC2781, v1.13): the bot sends
none, and strips those that older clients still send, only from a message that replies, so that a
member who starts a message by quoting text with « > » keeps it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# The old spec's fallback: the replied message's sender in « <…> » on the first quoted line (after
# « * » for an emote), the rest of it quoted, then a blank line.
_REPLY_FALLBACK = re.compile(r"\A> (?:\* )?<@[^>\s]+:[^>\s]+>.*\n(?:>.*\n)*\n?")
_HTML_REPLY_FALLBACK = re.compile(r"\A\s*<mx-reply>.*?</mx-reply>", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True)
class Relations:
    """What the event says about its place in the conversation."""

    thread_root: str | None
    # The event it really replies to; a thread's fallback reply (is_falling_back) is no reply.
    in_reply_to: str | None


def _relates_to(content: Mapping[str, object]) -> Mapping[str, object]:
    relation = content.get("m.relates_to")
    return relation if isinstance(relation, Mapping) else {}


def _event_id(value: object) -> str | None:
    """The event id a member's content names, or None for anything malformed."""
    event_id = value.get("event_id") if isinstance(value, Mapping) else None
    return event_id if isinstance(event_id, str) and event_id else None


def _reply_target(relation: Mapping[str, object]) -> str | None:
    """The event named in m.in_reply_to, a thread's fallback reply included."""
    return _event_id(relation.get("m.in_reply_to"))


def relations(content: Mapping[str, object]) -> Relations:
    """The thread and the replied event of a message's content (malformed parts read as absent)."""
    relation = _relates_to(content)
    thread_root = _event_id(relation) if relation.get("rel_type") == "m.thread" else None
    reply = _reply_target(relation)
    if thread_root and relation.get("is_falling_back"):
        reply = None
    return Relations(thread_root=thread_root, in_reply_to=reply)


def relates_to(*, thread_root: str | None = None, reply_to: str | None = None) -> dict[str, object] | None:
    """The `m.relates_to` of a message sent in a thread and/or as a reply; None for neither.

    In a thread, a message that replies to nothing in particular still names the thread's root in
    m.in_reply_to, marked as a fallback, so that clients without threads show it in context."""
    if thread_root:
        return {
            "rel_type": "m.thread",
            "event_id": thread_root,
            "is_falling_back": not reply_to,
            "m.in_reply_to": {"event_id": reply_to or thread_root},
        }
    if reply_to:
        return {"m.in_reply_to": {"event_id": reply_to}}
    return None


def without_reply_fallback(body: str, content: Mapping[str, object]) -> str:
    """The body without the quoted fallback an older client put before a reply's text.

    Only a message that names an event in m.in_reply_to has one (a thread's fallback reply included:
    clients quoted it too); only the spec's form is taken, the replied message's sender first."""
    if _reply_target(_relates_to(content)) is None:
        return body
    return _REPLY_FALLBACK.sub("", body, count=1)


def without_html_reply_fallback(formatted_body: str) -> str:
    """The HTML body without the <mx-reply> an older client put at its top: the spec has clients
    strip it whatever the event, as it only ever quotes another message."""
    return _HTML_REPLY_FALLBACK.sub("", formatted_body, count=1)
