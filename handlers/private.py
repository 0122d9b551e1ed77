"""Private exchanges happen in the member's direct chat with the bot, never in a shared room.

A form, a member's own listing, a note to one person: the shared room where they asked only hears
that the bot wrote to them privately, with no content.
"""

from __future__ import annotations

from dataclasses import replace

from handlers.context import CommandContext, Services
from handlers.replies import Post, Reply

TOLD_PRIVATELY = "Je vous ai répondu en message privé."
# Said when the member has yet to accept the bot's invitation to the chat.
ACCEPT_INVITATION = " Acceptez mon invitation à notre conversation privée pour lire mon message."


async def private_room(services: Services, user_id: str) -> str:
    """The member's direct chat with the bot, opened (and the member invited) if need be."""
    if services.direct_chats is None:
        raise RuntimeError("direct chats are not wired")
    return await services.direct_chats.room_for(user_id)


def to_member(reply: Reply, room_id: str) -> Reply:
    # Shown to its author alone: no one else reads the chat, so nothing leaves for anyone.
    return replace(reply, to=reply.to if isinstance(reply.to, Post) else Post(room_id), author_consented=True)


def pointer(services: Services, room_id: str, told: str) -> Reply:
    """What the shared room hears: that the bot wrote privately, and nothing of what."""
    joined = services.direct_chats is not None and services.direct_chats.member_joined(room_id)
    return Reply(text=told if joined else told + ACCEPT_INVITATION)


async def in_private(ctx: CommandContext, replies: list[Reply], told: str = TOLD_PRIVATELY) -> list[Reply]:
    """The replies, moved to the sender's direct chat; in a shared room, a content-free pointer there."""
    message = ctx.message
    if message.room.is_direct:
        return replies
    room_id = await private_room(ctx.services, message.sender)
    return [pointer(ctx.services, room_id, told), *[to_member(reply, room_id) for reply in replies]]
