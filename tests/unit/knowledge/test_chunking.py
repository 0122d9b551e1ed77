"""Chunks follow headings, skip heading-only sections and split long sections with overlap."""

from __future__ import annotations

import itertools

from knowledge.chunking import ChunkingOptions, chunk_document, split_text
from knowledge.readers import Document, Section


def _doc(*sections: Section) -> Document:
    return Document(source="guide.md", title="Guide", sections=sections)


def test_chunks_carry_heading_path_and_own_heading():
    doc = _doc(
        Section(("Guide", "Famille engagement"), ""),
        Section(("Guide", "Famille engagement", "Créer la confiance"), "La confiance se gagne lentement."),
    )
    chunks = chunk_document(doc)
    assert len(chunks) == 1  # the heading-only section has no chunk of its own
    chunk = chunks[0]
    assert chunk.heading == "Créer la confiance"
    assert chunk.heading_path == ("Guide", "Famille engagement", "Créer la confiance")
    assert chunk.source == "guide.md"
    # The embedded text names where the passage sits, not only what it says.
    assert chunk.embedding_text.startswith("Guide › Famille engagement › Créer la confiance\n")


def test_content_hash_follows_heading_and_text():
    same = chunk_document(_doc(Section(("Guide", "A"), "Texte.")))[0]
    again = chunk_document(_doc(Section(("Guide", "A"), "Texte.")))[0]
    renamed = chunk_document(_doc(Section(("Guide", "B"), "Texte.")))[0]
    assert same.content_hash == again.content_hash
    assert same.content_hash != renamed.content_hash


def test_long_section_is_split_within_limits_with_overlap():
    sentences = [f"La phrase {i} parle de coopération entre communes voisines du bassin." for i in range(60)]
    text = " ".join(sentences[:30]) + "\n\n" + " ".join(sentences[30:])
    options = ChunkingOptions(target_words=160, max_words=200, overlap_words=30)
    pieces = split_text(text, options)
    assert len(pieces) >= 3
    assert all(len(p.split()) <= options.max_words for p in pieces)
    assert all(len(p.split()) >= 60 for p in pieces)
    # Every sentence survives, and consecutive pieces share at least one sentence.
    joined = " ".join(pieces)
    assert all(s in joined for s in sentences)
    for before, after in itertools.pairwise(pieces):
        first_sentence_of_after = after.split(". ")[0].strip()
        assert first_sentence_of_after in before


def test_short_section_is_kept_whole():
    text = "Un paragraphe court.\n\nUn autre."
    assert split_text(text) == [text]


def test_overlong_sentence_is_cut_by_words():
    text = " ".join(["mot"] * 500)
    pieces = split_text(text, ChunkingOptions(target_words=160, max_words=200, overlap_words=30))
    assert all(len(p.split()) <= 200 for p in pieces)
    assert sum(len(p.split()) for p in pieces) >= 500
