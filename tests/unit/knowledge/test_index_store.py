"""The saved search index: a restart loads it and ranks exactly as a fresh build, a changed
document rebuilds only its collection, a damaged or missing file is rebuilt, files are owner-only."""

from __future__ import annotations

import stat

import pytest

from knowledge.index import SearchIndex
from knowledge.ingestion import Ingestor, discover
from tests.unit.knowledge.helpers import HashingEmbedder

QUESTIONS = ["où est le jardin partagé", "la gestion de l'eau", "réseaux de chaleur", "tiers lieux"]
COLLECTIONS = ["tribu:nord", "tribu:sud"]


@pytest.fixture
def embedder():
    return HashingEmbedder()


@pytest.fixture
def ingested(db, corpus, embedder):
    for collection in COLLECTIONS:
        Ingestor(db, embedder).ingest(discover(corpus), collection)
    return db


@pytest.fixture
def builds(monkeypatch):
    """The collections built from the database (not loaded from the folder), in order."""
    built: list[str] = []
    original = SearchIndex._build

    def spy(self, name, rows, key):
        built.append(name)
        return original(self, name, rows, key)

    monkeypatch.setattr(SearchIndex, "_build", spy)
    return built


def _rankings(index: SearchIndex, embedder) -> list:
    out = []
    for collection in COLLECTIONS:
        for question in QUESTIONS:
            ranking = index.search(embedder.embed_queries([question])[0], question, [collection], 3)
            out.append(
                (
                    [(c.chunk, c.dense, c.lexical, c.fused) for c in ranking.candidates],
                    ranking.best_dense,
                    ranking.lexical_support,
                    index.normalise("lagenda jardins", [collection]),
                )
            )
    return out


def test_a_saved_index_loads_without_rebuilding_and_ranks_identically(ingested, embedder, tmp_path, builds):
    in_memory = _rankings(SearchIndex().load(ingested, embedder.name), embedder)
    assert builds == COLLECTIONS
    folder = tmp_path / "search-index"
    SearchIndex(folder=folder).load(ingested, embedder.name)
    builds.clear()

    restarted = SearchIndex(folder=folder).load(ingested, embedder.name)
    assert builds == []
    assert restarted.collections == COLLECTIONS and restarted.size() == 10
    assert _rankings(restarted, embedder) == in_memory


def test_a_changed_document_rebuilds_only_its_collection(ingested, corpus, embedder, tmp_path, builds):
    folder = tmp_path / "search-index"
    SearchIndex(folder=folder).load(ingested, embedder.name)
    (corpus / "b.txt").write_text("Les composteurs collectifs du quartier.", encoding="utf-8")
    Ingestor(ingested, embedder).ingest(discover(corpus), "tribu:sud")
    builds.clear()

    restarted = SearchIndex(folder=folder).load(ingested, embedder.name)
    assert builds == ["tribu:sud"]
    question = "composteurs collectifs"
    vector = embedder.embed_queries([question])[0]
    assert restarted.search(vector, question, ["tribu:sud"], 1).candidates[0].chunk.text.startswith("Les composteurs")
    assert "composteurs" not in restarted.search(vector, question, ["tribu:nord"], 1).candidates[0].chunk.text
    builds.clear()
    SearchIndex(folder=folder).load(ingested, embedder.name)
    assert builds == []


@pytest.mark.parametrize("damage", ["truncate vectors", "delete bm25 file", "garble manifest", "garble vocabulary"])
def test_a_damaged_or_missing_file_is_rebuilt(ingested, embedder, tmp_path, builds, damage):
    folder = tmp_path / "search-index"
    expected = _rankings(SearchIndex(folder=folder).load(ingested, embedder.name), embedder)
    saved = sorted(p for p in folder.iterdir())
    target = saved[0]
    if damage == "truncate vectors":
        vectors = target / "vectors.npy"
        vectors.write_bytes(vectors.read_bytes()[:-40])
    elif damage == "delete bm25 file":
        (target / "bm25" / "indptr.csc.index.npy").unlink()
    elif damage == "garble manifest":
        (target / "manifest.json").write_text("{not json", encoding="utf-8")
    else:
        (target / "vocabulary.json").write_text("[]", encoding="utf-8")
    builds.clear()

    restarted = SearchIndex(folder=folder).load(ingested, embedder.name)
    assert len(builds) == 1
    assert _rankings(restarted, embedder) == expected
    builds.clear()
    SearchIndex(folder=folder).load(ingested, embedder.name)
    assert builds == []


def test_saved_files_are_owner_only_and_gone_collections_are_removed(ingested, embedder, tmp_path, corpus):
    folder = tmp_path / "search-index"
    SearchIndex(folder=folder).load(ingested, embedder.name)
    entries = list(folder.rglob("*"))
    assert entries
    for entry in entries:
        mode = stat.S_IMODE(entry.stat().st_mode)
        assert mode == (0o700 if entry.is_dir() else 0o600), entry
    assert len(list(folder.iterdir())) == 2

    Ingestor(ingested, embedder).ingest([], "tribu:sud", roots=[str(corpus.resolve())])
    index = SearchIndex(folder=folder).load(ingested, embedder.name)
    assert index.collections == ["tribu:nord"]
    assert len(list(folder.iterdir())) == 1
