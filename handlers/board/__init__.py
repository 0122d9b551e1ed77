"""The facilitators' web board, chat side: `!tableau` gives a one-time login link in a direct chat.

The board itself (pages, sessions, forms) is HTTP I/O and lives in bot/board/.
"""

from __future__ import annotations

from handlers.board.links import LINK_LIFETIME, LoginLinks
from handlers.context import CommandContext
from handlers.help import BOARD
from handlers.private import in_private
from handlers.registry import CommandNeeding, CommandRegistry
from handlers.replies import Reply

__all__ = ["LoginLinks", "register"]


async def board_link(links: LoginLinks, ctx: CommandContext) -> list[Reply]:
    link = Reply(
        template="board/link.md.j2",
        context={"url": links.url(ctx.message.sender), "minutes": int(LINK_LIFETIME.total_seconds() // 60)},
    )
    # The link logs its holder in: it goes to their direct chat alone, whatever room it was asked in.
    return await in_private(ctx, [link], told="Je vous ai envoyé le lien du tableau de bord en message privé.")


TABLEAU = CommandNeeding(
    name="tableau",
    handler=board_link,
    usage="tableau",
    aliases=("tableau-de-bord",),
    help="Recevoir en message privé un lien (valable 10 minutes, une seule fois) vers le tableau de bord "
    "web de l'équipe d'animation : dépôts, questions, agenda, usage.",
    facilitators_only=True,
    room_kinds=frozenset({"facilitators", "direct"}),
    section=BOARD,
)


def register(registry: CommandRegistry, links: LoginLinks) -> None:
    registry.add(TABLEAU.bind(links))
