"""Tables: the knowledge base — indexed documents and their chunks, with cached embeddings.

The database is the source of truth: the search index is built from these rows (and saved in
data_dir by knowledge.index_store, keyed by their fingerprint), and a chunk's vector is
recomputed only when its text or the embedding model changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

import numpy as np
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, delete, func, select
from sqlmodel.sql.expression import Select

from storage.time import utc_field, utcnow

# Collections searchable from every room; tribe collections are named "tribu:<name>".
REFERENTIEL = "referentiel"
FAQ = "faq"
# Members' real questions, each attached to the section that answers it: never searched on its own,
# read as an extra field of that section (knowledge.index, SearchService.attach_question).
QUESTIONS = "questions"
TRIBE_PREFIX = "tribu:"


def tribe_collection(name: str) -> str:
    return f"{TRIBE_PREFIX}{name}"


class KnowledgeDocument(SQLModel, table=True):
    """A document of the référentiel, a tribe's documents or the FAQ.

    Personal data: none expected (published documents, the facilitators' FAQ). Why: the bot answers from them.
    How long: until removed from the ingested folders."""

    __tablename__ = "knowledge_document"
    __table_args__ = (UniqueConstraint("collection", "source"),)

    id: int | None = Field(default=None, primary_key=True)
    collection: str = Field(index=True)
    # Path relative to the ingested folder (or the file name): what users see as the source.
    source: str
    # Which ingestion root found it (a resolved folder, "pack:referentiel", "faq"): re-ingesting
    # a root removes its documents that disappeared, and only those.
    root: str = Field(index=True)
    title: str = ""
    doc_hash: str
    updated_at: datetime = utc_field(utcnow)


class KnowledgeChunk(SQLModel, table=True):
    """A section of a document, with its embedding.

    Personal data: as its document. How long: as its document."""

    __tablename__ = "knowledge_chunk"

    id: int | None = Field(default=None, primary_key=True)
    collection: str = Field(index=True)
    source: str = Field(index=True)
    ordinal: int = 0
    # The section's own heading as written in the document.
    heading: str
    heading_path: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    text: str
    # sha256 of the embedded text (heading path + text).
    content_hash: str = Field(index=True)
    # float32 little-endian, L2-normalised; `embedder` names the model that produced it.
    embedding: bytes = b""
    embedder: str = ""

    def vector(self) -> np.ndarray:
        return np.frombuffer(self.embedding, dtype="<f4")

    @staticmethod
    def pack(vector: np.ndarray) -> bytes:
        return np.asarray(vector, dtype="<f4").tobytes()


# --- Queries ------------------------------------------------------------------------------------

# SQLite caps the bound parameters of one statement, so long IN lists are asked in slices.
_IN_SLICE = 500


def find_document(session: Session, collection: str, source: str) -> KnowledgeDocument | None:
    return session.exec(
        select(KnowledgeDocument).where(KnowledgeDocument.collection == collection, KnowledgeDocument.source == source)
    ).first()


def save_document(
    session: Session, collection: str, source: str, *, root: str, title: str, doc_hash: str
) -> KnowledgeDocument:
    """Record that `source` was indexed from `root` with this content hash."""
    document = find_document(session, collection, source) or KnowledgeDocument(
        collection=collection, source=source, root=root, doc_hash=""
    )
    document.root, document.title, document.doc_hash = root, title, doc_hash
    document.updated_at = utcnow()
    session.add(document)
    return document


def documents_gone_from(session: Session, collection: str, root: str, present: set[str]) -> list[KnowledgeDocument]:
    """The documents `root` gave to `collection` whose source is not among `present` any more."""
    return list(
        session.exec(
            select(KnowledgeDocument)
            .where(
                KnowledgeDocument.collection == collection,
                KnowledgeDocument.root == root,
                col(KnowledgeDocument.source).not_in(present),
            )
            .order_by(KnowledgeDocument.source)
        ).all()
    )


def delete_document(session: Session, document: KnowledgeDocument) -> int:
    """Remove a document and its chunks; returns how many chunks went."""
    removed = _delete_chunks(session, document.collection, document.source)
    session.delete(document)
    return removed


def replace_chunks(session: Session, collection: str, source: str, chunks: list[KnowledgeChunk]) -> int:
    """The chunks of `source` become `chunks`; returns how many it had before."""
    removed = _delete_chunks(session, collection, source)
    session.add_all(chunks)
    return removed


def count_chunks(session: Session, collection: str, sources: list[str]) -> int:
    return session.exec(
        select(func.count())
        .select_from(KnowledgeChunk)
        .where(KnowledgeChunk.collection == collection, col(KnowledgeChunk.source).in_(sources))
    ).one()


def embedded_by_another_model(session: Session, collection: str, source: str, embedder: str) -> bool:
    return (
        session.exec(
            select(KnowledgeChunk.id).where(
                KnowledgeChunk.collection == collection,
                KnowledgeChunk.source == source,
                KnowledgeChunk.embedder != embedder,
            )
        ).first()
        is not None
    )


def vectors_by_content_hash(session: Session, content_hashes: list[str], embedder: str) -> dict[str, bytes]:
    """The stored vectors `embedder` made for these embedded texts, whatever their document."""
    known: dict[str, bytes] = {}
    for start in range(0, len(content_hashes), _IN_SLICE):
        rows = session.exec(
            select(KnowledgeChunk.content_hash, KnowledgeChunk.embedding).where(
                col(KnowledgeChunk.content_hash).in_(content_hashes[start : start + _IN_SLICE]),
                KnowledgeChunk.embedder == embedder,
            )
        ).all()
        known.update({content_hash: vector for content_hash, vector in rows if vector})
    return known


def chunks_embedded_otherwise(
    session: Session, embedder: str, collections: Iterable[str] | None = None
) -> list[KnowledgeChunk]:
    """The chunks (of these collections, or all) whose stored vector another model made."""
    query = select(KnowledgeChunk).where(KnowledgeChunk.embedder != embedder)
    if collections is not None:
        query = query.where(col(KnowledgeChunk.collection).in_(list(collections)))
    return list(session.exec(query).all())


def collections_with_chunks(session: Session) -> list[str]:
    return list(session.exec(select(KnowledgeChunk.collection).distinct().order_by(KnowledgeChunk.collection)).all())


def index_rows(
    session: Session, collection: str, embedder: str
) -> list[tuple[int, str, str, str, list[str], str, bytes]]:
    """(id, collection, source, heading, heading_path, text, embedding) of the chunks `embedder`
    encoded, in document order. Plain columns, not ORM objects: loading 50,000 chunks stays a
    matter of seconds."""
    # sqlmodel's select() is typed for four columns at most: the row type is stated here instead.
    columns: Select[int, str, str, str, list[str], str, bytes] = Select(
        col(KnowledgeChunk.id),
        col(KnowledgeChunk.collection),
        col(KnowledgeChunk.source),
        col(KnowledgeChunk.heading),
        col(KnowledgeChunk.heading_path),
        col(KnowledgeChunk.text),
        col(KnowledgeChunk.embedding),
    )
    query = columns.where(KnowledgeChunk.collection == collection, KnowledgeChunk.embedder == embedder)
    return list(session.exec(query.order_by(col(KnowledgeChunk.source), col(KnowledgeChunk.ordinal))).all())


def index_fingerprint(session: Session, collection: str, embedder: str) -> str:
    """A digest of what the search index of `collection` is made of (the chunks `embedder` encoded,
    in index order): re-ingesting a changed document gives its chunks new ids, so the digest moves."""
    digest = hashlib.sha256()
    rows = session.exec(
        select(KnowledgeChunk.id, KnowledgeChunk.source, KnowledgeChunk.content_hash)
        .where(KnowledgeChunk.collection == collection, KnowledgeChunk.embedder == embedder)
        .order_by(col(KnowledgeChunk.source), col(KnowledgeChunk.ordinal))
    )
    for chunk_id, source, content_hash in rows:
        digest.update(f"{chunk_id}\x1f{source}\x1f{content_hash}\x1e".encode())
    return digest.hexdigest()


def chunk_paths(session: Session, collections: list[str]) -> list[tuple[int, str, list[str]]]:
    """(id, collection, heading_path) of every chunk of these collections."""
    columns: Select[int, str, list[str]] = Select(
        col(KnowledgeChunk.id), col(KnowledgeChunk.collection), col(KnowledgeChunk.heading_path)
    )
    return list(session.exec(columns.where(col(KnowledgeChunk.collection).in_(collections))).all())


def chunks_by_id(session: Session, ids: list[int]) -> list[tuple[int, str, str, str, list[str], str]]:
    """(id, collection, source, heading, heading_path, text) of these chunks, those that still exist."""
    # sqlmodel's select() is typed for four columns at most: the row type is stated here instead.
    columns: Select[int, str, str, str, list[str], str] = Select(
        col(KnowledgeChunk.id),
        col(KnowledgeChunk.collection),
        col(KnowledgeChunk.source),
        col(KnowledgeChunk.heading),
        col(KnowledgeChunk.heading_path),
        col(KnowledgeChunk.text),
    )
    rows: list[tuple[int, str, str, str, list[str], str]] = []
    for start in range(0, len(ids), _IN_SLICE):
        rows.extend(session.exec(columns.where(col(KnowledgeChunk.id).in_(ids[start : start + _IN_SLICE]))).all())
    return rows


def document_sections(session: Session, documents: Iterable[tuple[str, str]]) -> list[tuple[str, str, list[str], str]]:
    """(collection, source, heading_path, text) of every chunk of these (collection, source) documents,
    each document's in its order: what its outline is rebuilt from (knowledge.outline)."""
    rows: list[tuple[str, str, list[str], str]] = []
    for collection, source in dict.fromkeys(documents):
        found = session.exec(
            select(KnowledgeChunk.heading_path, KnowledgeChunk.text)
            .where(KnowledgeChunk.collection == collection, KnowledgeChunk.source == source)
            .order_by(col(KnowledgeChunk.ordinal))
        ).all()
        rows.extend((collection, source, list(path), text) for path, text in found)
    return rows


def _delete_chunks(session: Session, collection: str, source: str) -> int:
    result = session.exec(
        delete(KnowledgeChunk).where(col(KnowledgeChunk.collection) == collection, col(KnowledgeChunk.source) == source)
    )
    return result.rowcount or 0


def faq_entries(session: Session) -> list[tuple[str, str, str]]:
    """(source, question, answer) of every FAQ entry, questions in alphabetical order. An entry is one
    chunk whose heading is the question (knowledge.search.SearchService.add_faq)."""
    rows = session.exec(
        select(KnowledgeChunk.source, KnowledgeChunk.heading, KnowledgeChunk.text)
        .where(KnowledgeChunk.collection == FAQ)
        .order_by(col(KnowledgeChunk.heading), col(KnowledgeChunk.ordinal))
    ).all()
    seen: dict[str, tuple[str, str, str]] = {}
    for source, heading, text in rows:
        seen.setdefault(source, (source, heading, text))
    return list(seen.values())
