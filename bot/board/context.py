"""What every page handler of the board gets: the bot's services, the auth, the templates, and the
way out for messages (the bot's one sender, through Services.post)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web
from jinja2 import Environment

from bot.board.auth import Auth, Visitor
from bot.rendering import Renderer
from handlers.agenda import ReminderService
from handlers.context import Services
from handlers.delivery import Delivery, deliver
from handlers.french import format_count_fr
from handlers.replies import Post, Reply

# Where the guard leaves the logged-in facilitator on the request (a typed key where aiohttp has them).
VISITOR_KEY = web.RequestKey("visitor", Visitor) if hasattr(web, "RequestKey") else "board.visitor"
HTML = "text/html"
# Pages name nothing outside themselves, load nothing from elsewhere and are never cached.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


@dataclass
class BoardContext:
    services: Services
    reminders: ReminderService
    auth: Auth
    env: Environment
    renderer: Renderer
    # One message to show at the next page a session opens ("Réponse envoyée…"), after a redirect.
    flashes: dict[str, str] = field(default_factory=dict)

    def render(self, template: str, status: int = 200, **context: object) -> web.Response:
        body = self.env.get_template(f"board/{template}").render(**context)
        return web.Response(text=body, status=status, content_type=HTML, charset="utf-8", headers=PAGE_HEADERS)

    def page(
        self,
        request: web.Request,
        template: str,
        *,
        section: str,
        status: int = 200,
        error: str = "",
        **context: object,
    ) -> web.Response:
        """A page of the logged-in board: the menu, who is logged in, the form token, one message."""
        visitor = request[VISITOR_KEY]
        return self.render(
            template,
            status=status,
            section=section,
            user_id=visitor.user_id,
            csrf=visitor.csrf_token,
            flash=self.flashes.pop(visitor.session_hash, ""),
            error=error,
            max_length=format_count_fr(self.services.config.bot.max_message_length),
            **context,
        )

    def flash(self, request: web.Request, text: str) -> None:
        self.flashes[request[VISITOR_KEY].session_hash] = text

    def plain(self, markdown: str) -> str:
        """A chat sentence (a handler's acknowledgement or French error, in Markdown) as the page's text."""
        return self.renderer.render(Reply(text=markdown)).plain

    async def send(self, replies: list[Reply]) -> str:
        """What the facilitator who acted reads: the replies meant for them, as plain text. A reply
        addressed to a room is posted through the bot's sender (its confidentiality guard and direct
        chats apply), and one that was not delivered is said so, never passed over."""
        told = []
        for reply in replies:
            if not isinstance(reply.to, Post):
                told.append(self.renderer.render(reply).plain)
            else:
                delivery = await deliver(self.services, reply)
                if delivery is Delivery.FAILED:
                    told.append(
                        "Un message n'a pas pu être envoyé (le serveur Matrix l'a refusé ou n'a pas "
                        "répondu) : réessayez dans un moment."
                    )
                elif delivery is Delivery.WAITING:
                    told.append("Un message attend que son destinataire rejoigne sa conversation privée avec le bot.")
        return " ".join(told)


def visitor(request: web.Request) -> Visitor:
    return request[VISITOR_KEY]


def redirect(location: str) -> web.Response:
    """303 See Other: after a form, the browser comes back with a GET (a reload repeats nothing)."""
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})
