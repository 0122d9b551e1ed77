"""Tables: the knowledge base — indexed documents and their chunks, with cached embeddings.

The database is the source of truth: the in-memory search index is rebuilt from these rows at
start, and a chunk's vector is recomputed only when its text or the embedding model changed.
"""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

# Collections searchable from every room; tribe collections are named "tribu:<name>".
REFERENTIEL = "referentiel"
FAQ = "faq"
TRIBE_PREFIX = "tribu:"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def tribe_collection(name: str) -> str:
    return f"{TRIBE_PREFIX}{name}"


class KnowledgeDocument(SQLModel, table=True):
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
    updated_at: datetime = Field(default_factory=utcnow)


class KnowledgeChunk(SQLModel, table=True):
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
