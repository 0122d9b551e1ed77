"""Ingestion: documents into chunks and vectors in the database, embedding only what changed.

Ingestion is incremental: a document whose bytes did not change is not even parsed, a chunk whose
embedded text (and model) did not change keeps its stored vector, and documents that vanished from
an ingested folder lose their chunks. That makes re-indexing the shipped pack at every start cheap.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Never

from tqdm import tqdm

from knowledge.chunking import Chunk, ChunkingOptions, chunk_document, embedding_text
from knowledge.embedders import Embedder
from knowledge.readers import SUPPORTED_SUFFIXES, Document, read_document
from storage.database import Database
from storage.knowledge import (
    KnowledgeChunk,
    chunks_embedded_otherwise,
    count_chunks,
    delete_document,
    documents_gone_from,
    embedded_by_another_model,
    find_document,
    replace_chunks,
    save_document,
    vectors_by_content_hash,
)

EMBED_BATCH = 16
# Part of every document hash: bump it when the readers or the chunker change what a file yields,
# so that unchanged files are parsed and chunked again (vectors of unchanged chunks are still reused).
PIPELINE_VERSION = "2"  # 2: code keeps its backticks, its examples are not embedded (without_examples)


@dataclass(frozen=True)
class SourceFile:
    path: Path
    # Name stored with the chunks: relative to the ingested folder, prefixed by the folder's name.
    source: str
    # The ingestion root this file was found under (see KnowledgeDocument.root).
    root: str


@dataclass
class IngestReport:
    documents: int = 0
    documents_changed: int = 0
    documents_removed: int = 0
    chunks_added: int = 0
    chunks_reused: int = 0
    chunks_removed: int = 0
    embed_seconds: float = 0.0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def embed_rate(self) -> float:
        """Chunks embedded per second of embedding (0 when nothing was embedded)."""
        return self.chunks_added / self.embed_seconds if self.embed_seconds > 0 else 0.0

    def merge(self, other: IngestReport) -> IngestReport:
        for name in (
            "documents",
            "documents_changed",
            "documents_removed",
            "chunks_added",
            "chunks_reused",
            "chunks_removed",
            "embed_seconds",
            "seconds",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)
        return self


def discover(path: Path) -> list[SourceFile]:
    """The supported files under `path` (a file or a folder), in a stable order."""
    path = path.expanduser()
    if path.is_file():
        return [SourceFile(path, path.name, str(path.resolve()))]
    if not path.is_dir():
        raise FileNotFoundError(path)
    root = path.resolve()
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES and not p.name.startswith(".")
    )
    return [SourceFile(p, f"{root.name}/{p.relative_to(root).as_posix()}", str(root)) for p in files]


def pack_sources(folder: Path, root: str = "pack:referentiel") -> list[SourceFile]:
    """The shipped pack: sources are bare file names and the root is a fixed label, so moving the
    installation (a new virtualenv) does not look like a new set of documents."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
    return [SourceFile(p, p.relative_to(folder).as_posix(), root) for p in files]


# Frozen, so one instance serves as every Ingestor's default.
DEFAULT_CHUNKING = ChunkingOptions()


class Ingestor:
    """Brings the database in line with a set of files, embedding only what changed. Blocking."""

    def __init__(
        self,
        db: Database,
        embedder: Embedder,
        *,
        options: ChunkingOptions = DEFAULT_CHUNKING,
        progress: bool | None = None,
    ) -> None:
        self.db = db
        self.embedder = embedder
        self.options = options
        # None: show a progress bar only on a terminal (not in logs, tests or CI).
        self.progress = progress

    def ingest(
        self, files: Iterable[SourceFile], collection: str, *, roots: Iterable[str] | None = None
    ) -> IngestReport:
        """Index `files` into `collection`. Documents of `roots` (default: the files' roots) that
        are not among `files` any more are removed; pass `roots=()` to only add."""
        started = time.perf_counter()
        files = list(files)
        report = IngestReport(documents=len(files))
        plans = []
        for file in files:
            try:
                plan = self._plan(file, collection)
            except Exception as exc:  # one unreadable file must not stop the others
                report.errors.append(f"{file.source} : {exc}")
                continue
            if plan is None:
                continue
            plans.append(plan)
        # Unchanged documents are counted from the database, without parsing them again.
        report.chunks_reused += self._count_unchanged(files, collection, {p.file.source for p in plans})
        to_embed = sum(len(p.missing) for p in plans)
        with tqdm(total=to_embed, unit="passage", desc="Indexation", disable=self._no_progress(to_embed)) as bar:
            for plan in plans:
                self._apply(plan, collection, report, bar)
        seen = {f.source for f in files}
        for root in set(roots) if roots is not None else {f.root for f in files}:
            self._remove_missing(collection, root, seen, report)
        report.seconds = time.perf_counter() - started
        return report

    def add_document(self, document: Document, collection: str, root: str) -> IngestReport:
        """Index a document built in memory (a FAQ entry), with the same hashing as files."""
        started = time.perf_counter()
        report = IngestReport(documents=1)
        doc_hash = hashlib.sha256(repr((document.title, document.sections)).encode("utf-8")).hexdigest()
        plan = self._plan_chunks(
            SourceFile(Path(document.source), document.source, root), doc_hash, document, collection
        )
        self._apply(plan, collection, report, None)
        report.seconds = time.perf_counter() - started
        return report

    def reembed_stale(self, collections: Iterable[str] | None = None) -> int:
        """Re-embed chunks stored with another model (the configured backend changed). Returns count."""
        with self.db.session() as session:
            stale = chunks_embedded_otherwise(session, self.embedder.name, collections)
        with tqdm(total=len(stale), unit="passage", desc="Ré-encodage", disable=self._no_progress(len(stale))) as bar:
            for start in range(0, len(stale), EMBED_BATCH):
                batch = stale[start : start + EMBED_BATCH]
                vectors = self.embedder.embed_passages([embedding_text(c.heading_path, c.text) for c in batch])
                with self.db.session() as session:
                    for chunk, vector in zip(batch, vectors, strict=True):
                        chunk.embedding, chunk.embedder = KnowledgeChunk.pack(vector), self.embedder.name
                        session.add(chunk)
                bar.update(len(batch))
        return len(stale)

    # -- steps ---------------------------------------------------------------------------------

    def _plan(self, file: SourceFile, collection: str) -> _Plan | None:
        digest = hashlib.sha256(file.path.read_bytes())
        digest.update(f"{PIPELINE_VERSION}|{self.options}".encode())
        doc_hash = digest.hexdigest()
        with self.db.session() as session:
            existing = find_document(session, collection, file.source)
            if (
                existing is not None
                and existing.doc_hash == doc_hash
                and not embedded_by_another_model(session, collection, file.source, self.embedder.name)
            ):
                if existing.root != file.root:
                    existing.root = file.root
                    session.add(existing)
                return None
        document = read_document(file.path, file.source)
        return self._plan_chunks(file, doc_hash, document, collection)

    def _plan_chunks(self, file: SourceFile, doc_hash: str, document: Document, collection: str) -> _Plan:
        chunks = chunk_document(document, self.options)
        hashes = list({c.content_hash for c in chunks})
        with self.db.session() as session:
            # Any chunk with the same embedded text and model, whatever its document, lends its vector:
            # renaming or moving a file costs no inference.
            known = vectors_by_content_hash(session, hashes, self.embedder.name)
        missing = [c for c in chunks if c.content_hash not in known]
        return _Plan(file=file, doc_hash=doc_hash, title=document.title, chunks=chunks, known=known, missing=missing)

    def _apply(self, plan: _Plan, collection: str, report: IngestReport, bar: tqdm[Never] | None) -> None:
        vectors = dict(plan.known)
        started = time.perf_counter()
        unique_missing = list({c.content_hash: c for c in plan.missing}.values())
        for start in range(0, len(unique_missing), EMBED_BATCH):
            batch = unique_missing[start : start + EMBED_BATCH]
            embedded = self.embedder.embed_passages([c.embedding_text for c in batch])
            for chunk, vector in zip(batch, embedded, strict=True):
                vectors[chunk.content_hash] = KnowledgeChunk.pack(vector)
            if bar is not None:
                bar.update(len(batch))
        report.embed_seconds += time.perf_counter() - started
        with self.db.session() as session:
            old_count = replace_chunks(
                session,
                collection,
                plan.file.source,
                [
                    KnowledgeChunk(
                        collection=collection,
                        source=chunk.source,
                        ordinal=chunk.ordinal,
                        heading=chunk.heading,
                        heading_path=list(chunk.heading_path),
                        text=chunk.text,
                        content_hash=chunk.content_hash,
                        embedding=vectors[chunk.content_hash],
                        embedder=self.embedder.name,
                    )
                    for chunk in plan.chunks
                ],
            )
            save_document(
                session, collection, plan.file.source, root=plan.file.root, title=plan.title, doc_hash=plan.doc_hash
            )
        added = len(unique_missing)
        report.documents_changed += 1
        report.chunks_added += added
        report.chunks_reused += len(plan.chunks) - added
        report.chunks_removed += max(0, old_count - len(plan.chunks))

    def _count_unchanged(self, files: list[SourceFile], collection: str, changed: set[str]) -> int:
        unchanged = [f.source for f in files if f.source not in changed]
        if not unchanged:
            return 0
        with self.db.session() as session:
            return count_chunks(session, collection, unchanged)

    def _remove_missing(self, collection: str, root: str, seen: set[str], report: IngestReport) -> None:
        with self.db.session() as session:
            for document in documents_gone_from(session, collection, root, seen):
                report.chunks_removed += delete_document(session, document)
                report.documents_removed += 1

    def _no_progress(self, total: int) -> bool:
        if self.progress is None:
            return total < 50 or not sys.stderr.isatty()
        return not self.progress


@dataclass
class _Plan:
    file: SourceFile
    doc_hash: str
    title: str
    chunks: list[Chunk]
    known: dict[str, bytes]
    missing: list[Chunk]
