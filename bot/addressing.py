"""When a message is meant for the bot, read from the Matrix event alone.

The community names itself « la Manufacture » all the time: the bot's name inside a sentence is
conversation, not a call. A message is addressed to the bot when it starts with the command
prefix, mentions the bot on purpose (m.mentions, or a pill linking to the bot in the HTML body),
starts with the bot's name followed by « : » or « , » (older clients), replies to one of the bot's
messages, is in a thread the bot takes part in, or is said in a direct chat.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from bot.relations import without_html_reply_fallback

_HREF = re.compile(r"""href\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


def mentions_user(content: dict, user_id: str) -> bool:
    """An intentional mention: m.mentions, or a pill (a matrix.to or matrix: link) in the HTML body."""
    mentions = content.get("m.mentions")
    if isinstance(mentions, dict) and user_id in (mentions.get("user_ids") or []):
        return True
    formatted = content.get("formatted_body")
    if not isinstance(formatted, str):
        return False
    # An older client's reply quotes the replied message, its pills with it: no call from this member.
    formatted = without_html_reply_fallback(formatted)
    localpart_and_server = user_id[1:]
    for href in _HREF.findall(formatted):
        target = unquote(href)
        if target.startswith("https://matrix.to/#/") and target[len("https://matrix.to/#/") :].split("?")[0] == user_id:
            return True
        if target.startswith("matrix:u/") and target[len("matrix:u/") :].split("?")[0] == localpart_and_server:
            return True
    return False


def _leading_name(body: str, names: list[str]) -> str | None:
    """The longest of the bot's names the body starts with, as a whole word (longest: « @manufacture:x.org »
    is not « @manufacture » followed by « : »)."""
    for name in sorted(names, key=len, reverse=True):
        if name and body[: len(name)].casefold() == name.casefold() and not body[len(name) : len(name) + 1].isalnum():
            return name
    return None


def _name_call(body: str, names: list[str]) -> str | None:
    """The body without a leading « Nom : » / « Nom, » call, or None if it does not start with one."""
    name = _leading_name(body, names)
    if name is None:
        return None
    rest = body[len(name) :].lstrip()
    return rest[1:].strip() if rest[:1] in (":", ",") else None


def strip_call(body: str, names: list[str]) -> str:
    """« Manufacture : c'est quand ? » → « c'est quand ? »; a pill's leading name goes the same way."""
    name = _leading_name(body, names)
    if name is None:
        return body
    rest = body[len(name) :].lstrip()
    return (rest[1:] if rest[:1] in (":", ",") else rest).strip()


@dataclass(frozen=True)
class Addressing:
    bot_user_id: str
    prefix: str

    def names(self, display_name: str | None) -> list[str]:
        localpart = self.bot_user_id[1:].split(":", 1)[0]
        return [n for n in (display_name, self.bot_user_id, "@" + localpart) if n]

    def is_addressed(
        self,
        body: str,
        content: dict,
        *,
        display_name: str | None,
        is_direct: bool,
        replies_to_bot: bool,
        in_bot_thread: bool,
    ) -> bool:
        return (
            is_direct
            or body.startswith(self.prefix)
            or mentions_user(content, self.bot_user_id)
            or _name_call(body, self.names(display_name)) is not None
            or replies_to_bot
            or in_bot_thread
        )
