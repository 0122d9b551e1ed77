"""Incremental ingestion: unchanged documents cost nothing, changed ones re-embed only their new
chunks, removed ones disappear."""

from __future__ import annotations

from sqlmodel import select

from knowledge.ingestion import Ingestor, discover
from storage.knowledge import KnowledgeChunk, KnowledgeDocument
from tests.unit.knowledge.helpers import HashingEmbedder


def _chunks(db, collection="tribu:nord"):
    with db.session() as session:
        return session.exec(select(KnowledgeChunk).where(KnowledgeChunk.collection == collection)).all()


def test_every_format_is_ingested_and_reingesting_embeds_nothing(db, corpus):
    embedder = HashingEmbedder()
    first = Ingestor(db, embedder).ingest(discover(corpus), "tribu:nord")
    assert first.documents == 4 and not first.errors
    assert first.chunks_added == 5
    headings = sorted(c.heading for c in _chunks(db))
    assert headings == ["1. Énergie", "Deux", "Eau", "Un", "b"]
    assert {c.source for c in _chunks(db)} == {"docs/a.md", "docs/b.txt", "docs/c.html", "docs/d.pdf"}

    embedder.passages_embedded.clear()
    again = Ingestor(db, embedder).ingest(discover(corpus), "tribu:nord")
    assert embedder.passages_embedded == []
    assert (again.chunks_added, again.chunks_reused, again.documents_changed) == (0, 5, 0)


def test_changed_document_reembeds_only_its_changed_chunks(db, corpus):
    embedder = HashingEmbedder()
    Ingestor(db, embedder).ingest(discover(corpus), "tribu:nord")
    (corpus / "a.md").write_text(
        "# Alpha\n\n## Un\n\nLe jardin partagé.\n\n## Deux\n\nLe vélo partout.\n", encoding="utf-8"
    )
    embedder.passages_embedded.clear()
    report = Ingestor(db, embedder).ingest(discover(corpus), "tribu:nord")
    assert embedder.passages_embedded == ["Alpha › Deux\nLe vélo partout."]
    assert (report.documents_changed, report.chunks_added) == (1, 1)
    texts = {c.heading: c.text for c in _chunks(db)}
    assert texts["Deux"] == "Le vélo partout."


def test_removed_document_loses_its_chunks_and_other_collections_are_untouched(db, corpus):
    embedder = HashingEmbedder()
    Ingestor(db, embedder).ingest(discover(corpus), "tribu:nord")
    Ingestor(db, embedder).ingest(discover(corpus / "b.txt"), "referentiel")
    (corpus / "c.html").unlink()
    report = Ingestor(db, embedder).ingest(discover(corpus), "tribu:nord")
    assert report.documents_removed == 1 and report.chunks_removed == 1
    assert "docs/c.html" not in {c.source for c in _chunks(db)}
    with db.session() as session:
        assert session.exec(select(KnowledgeDocument).where(KnowledgeDocument.source == "docs/c.html")).first() is None
    assert len(_chunks(db, "referentiel")) == 1


def test_moved_text_reuses_its_vector(db, tmp_path, corpus):
    embedder = HashingEmbedder()
    Ingestor(db, embedder).ingest(discover(corpus), "tribu:nord")
    other = tmp_path / "copie"
    other.mkdir()
    (other / "a.md").write_text((corpus / "a.md").read_text(encoding="utf-8"), encoding="utf-8")
    embedder.passages_embedded.clear()
    Ingestor(db, embedder).ingest(discover(other), "tribu:nord")
    assert embedder.passages_embedded == []


def test_changing_the_model_reembeds_everything(db, corpus):
    Ingestor(db, HashingEmbedder("fake:one")).ingest(discover(corpus), "tribu:nord")
    second = HashingEmbedder("fake:two")
    assert Ingestor(db, second).reembed_stale() == 5
    assert {c.embedder for c in _chunks(db)} == {"fake:two"}
    assert len(second.passages_embedded) == 5


def test_unreadable_file_is_reported_and_others_still_indexed(db, corpus):
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a pdf")
    report = Ingestor(db, HashingEmbedder()).ingest(discover(corpus), "tribu:nord")
    assert len(report.errors) == 1 and "broken.pdf" in report.errors[0]
    assert report.chunks_added == 5
