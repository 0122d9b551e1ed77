"""The board as the team reads it on a phone: the usage figures in words, one block per week with
the empty weeks folded; the answered questions kept, with who answered and when, filtered by words;
the agenda naming rooms and feeds; dates typed and shown the French way."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

from bot.board.pages.agenda import feed_name, room_words
from config import FeedConfig
from storage.board import UsageWeek, week_start
from storage.questions import AnswerFeedback, AnswerRecord, ForwardedQuestion
from storage.rooms import RoomRecord
from tests.unit.bot.board.conftest import BOB, FACILITATOR


async def text_of(board, path: str) -> str:
    response = await board.client.get(path)
    assert response.status == 200, (path, await response.text())
    return html.unescape(await response.text())


def section(page: str, start: str, end: str) -> str:
    return page[page.index(start) : page.index(end, page.index(start))]


async def test_usage_figures_are_words_in_one_block_per_busy_week_and_empty_weeks_fold(board, db, clock):
    now = clock()
    with db.session() as session:
        for answered in (True, True, False):
            session.add(
                AnswerRecord(room_id="!energie:test", asker=BOB, question="Q ?", answered=answered, created_at=now)
            )
        session.add(AnswerFeedback(answer_id=1, user_id=BOB, vote="down", created_at=now))
        # A week the purge emptied, five weeks ago: its counts alone remain.
        purged = week_start(now) - timedelta(weeks=5)
        session.add(UsageWeek(week=purged, asked=4, answered=1, forwarded=2, up=3))
    await board.log_in()
    page = await text_of(board, "/usage")
    figures = section(page, "<h2>En chiffres</h2>", "<h2>Dépôts par tribu</h2>")
    assert "<table" not in page
    # The period's totals: this week's rows (one forwarded question in the fixture) and the purged week's.
    totals = re.sub(r"<[^>]+>", "", section(figures, "Sur les 12 semaines", "</section>"))
    for line in (
        "7 questions posées au bot",
        "3 répondues par le bot",
        "4 sans réponse du bot (abstentions)",
        "3 transmises à l'équipe",
        "3 avis « utile » (👍)",
        "1 avis « pas utile » (👎)",
    ):
        assert line in totals, totals
    # Two busy weeks, two blocks, the newest first; the ten others in one line.
    assert figures.count("<details") == 2
    summaries = re.findall(r"<summary>(.*?)</summary>", figures)
    assert summaries[0].endswith("3 questions, 1 transmise, 1 avis") and summaries[1].endswith(
        "4 questions, 2 transmises, 3 avis"
    ), summaries
    quiet = re.search(r"Sans aucune activité : semaines du ([^.]*)\.", figures)
    assert quiet and quiet.group(1).count(",") == 9, figures
    # The votes chart names them in words too.
    assert "👍 utile" in page and "👎 pas utile" in page
    # Deposits by tribe: a line of words, the kept one under no tribe.
    tribes = section(page, "<h2>Dépôts par tribu</h2>", "</main>")
    assert "Énergie</strong> · 1 dépôt" in tribes and "nouveau : 1" in tribes
    assert "sans tribu ou confidentiel</strong> · 1 dépôt" in tribes


async def test_a_quiet_period_says_so_in_one_line(board, db, clock):
    with db.session() as session:
        session.query(ForwardedQuestion).delete()
    await board.log_in()
    figures = section(await text_of(board, "/usage"), "<h2>En chiffres</h2>", "<h2>Dépôts par tribu</h2>")
    assert "<details" not in figures and "Aucune activité ces 12 semaines : semaines du" in figures
    assert "0 question posée au bot" in re.sub(r"<[^>]+>", "", figures)


def answered(
    number: int, question: str, answer: str, by: str, at: datetime, room: str = "Alimentation"
) -> ForwardedQuestion:
    return ForwardedQuestion(
        room_id="!alimentation:test",
        room_name=room,
        asker=BOB,
        question=question,
        event_id=f"$q{number}",
        created_at=at - timedelta(hours=2),
        answer=answer,
        answered_by=by,
        answered_at=at,
    )


async def test_answered_questions_stay_with_who_answered_and_when(board, db, clock):
    await board.log_in()
    page = await text_of(board, "/questions")
    assert "Aucune question n'a encore reçu de réponse" in page
    csrf = await board.csrf("/questions")
    with db.session() as session:
        waiting = session.query(ForwardedQuestion).one().id
    sent = await board.client.post(
        f"/questions/{waiting}/repondre",
        data={"csrf": csrf, "reponse": "La mairie prête une salle.", "destination": "salon"},
    )
    assert sent.status == 200
    page = await text_of(board, "/questions")
    history = section(page, 'id="historique"', 'id="faq"')
    assert "Aucune question n'attend de réponse" in page
    assert "Qui contacter pour un local ?" in history and "La mairie prête une salle." in history
    assert f"Répondue par {FACILITATOR} · " in history and f"Posée par {BOB}" in history
    assert "1 question répondue, de la plus récente à la plus ancienne." in history


async def test_the_history_is_filtered_by_words_whatever_their_accents_and_case(board, db, clock):
    now = clock()
    with db.session() as session:
        session.add(answered(10, "Où trouver la fiche énergie ?", "Dans le référentiel.", FACILITATOR, now))
        session.add(answered(11, "Quand est la réunion ?", "Mardi, salle des fêtes.", "@gael:test", now))
    await board.log_in()
    for typed, found, missing in (
        ("ENERGIE", "fiche énergie", "réunion"),
        ("salle fetes", "réunion", "fiche énergie"),
        ("gael", "réunion", "fiche énergie"),
    ):
        history = section(await text_of(board, f"/questions?cherche={typed}"), 'id="historique"', 'id="faq"')
        assert found in history and missing not in history, typed
        assert f"1 question répondue correspond à « {typed} »" in history
        assert f'value="{typed}"' in history
    nothing = section(await text_of(board, "/questions?cherche=vélo"), 'id="historique"', 'id="faq"')
    assert "Aucune question répondue ne correspond à « vélo »." in nothing and "<article" not in nothing
    too_long = await board.client.get("/questions?cherche=" + "mot " * 60)
    assert too_long.status == 400 and "quelques mots suffisent" in html.unescape(await too_long.text())


async def test_the_history_pages_keep_the_search(board, db, clock):
    now = clock()
    with db.session() as session:
        for number in range(25):
            session.add(
                answered(100 + number, f"Local n°{number} ?", "Oui.", FACILITATOR, now + timedelta(minutes=number))
            )
    await board.log_in()
    first = await text_of(board, "/questions?cherche=local")
    assert "Local n°24 ?" in first and "Local n°4 ?" not in first  # the latest first, twenty a page
    assert "/questions?cherche=local&historique=2#historique" in first
    second = await text_of(board, "/questions?cherche=local&historique=2")
    assert "Local n°4 ?" in second and "Local n°5 ?" not in second
    assert (await board.client.get("/questions?cherche=local&historique=3")).status == 400


async def test_the_agenda_names_rooms_and_feeds_in_words(board, db, clock):
    with db.session() as session:
        session.add(RoomRecord(room_id="!energie:test", kind="tribe", name="Énergie", recorded_order=1))
        session.add(RoomRecord(room_id="!pairs:test", kind="peer_group", name="Pairs élus", recorded_order=2))
        session.add(RoomRecord(room_id="!dm-bob:test", is_direct=True, recorded_order=3))
    due = clock() + timedelta(days=2)
    service = board.context.reminders
    await service.schedule_manual("Pensez à l'atelier.", due, ("tribus",), FACILITATOR)
    await service.schedule_manual("Pour tous.", due, ("tous",), FACILITATOR)
    await service.schedule_manual("Pour un salon.", due, ("!energie:test",), FACILITATOR)
    await board.log_in()
    page = await text_of(board, "/agenda")
    reminders = section(page, "Rappels programmés", "Calendriers en ligne")
    assert "<h2>Toutes les tribus : Énergie</h2>" in reminders
    assert "<h2>Tous les salons : Énergie, Pairs élus</h2>" in reminders
    assert "<h2>Salon « Énergie »</h2>" in reminders
    assert "<h2>tous</h2>" not in reminders and "!energie:test" not in reminders and "!dm-bob" not in reminders


def test_targets_and_feeds_in_words(make_config):
    config = make_config(rooms=[{"id": "!atelier:test", "alias": "#atelier:test", "kind": "tribe", "name": "Atelier"}])
    rooms = [RoomRecord(room_id="!atelier:test", kind="tribe", name="Atelier")]
    assert room_words("pairs", rooms, config) == "Tous les groupes de pairs (aucun salon pour l'instant)"
    assert room_words("#atelier:test", rooms, config) == "Salon « Atelier »"
    assert room_words("!inconnu:test", rooms, config) == "Salon sans nom (!inconnu:test)"
    assert feed_name(FeedConfig(url="/srv/agenda/rencontres_2027.ics")) == "Calendrier « rencontres 2027 »"
    assert feed_name(FeedConfig(url="https://nuage.exemple.org/remote.php/dav/cal.ics")) == (
        "Calendrier de nuage.exemple.org"
    )
    assert feed_name(FeedConfig(url="/srv/a.ics", name="Rencontres des tribus")) == "Rencontres des tribus"


async def test_dates_are_typed_and_shown_the_french_way(board):
    await board.log_in()
    page = await text_of(board, "/depots?du=01/02/2027&au=1/2/2027")
    assert "DEP-2027-0001" in page
    assert 'name="du" value="01/02/2027"' in page and 'name="au" value="01/02/2027"' in page
    assert "Dépôts du lundi 1er février 2027 au lundi 1er février 2027." in page
    assert 'type="date"' not in page and "jj/mm/aaaa" in page
    # The export link carries the same filter, and a date written the ISO way still works.
    assert (
        "export.csv?du=01%2F02%2F2027&amp;au=01%2F02%2F2027"
        in await (await board.client.get("/depots?du=01/02/2027&au=1/2/2027")).text()
    )
    iso = await text_of(board, "/depots?du=2027-02-02")
    assert "Aucun dépôt ne correspond" in iso and 'value="02/02/2027"' in iso
    assert "Dépôts à partir du mardi 2 février 2027." in iso
    assert "Dépôts jusqu'au lundi 1er mars 2027." in await text_of(board, "/depots?au=1.3.2027")
