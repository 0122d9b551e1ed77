"""Chat-style questions are rewritten with the indexed corpus's own words, and only when safe;
keyword questions get lexical support, off-topic ones do not."""
from __future__ import annotations

import numpy as np

from knowledge.index import IndexedChunk, SearchIndex
from knowledge.normalise import QueryNormaliser

CORPUS = ["L'agenda des journées entre pairs, puis l'Agora. Les élus, on comprend.",
          "La SCIC associe habitants et entreprises. Où aller ? À la permanence."]


def _normalise(question: str) -> str:
    normaliser = QueryNormaliser()
    return normaliser.normalise(question, [normaliser.vocabulary(CORPUS)])


def test_sms_abbreviations_and_missing_apostrophes():
    assert _normalise("c koi lagenda") == "c'est quoi l'agenda"
    assert _normalise("jcomprends pk") == "je comprends pourquoi"


def test_accents_restored_only_on_content_words_the_corpus_writes_accented():
    assert _normalise("les journees des elus") == "les journées des élus"
    # « à » and « où » are in the corpus, but « a » and « ou » are words of their own.
    assert _normalise("a ou") == "a ou"


def test_written_french_and_unknown_words_are_left_alone():
    for question in ("C'est quoi la SCIC ?", "Quelle est la capitale de l'Australie ?", "sinon plombier"):
        assert _normalise(question) == question


def _index() -> SearchIndex:
    index = SearchIndex()
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(CORPUS), 8)).astype("<f4")
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows = [(IndexedChunk(i, "referentiel", "s.md", f"H{i}", ("T", f"H{i}"), text), vectors[i].tobytes())
            for i, text in enumerate(CORPUS)]
    index.install("referentiel", rows)
    return index, vectors


def test_lexical_support_needs_every_stem_in_the_corpus():
    index, vectors = _index()
    assert index.search(vectors[1], "SCIC", ["referentiel"], 1).lexical_support
    assert not index.search(vectors[1], "SCIC piscine", ["referentiel"], 1).lexical_support


def test_index_normalises_with_allowed_collections_only():
    index, _ = _index()
    assert index.normalise("lagenda", ["referentiel"]) == "l'agenda"
    assert index.normalise("lagenda", ["tribu:autre"]) == "lagenda"
