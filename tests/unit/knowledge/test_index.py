"""The in-memory index: it mirrors the database and ranks by each method, reads a keyword question's
lexical support, and normalises questions with the allowed collections' words only."""

from __future__ import annotations

import numpy as np

from knowledge.index import SearchIndex
from knowledge.ingestion import Ingestor, discover
from tests.unit.knowledge.helpers import HashingEmbedder

CORPUS = [
    "L'agenda des journées entre pairs, puis l'Agora. Les élus, on comprend.",
    "La SCIC associe habitants et entreprises. Où aller ? À la permanence.",
]


def test_search_index_mirrors_database_and_ranks_the_matching_chunk(db, corpus):
    embedder = HashingEmbedder()
    Ingestor(db, embedder).ingest(discover(corpus), "tribu:nord")
    index = SearchIndex().load(db, embedder.name)
    assert index.collections == ["tribu:nord"] and index.size() == 5
    question = "où est le jardin partagé"
    for method in ("dense", "lexical", "hybrid", "rrf"):
        ranking = index.search(embedder.embed_queries([question])[0], question, ["tribu:nord"], 3, method=method)
        assert ranking.candidates[0].chunk.heading == "Un", method
    assert index.search(np.ones(embedder.dim), question, ["referentiel"], 3).candidates == []


def _index(db, tmp_path) -> tuple[SearchIndex, np.ndarray]:
    """CORPUS as the référentiel, one file per text, and each text's own query vector."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for i, text in enumerate(CORPUS):
        (folder / f"s{i}.txt").write_text(text, encoding="utf-8")
    embedder = HashingEmbedder()
    Ingestor(db, embedder).ingest(discover(folder), "referentiel")
    return SearchIndex().load(db, embedder.name), embedder.embed_queries(CORPUS)


def test_lexical_support_needs_every_stem_in_the_corpus(db, tmp_path):
    index, vectors = _index(db, tmp_path)
    assert index.search(vectors[1], "SCIC", ["referentiel"], 1).lexical_support
    assert not index.search(vectors[1], "SCIC piscine", ["referentiel"], 1).lexical_support


def test_a_question_none_of_whose_stems_the_corpus_uses_is_foreign(db, tmp_path):
    index, vectors = _index(db, tmp_path)
    assert index.search(vectors[1], "Comment remplir ma déclaration d'impôts ?", ["referentiel"], 1).foreign
    assert not index.search(vectors[1], "Comment payer les impôts de la SCIC ?", ["referentiel"], 1).foreign
    # Nothing but stop words: nothing to judge by.
    assert not index.search(vectors[1], "et avec eux ?", ["referentiel"], 1).foreign


def test_index_normalises_with_allowed_collections_only(db, tmp_path):
    index, _ = _index(db, tmp_path)
    assert index.normalise("lagenda", ["referentiel"]) == "l'agenda"
    assert index.normalise("lagenda", ["tribu:autre"]) == "lagenda"
