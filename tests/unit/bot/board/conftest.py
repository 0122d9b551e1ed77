"""The board's aiohttp application in-process, over a real database and the real handlers: a test
client plays the browser, a recording `post` stands for the bot's sender."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.board.auth import Auth
from bot.board.context import BoardContext
from bot.board.server import BoardServer
from bot.rendering import Renderer, build_template_environment
from handlers.agenda import ReminderService
from handlers.board.links import LoginLinks
from handlers.deposits.form import load_form
from handlers.replies import Post, Reply
from storage.deposits import Deposit
from storage.questions import ForwardedQuestion
from tests.unit.stand_ins import FakeDirectChats

FACILITATOR = "@fanny:test"
ALICE, BOB = "@alice:test", "@bob:test"
SECRET_TITLE = "Projet des élus du canton"


def make_deposit(
    sequence: int,
    *,
    depositor: str = ALICE,
    title: str = "Jardin partagé",
    tribe: str = "Énergie",
    shared: bool = True,
    status: str = "nouveau",
    created: datetime = datetime(2027, 2, 1, 10, tzinfo=UTC),
) -> Deposit:
    return Deposit(
        reference=f"DEP-2027-{sequence:04d}",
        year=2027,
        sequence=sequence,
        title=title,
        tribe=tribe,
        carrier=depositor,
        depositor=depositor,
        status=status,
        visibility="facilitators",
        origin_room_id="!pairs:test" if not shared else "!energie:test",
        origin_confidential=not shared,
        content_shared=shared,
        created_at=created,
        answers={"title": title, "tribe": tribe, "description": f"Description de {title}"},
        history=[{"status": "nouveau", "at": created.isoformat(), "by": depositor, "comment": ""}],
    )


class FakeSearch:
    """Stands for the search service where the board touches it: the FAQ entries added and removed."""

    def __init__(self) -> None:
        self.added: list[tuple[str, str]] = []

    async def add_faq(self, question: str, answer: str) -> str:
        self.added.append((question, answer))
        return f"faq/{len(self.added)}"

    async def remove_faq(self, source: str) -> bool:
        return True


@dataclass
class Board:
    client: TestClient
    links: LoginLinks
    context: BoardContext
    # Delivered by the stand-in sender; `refused` were offered to it while `homeserver_refuses` is set.
    posted: list[Reply]
    refused: list[Reply]
    search: FakeSearch
    direct_chats: FakeDirectChats
    facilitators: set[str] = field(default_factory=lambda: {FACILITATOR})
    homeserver_refuses: bool = False

    async def log_in(self, user: str = FACILITATOR) -> None:
        token = self.links.token(user)
        response = await self.client.post("/connexion", data={"jeton": token}, allow_redirects=False)
        assert response.status == 303, await response.text()

    async def csrf(self, path: str = "/depots") -> str:
        page = await (await self.client.get(path)).text()
        found = re.search(r'name="csrf" value="([^"]+)"', page)
        assert found, f"no CSRF field on {path}"
        return found.group(1)


@pytest.fixture
async def board(make_config, make_services, db, units, clock):
    config = make_config(
        access={"facilitators": [FACILITATOR]},
        board={"listen": "127.0.0.1:8470"},
        rooms=[
            {"id": "!energie:test", "kind": "tribe", "name": "Énergie"},
            {"id": "!pairs:test", "kind": "peer_group", "name": "Pairs élus", "role": "elus"},
        ],
    )
    posted: list[Reply] = []
    refused: list[Reply] = []
    holder: list[Board] = []

    async def post(reply: Reply) -> str | None:
        # As the bot's sender: None for a message refused by the homeserver, or kept for a direct
        # chat its member has not joined.
        if holder[0].homeserver_refuses:
            refused.append(reply)
            return None
        if isinstance(reply.to, Post) and not direct_chats.member_joined(reply.to.room_id):
            posted.append(reply)
            return None
        posted.append(reply)
        return f"$posted{len(posted)}"

    direct_chats = FakeDirectChats()
    search = FakeSearch()
    services = make_services(
        config=config,
        post=post,
        clock=clock,
        direct_chats=direct_chats,
        search=search,
        deposit_form=load_form(config.deposits.form_path),
    )
    with db.session() as session:
        session.add(make_deposit(1))
        session.add(make_deposit(2, depositor=BOB, title=SECRET_TITLE, shared=False))
        session.add(
            ForwardedQuestion(
                room_id="!energie:test",
                room_name="Énergie",
                asker=BOB,
                question="Qui contacter pour un local ?",
                event_id="$asked",
                created_at=clock(),
            )
        )
    links = LoginLinks(b"k" * 32, config.board.base_url, clock)
    facilitators = {FACILITATOR}
    renderer = Renderer(build_template_environment())
    auth = Auth(units, links, config.board, lambda user: user in facilitators, clock)
    context = BoardContext(services, ReminderService(services), auth, renderer.env, renderer)
    client = TestClient(TestServer(BoardServer(context, config.board).application()))
    await client.start_server()
    holder.append(Board(client, links, context, posted, refused, search, direct_chats, facilitators))
    try:
        yield holder[0]
    finally:
        await client.close()
