"""The whole bot (tests/unit/running_app.py) set up for the deposit tests: two tribes, the facilitators'
room and a peer group, each member's direct chat opened by the bot as it would be; and the steps the
tests take with it."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from sqlmodel import col, select

from bot.devtools.fake_homeserver import Sent
from handlers.deposits.cli import register_cli
from handlers.deposits.form import load_form
from handlers.deposits.machine import FormState
from storage.database import Database
from storage.deposits import Deposit, DepositDraft
from tests.unit.running_app import RunningApp
from tests.unit.stand_ins import Clock

TRIBE_ENERGY = "!energie:test"
TRIBE_FOOD = "!alimentation:test"
FACILITATORS = "!animation:test"
PEERS, PEERS_NAME = "!pairs:test", "Pairs élus"
ALICE, BOB = "@alice:test", "@bob:test"
FACILITATOR = "@fanny:test"

ROOMS = [
    {"id": TRIBE_ENERGY, "kind": "tribe", "name": "Énergie"},
    {"id": TRIBE_FOOD, "kind": "tribe", "name": "Alimentation"},
    {"id": FACILITATORS, "kind": "facilitators", "name": "Animation"},
    {"id": PEERS, "kind": "peer_group", "role": "elus", "name": PEERS_NAME},
]
MEMBERS = {
    TRIBE_ENERGY: [ALICE, BOB, FACILITATOR],
    TRIBE_FOOD: [ALICE, BOB, FACILITATOR],
    FACILITATORS: [FACILITATOR],
    PEERS: [ALICE, BOB],
}


class DepositApp:
    """The running bot, spoken to as the deposit tests do: a room by default, and each member's direct chat."""

    def __init__(self, app: RunningApp) -> None:
        self.app = app
        # Every event the bot sent in answer to the last thing said (polls included).
        self.events: list[Sent] = []

    @property
    def db(self) -> Database:
        return self.app.db

    @property
    def clock(self) -> Clock:
        return self.app.clock

    async def dm(self, user: str) -> str:
        """The member's direct chat: the one the bot opened, or else one the member opens now."""
        return await self.app.direct_chat(user)

    async def say(
        self,
        user: str,
        body: str,
        room: str = TRIBE_ENERGY,
        thread_root: str | None = None,
        event_id: str | None = None,
    ) -> list[Sent]:
        """The messages the bot sent until it was done with the member's message (its direct chat's
        messages included, once the member has joined it); its polls are in `events`."""
        return messages(await self.say_all(user, body, room, thread_root, event_id))

    async def say_all(
        self,
        user: str,
        body: str,
        room: str = TRIBE_ENERGY,
        thread_root: str | None = None,
        event_id: str | None = None,
    ) -> list[Sent]:
        """Every event the bot sent in answer, polls and poll ends included."""
        self.events = await self.app.say(user, room, body, thread_root=thread_root, event_id=event_id)
        return self.events

    async def react(self, user: str, key: str, target: Sent, room: str | None = None) -> list[Sent]:
        """A reaction on one of the bot's messages; in that message's room unless told otherwise."""
        self.events = await self.app.react(user, room or target.room_id, target.event_id, key)
        return messages(self.events)

    async def vote(self, user: str, poll: Sent, answer: str, *, stable: bool = False) -> list[Sent]:
        """A response to one of the bot's polls; every event the bot sent in answer."""
        self.events = await self.app.vote(user, poll, answer, stable=stable)
        return self.events

    def tag(self, sent: Sent) -> str:
        return self.app.tag(sent)

    def tagged(self, sent: list[Sent]) -> Sent:
        """The last of these messages the sender kept with a tag."""
        tagged = [s for s in sent if self.app.tag(s)]
        assert tagged, "no tagged message"
        return tagged[-1]

    def attachment(self, sent: Sent) -> bytes:
        """The file a message of the bot carries, as it was uploaded."""
        return self.app.homeserver.media[sent.content["url"]]

    async def idle_check(self) -> list[Sent]:
        """The scheduler's job on silent forms, run now; what it sent."""
        before = len(self.app.sent)
        await self.app.app.post_idle_draft_reminders()
        await self.app.settle()
        return self.app.sent[before:]


def messages(sent: list[Sent]) -> list[Sent]:
    """The bot's messages among what it sent (not its polls nor their ends)."""
    return [s for s in sent if s.type == "m.room.message"]


def polls(sent: list[Sent]) -> list[Sent]:
    return [s for s in sent if s.type == "org.matrix.msc3381.poll.start"]


def poll_ends(sent: list[Sent]) -> list[Sent]:
    return [s for s in sent if s.type == "org.matrix.msc3381.poll.end"]


MakeDepositApp = Callable[..., AbstractAsyncContextManager[DepositApp]]


def deposit_app_maker(make_test_app: Callable[..., AbstractAsyncContextManager[RunningApp]]) -> MakeDepositApp:
    @asynccontextmanager
    async def make(**options: Any) -> AsyncIterator[DepositApp]:
        options.setdefault("members", MEMBERS)
        options.setdefault("rooms", ROOMS)
        options.setdefault("access", {"facilitators": [FACILITATOR]})
        async with make_test_app(**options) as app:
            yield DepositApp(app)

    return make


# Answers that fill the default form for oneself, in order, for a non-confidential room.
SELF_DEPOSIT = [
    "Cantine bio intercommunale",
    "2",
    "moi",
    "Pays de Lunel",
    "Une cantine qui sert des produits locaux et bio aux écoles du territoire.",
    "partenaires et financement",
    "en préparation",
    "alice@example.org",
    "1",
]


async def fill(h: DepositApp, user: str, answers: list[str]) -> list[Sent]:
    """Answers typed one by one in the member's direct chat; what the bot said to the last one."""
    sent: list[Sent] = []
    for text in answers:
        sent = await h.say(user, text, room=await h.dm(user))
    return sent


async def deposit_through_chat(
    h: DepositApp, user: str = ALICE, room: str = TRIBE_ENERGY, answers: list[str] = SELF_DEPOSIT, root: str = "$root"
) -> None:
    """!deposer typed in `room`; the form itself is filled in the member's direct chat, and confirmed."""
    await h.say(user, "!deposer", room=room, event_id=root)
    await fill(h, user, [*answers, "oui"])


def deposits(h: DepositApp) -> list[Deposit]:
    with h.db.session() as s:
        return list(s.exec(select(Deposit).order_by(col(Deposit.id))))


def drafts(h: DepositApp) -> list[DepositDraft]:
    with h.db.session() as s:
        return list(s.exec(select(DepositDraft).order_by(col(DepositDraft.id))))


def thread_draft_of_the_previous_release(h: DepositApp, status: str = "filling") -> None:
    """A draft as the 2026-12-01 release left it: filled in a thread of the tribe room."""
    state = FormState(
        current="tribe",
        answers={"title": "Cantine bio intercommunale"},
        history=["title"],
        status=status,
        facts={"origin_confidential": False},
        started_at=h.clock.now.isoformat(),
        updated_at=h.clock.now.isoformat(),
    )
    with h.db.session() as session:
        session.add(
            DepositDraft(
                room_id=TRIBE_ENERGY,
                user_id=ALICE,
                thread_root="$old",
                origin_confidential=False,
                state=state.to_json(),
                status=status,
                created_at=h.clock.now,
                updated_at=h.clock.now,
            )
        )


def form_keys() -> tuple[str, ...]:
    return load_form().keys()


def run_cli(argv: list[str]) -> int:
    """`manufacture-bot deposits …` without the rest of the bot's command line."""
    parser = argparse.ArgumentParser(prog="manufacture-bot")
    register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result
