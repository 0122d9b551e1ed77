"""Multi-vector chunks: a chunk also scores as its best sentence, so that a question matching one
sentence of a long passage finds it; the sentence vectors are saved with the index and shared with
the excerpts' cache."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge import index as index_module
from knowledge.excerpts import SentenceVectors
from knowledge.index import SearchIndex
from knowledge.ingestion import Ingestor, discover
from knowledge.search import SearchService
from storage.database import Database
from tests.unit.knowledge.helpers import HashingEmbedder

# The answer is one sentence of a long passage about something else; a short passage shares a word.
LONG = (
    "Le compost collectif se fait au pied des immeubles. "
    "La mobilité douce passe par les vélos cargo. Les pistes cyclables relient les bourgs. "
    "Les navettes électriques desservent la gare. Le covoiturage réduit les trajets solitaires. "
    "Les bornes de recharge équipent les parkings."
)
SHORT = "Le compost individuel, au jardin."
QUESTION = "compost collectif au pied des immeubles"


@pytest.fixture
def embedder():
    return HashingEmbedder()


@pytest.fixture
def ingested(db, tmp_path, embedder):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "long.txt").write_text(LONG, encoding="utf-8")
    (folder / "short.txt").write_text(SHORT, encoding="utf-8")
    Ingestor(db, embedder).ingest(discover(folder), "referentiel")
    return db


def _ranked(index: SearchIndex, embedder) -> list[str]:
    ranking = index.search(embedder.embed_queries([QUESTION])[0], QUESTION, ["referentiel"], 2)
    return [c.chunk.source.rsplit("/", 1)[-1] for c in ranking.candidates]


def test_a_sentence_that_answers_lifts_its_long_passage(ingested, embedder, tmp_path):
    # Dense signals only, so that BM25 (which would find the long passage anyway) does not decide.
    plain = SearchIndex(lexical_weight=0.0).load(ingested, embedder.name)
    assert _ranked(plain, embedder)[0] == "short.txt"
    multi = SearchIndex(lexical_weight=0.0, sentences=SentenceVectors(embedder), sentence_weight=1.0)
    assert _ranked(multi.load(ingested, embedder.name), embedder)[0] == "long.txt"


def test_best_sentence_is_the_highest_cosine_among_each_chunks_own_sentences(ingested, embedder):
    index = SearchIndex(sentences=SentenceVectors(embedder)).load(ingested, embedder.name)
    collection = index._collections["referentiel"]
    assert collection.sentences is not None and collection.sentence_starts is not None
    assert collection.sentence_starts.tolist() == [0, 6]  # six sentences in long.txt, then short.txt's one
    query = embedder.embed_queries([QUESTION])[0]
    own = collection.matrix @ query
    best = collection.best_sentences(query, own)
    answer = embedder.embed_passages(["Le compost collectif se fait au pied des immeubles."])[0]
    assert best[0] == pytest.approx(float(answer @ query), abs=1e-6)
    assert best[1] == pytest.approx(float(embedder.embed_passages([SHORT])[0] @ query), abs=1e-6)
    # The long passage's own vector dilutes its answer; its best sentence does not.
    assert best[0] > own[0] + 0.2


def test_sentence_vectors_are_saved_with_the_index_and_not_embedded_again(ingested, embedder, tmp_path):
    folder = tmp_path / "index"
    first = SearchIndex(folder=folder, sentences=SentenceVectors(embedder)).load(ingested, embedder.name)
    before = _ranked(first, embedder)
    embedded = len(embedder.passages_embedded)
    restarted = SearchIndex(folder=folder, sentences=SentenceVectors(embedder)).load(ingested, embedder.name)
    assert len(embedder.passages_embedded) == embedded
    assert restarted._collections["referentiel"].sentences is not None
    assert _ranked(restarted, embedder) == before
    # An index saved without sentence vectors is not taken for one with them.
    SearchIndex(folder=folder).load(ingested, embedder.name)
    again = SearchIndex(folder=folder, sentences=SentenceVectors(embedder)).load(ingested, embedder.name)
    assert len(embedder.passages_embedded) > embedded
    assert again._collections["referentiel"].sentences is not None


def test_a_collection_with_too_many_sentences_ranks_as_without_them(ingested, embedder, monkeypatch):
    monkeypatch.setattr(index_module, "MAX_SENTENCES", 3)
    index = SearchIndex(sentences=SentenceVectors(embedder)).load(ingested, embedder.name)
    assert index._collections["referentiel"].sentences is None
    plain = SearchIndex().load(ingested, embedder.name)
    query = embedder.embed_queries([QUESTION])[0]
    fused = [c.fused for c in index.search(query, QUESTION, ["referentiel"], 2).candidates]
    assert np.allclose(fused, [c.fused for c in plain.search(query, QUESTION, ["referentiel"], 2).candidates])


def test_the_service_embeds_sentences_once_for_the_index_and_the_excerpts(tmp_path, embedder):
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "long.txt").write_text(LONG, encoding="utf-8")
    in_memory = SearchService(Database.in_dir(tmp_path / "a"), embedder, pack_dir=pack)
    in_memory.start_sync()
    # Without a folder to save them to, the index goes without (a start would embed them every time).
    assert in_memory.index._collections["referentiel"].sentences is None
    saved = SearchService(Database.in_dir(tmp_path / "b"), embedder, pack_dir=pack, index_dir=tmp_path / "index")
    saved.start_sync()
    assert saved.index._collections["referentiel"].sentences is not None
    embedded = len(embedder.passages_embedded)
    # Quoting the section needs no new embedding: the index filled the excerpts' cache.
    saved.composer.chooser.vectors(["Le compost collectif se fait au pied des immeubles."])
    assert len(embedder.passages_embedded) == embedded
