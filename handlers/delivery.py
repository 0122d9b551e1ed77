"""Saying only what happened to a message the bot was asked to write to someone.

Services.post (the bot's one sender) gives the event id, or None when nothing was delivered: a
refusal by the homeserver, a homeserver out of reach, or a message for a direct chat whose member
has not joined yet, which the sender keeps in the database and delivers when they join. deliver()
tells these apart, so that an acknowledgement never says « envoyé » for a message that was not.

What can be prevented is prevented before sending: check_length() refuses a text longer than a
chat message may be (`bot.max_message_length`), with a French sentence saying what to do.
"""

from __future__ import annotations

import enum

from handlers.context import Services
from handlers.french import format_count_fr
from handlers.replies import Post, Reply, UserError


class Delivery(enum.Enum):
    SENT = "sent"
    # Kept by the sender, delivered when the member joins their direct chat.
    WAITING = "waiting"
    FAILED = "failed"


class NotDelivered(UserError):
    """The message a change had to tell someone was not delivered, so the change was not made; the
    French message says what failed, that nothing changed, and what to do."""


# Said after every failure: the bot cannot learn why the homeserver refused, only that it did.
RETRY_ADVICE = (
    "Réessayez dans un moment ; si l'échec se répète, le journal du bot et l'état du serveur Matrix en disent la cause."
)


async def deliver(services: Services, reply: Reply) -> Delivery:
    """Posts a reply addressed to a room (a Post) and says what became of it."""
    if not isinstance(reply.to, Post):
        raise ValueError("deliver() posts to a named room: the reply needs a Post destination")
    # Asked before sending: once the member joins, the sender delivers at once and returns an id.
    waiting = services.direct_chats is not None and not services.direct_chats.member_joined(reply.to.room_id)
    if await services.post(reply):
        return Delivery.SENT
    return Delivery.WAITING if waiting else Delivery.FAILED


def check_length(services: Services, text: str, too_long: str) -> None:
    """Refuses a text longer than a chat message may be; `too_long` says which, agreed in gender
    (« La réponse est trop longue », « Le commentaire est trop long »)."""
    limit = services.config.bot.max_message_length
    if len(text) > limit:
        raise UserError(
            f"{too_long} : {format_count_fr(len(text))} caractères, alors qu'un message "
            f"en compte au plus {format_count_fr(limit)}. Raccourcissez le texte, ou partagez-le "
            "autrement (un document, un lien) ; rien n'a été envoyé ni modifié."
        )
