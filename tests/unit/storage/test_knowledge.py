"""The knowledge queries: what ingestion reuses, replaces and removes, and what the index loads."""

from __future__ import annotations

from sqlmodel import select

from storage.knowledge import (
    KnowledgeChunk,
    KnowledgeDocument,
    chunks_embedded_otherwise,
    collections_with_chunks,
    count_chunks,
    documents_gone_from,
    index_rows,
    replace_chunks,
    save_document,
    vectors_by_content_hash,
)


def chunk(
    source: str,
    ordinal: int = 0,
    *,
    collection: str = "referentiel",
    content_hash: str = "",
    embedding: bytes = b"v",
    embedder: str = "model:a",
) -> KnowledgeChunk:
    return KnowledgeChunk(
        collection=collection,
        source=source,
        ordinal=ordinal,
        heading=f"H{ordinal}",
        heading_path=["Doc", f"H{ordinal}"],
        text=f"texte {ordinal}",
        content_hash=content_hash or f"{source}#{ordinal}",
        embedding=embedding,
        embedder=embedder,
    )


def test_vectors_are_lent_by_text_and_model_across_documents_and_query_slices(db):
    with db.session() as session:
        # More hashes than one slice of the query asks for.
        session.add_all(chunk(f"doc-{i}.md", content_hash=f"h{i}", embedding=f"v{i}".encode()) for i in range(1200))
        session.add(chunk("autre.md", content_hash="other-model", embedder="model:b"))
        session.add(chunk("vide.md", content_hash="not-embedded", embedding=b""))
    with db.session() as session:
        known = vectors_by_content_hash(
            session, [f"h{i}" for i in range(1200)] + ["other-model", "not-embedded"], "model:a"
        )
    assert len(known) == 1200 and known["h1199"] == b"v1199"


def test_replacing_a_documents_chunks_says_how_many_it_had_and_touches_no_other(db):
    with db.session() as session:
        session.add_all(
            [chunk("a.md", 0), chunk("a.md", 1), chunk("a.md", 2), chunk("b.md"), chunk("a.md", collection="faq")]
        )
    with db.session() as session:
        assert replace_chunks(session, "referentiel", "a.md", [chunk("a.md", 0)]) == 3
    with db.session() as session:
        assert count_chunks(session, "referentiel", ["a.md", "b.md"]) == 2
        assert count_chunks(session, "faq", ["a.md"]) == 1


def test_documents_gone_are_those_of_the_same_root_and_collection_only(db):
    with db.session() as session:
        for collection, source, root in [
            ("referentiel", "pack/a.md", "pack"),
            ("referentiel", "pack/b.md", "pack"),
            ("referentiel", "autre/c.md", "autre"),
            ("faq", "pack/d.md", "pack"),
        ]:
            save_document(session, collection, source, root=root, title="", doc_hash="x")
    with db.session() as session:
        gone = documents_gone_from(session, "referentiel", "pack", {"pack/a.md"})
        assert [d.source for d in gone] == ["pack/b.md"]


def test_saving_a_document_again_updates_it_in_place(db):
    with db.session() as session:
        save_document(session, "referentiel", "a.md", root="old", title="Ancien", doc_hash="1")
    with db.session() as session:
        save_document(session, "referentiel", "a.md", root="new", title="Nouveau", doc_hash="2")
    with db.session() as session:
        [document] = session.exec(select(KnowledgeDocument)).all()
    assert (document.root, document.title, document.doc_hash) == ("new", "Nouveau", "2")


def test_the_index_loads_one_models_chunks_in_document_order(db):
    with db.session() as session:
        session.add_all(
            [
                chunk("b.md", 0),
                chunk("a.md", 1),
                chunk("a.md", 0),
                chunk("c.md", embedder="model:b"),
                chunk("d.md", collection="tribu:nord"),
            ]
        )
    with db.session() as session:
        assert sorted(collections_with_chunks(session)) == ["referentiel", "tribu:nord"]
        rows = index_rows(session, "referentiel", "model:a")
        assert [(source, heading) for _, _, source, heading, *_ in rows] == [
            ("a.md", "H0"),
            ("a.md", "H1"),
            ("b.md", "H0"),
        ]
        assert rows[0][4:] == (["Doc", "H0"], "texte 0", b"v")
        assert [c.source for c in chunks_embedded_otherwise(session, "model:a")] == ["c.md"]
        assert chunks_embedded_otherwise(session, "model:a", ["tribu:nord"]) == []
