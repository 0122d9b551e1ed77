"""Ingestion into the database, and the in-memory index searched at question time.

Ingestion is incremental: a document whose bytes did not change is not even parsed, a chunk whose
embedded text (and model) did not change keeps its stored vector, and documents that vanished from
an ingested folder lose their chunks. That makes re-indexing the shipped pack at every start cheap.

The in-memory index holds, per collection, a float32 matrix of chunk vectors (dense search is one
matrix product) and a BM25 index; both are rebuilt from the database, the source of truth.
"""
from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
from sqlmodel import col, delete, select
from tqdm import tqdm

from knowledge.chunking import Chunk, ChunkingOptions, chunk_document, embedding_text
from knowledge.embedders import Embedder
from knowledge.lexical import FrenchAnalyzer, LexicalIndex
from knowledge.normalise import QueryNormaliser, Vocabulary
from knowledge.readers import SUPPORTED_SUFFIXES, Document, read_document
from storage.database import Database
from storage.knowledge import KnowledgeChunk, KnowledgeDocument, utcnow

EMBED_BATCH = 16
# Part of every document hash: bump it when the readers or the chunker change what a file yields,
# so that unchanged files are parsed and chunked again (vectors of unchanged chunks are still reused).
PIPELINE_VERSION = "1"


# --- Ingestion ----------------------------------------------------------------------------------

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

    def merge(self, other: "IngestReport") -> "IngestReport":
        for name in ("documents", "documents_changed", "documents_removed", "chunks_added",
                     "chunks_reused", "chunks_removed", "embed_seconds", "seconds"):
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
    files = sorted(p for p in root.rglob("*")
                   if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES and not p.name.startswith("."))
    return [SourceFile(p, f"{root.name}/{p.relative_to(root).as_posix()}", str(root)) for p in files]


def pack_sources(folder: Path, root: str = "pack:referentiel") -> list[SourceFile]:
    """The shipped pack: sources are bare file names and the root is a fixed label, so moving the
    installation (a new virtualenv) does not look like a new set of documents."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
    return [SourceFile(p, p.relative_to(folder).as_posix(), root) for p in files]


class Ingestor:
    """Brings the database in line with a set of files, embedding only what changed. Blocking."""

    def __init__(self, db: Database, embedder: Embedder, *,
                 options: ChunkingOptions = ChunkingOptions(), progress: bool | None = None) -> None:
        self.db = db
        self.embedder = embedder
        self.options = options
        # None: show a progress bar only on a terminal (not in logs, tests or CI).
        self.progress = progress

    def ingest(self, files: Iterable[SourceFile], collection: str, *,
               roots: Iterable[str] | None = None) -> IngestReport:
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
        plan = self._plan_chunks(SourceFile(Path(document.source), document.source, root), doc_hash,
                                 document, collection)
        self._apply(plan, collection, report, None)
        report.seconds = time.perf_counter() - started
        return report

    def reembed_stale(self, collections: Iterable[str] | None = None) -> int:
        """Re-embed chunks stored with another model (the configured backend changed). Returns count."""
        with self.db.session() as session:
            query = select(KnowledgeChunk).where(KnowledgeChunk.embedder != self.embedder.name)
            if collections is not None:
                query = query.where(col(KnowledgeChunk.collection).in_(list(collections)))
            stale = session.exec(query).all()
        with tqdm(total=len(stale), unit="passage", desc="Ré-encodage", disable=self._no_progress(len(stale))) as bar:
            for start in range(0, len(stale), EMBED_BATCH):
                batch = stale[start:start + EMBED_BATCH]
                vectors = self.embedder.embed_passages(
                    [embedding_text(c.heading_path, c.text) for c in batch])
                with self.db.session() as session:
                    for chunk, vector in zip(batch, vectors):
                        chunk.embedding, chunk.embedder = KnowledgeChunk.pack(vector), self.embedder.name
                        session.add(chunk)
                bar.update(len(batch))
        return len(stale)

    # -- steps ---------------------------------------------------------------------------------

    def _plan(self, file: SourceFile, collection: str) -> "_Plan | None":
        digest = hashlib.sha256(file.path.read_bytes())
        digest.update(f"{PIPELINE_VERSION}|{self.options}".encode())
        doc_hash = digest.hexdigest()
        with self.db.session() as session:
            existing = session.exec(select(KnowledgeDocument).where(
                KnowledgeDocument.collection == collection, KnowledgeDocument.source == file.source)).first()
            if existing is not None and existing.doc_hash == doc_hash:
                stale = session.exec(select(KnowledgeChunk.id).where(
                    KnowledgeChunk.collection == collection, KnowledgeChunk.source == file.source,
                    KnowledgeChunk.embedder != self.embedder.name)).first()
                if stale is None:
                    if existing.root != file.root:
                        existing.root = file.root
                        session.add(existing)
                    return None
        document = read_document(file.path, file.source)
        return self._plan_chunks(file, doc_hash, document, collection)

    def _plan_chunks(self, file: SourceFile, doc_hash: str, document: Document, collection: str) -> "_Plan":
        chunks = chunk_document(document, self.options)
        hashes = list({c.content_hash for c in chunks})
        known: dict[str, bytes] = {}
        with self.db.session() as session:
            # Any chunk with the same embedded text and model, whatever its document, lends its vector:
            # renaming or moving a file costs no inference.
            for start in range(0, len(hashes), 500):
                rows = session.exec(select(KnowledgeChunk.content_hash, KnowledgeChunk.embedding).where(
                    col(KnowledgeChunk.content_hash).in_(hashes[start:start + 500]),
                    KnowledgeChunk.embedder == self.embedder.name)).all()
                known.update({h: e for h, e in rows if e})
        missing = [c for c in chunks if c.content_hash not in known]
        return _Plan(file=file, doc_hash=doc_hash, title=document.title, chunks=chunks, known=known,
                     missing=missing)

    def _apply(self, plan: "_Plan", collection: str, report: IngestReport, bar: tqdm | None) -> None:
        vectors = dict(plan.known)
        started = time.perf_counter()
        unique_missing = list({c.content_hash: c for c in plan.missing}.values())
        for start in range(0, len(unique_missing), EMBED_BATCH):
            batch = unique_missing[start:start + EMBED_BATCH]
            embedded = self.embedder.embed_passages([c.embedding_text for c in batch])
            for chunk, vector in zip(batch, embedded):
                vectors[chunk.content_hash] = KnowledgeChunk.pack(vector)
            if bar is not None:
                bar.update(len(batch))
        report.embed_seconds += time.perf_counter() - started
        with self.db.session() as session:
            removed = session.exec(delete(KnowledgeChunk).where(
                KnowledgeChunk.collection == collection, KnowledgeChunk.source == plan.file.source))
            old_count = removed.rowcount or 0
            for chunk in plan.chunks:
                session.add(KnowledgeChunk(
                    collection=collection, source=chunk.source, ordinal=chunk.ordinal, heading=chunk.heading,
                    heading_path=list(chunk.heading_path), text=chunk.text, content_hash=chunk.content_hash,
                    embedding=vectors[chunk.content_hash], embedder=self.embedder.name))
            document = session.exec(select(KnowledgeDocument).where(
                KnowledgeDocument.collection == collection,
                KnowledgeDocument.source == plan.file.source)).first() or KnowledgeDocument(
                collection=collection, source=plan.file.source, root=plan.file.root, doc_hash="")
            document.root, document.title, document.doc_hash = plan.file.root, plan.title, plan.doc_hash
            document.updated_at = utcnow()
            session.add(document)
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
            return len(session.exec(select(KnowledgeChunk.id).where(
                KnowledgeChunk.collection == collection, col(KnowledgeChunk.source).in_(unchanged))).all())

    def _remove_missing(self, collection: str, root: str, seen: set[str], report: IngestReport) -> None:
        with self.db.session() as session:
            gone = session.exec(select(KnowledgeDocument).where(
                KnowledgeDocument.collection == collection, KnowledgeDocument.root == root,
                col(KnowledgeDocument.source).not_in(seen))).all()
            for document in gone:
                result = session.exec(delete(KnowledgeChunk).where(
                    KnowledgeChunk.collection == collection, KnowledgeChunk.source == document.source))
                report.chunks_removed += result.rowcount or 0
                report.documents_removed += 1
                session.delete(document)

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


# --- In-memory index ----------------------------------------------------------------------------

@dataclass(frozen=True)
class IndexedChunk:
    id: int
    collection: str
    source: str
    heading: str
    heading_path: tuple[str, ...]
    text: str


@dataclass
class CollectionIndex:
    name: str
    chunks: list[IndexedChunk]
    # (n, dim) float32, rows L2-normalised: dense scores are one matrix product.
    matrix: np.ndarray
    lexical: LexicalIndex
    # Its words, for rewriting chat-style questions (knowledge.normalise).
    vocabulary: Vocabulary


@dataclass
class Candidate:
    chunk: IndexedChunk
    dense: float  # cosine similarity to the question
    lexical: float  # BM25 score (0 when no shared term)
    fused: float  # the score the ranking used


@dataclass
class Ranking:
    candidates: list[Candidate]
    # Highest cosine over all allowed chunks, ranked first or not: the abstention statistic.
    best_dense: float
    # Every word stem of the question occurs in the allowed chunks, and the best BM25 chunk is
    # among the three best by cosine: lexical evidence that the question is in domain even when
    # the cosine is low, as for a bare acronym (« SCIC »). See knowledge.calibration.
    lexical_support: bool = False


class SearchIndex:
    """Per-collection dense matrices and BM25 indexes, rebuilt from the database. Blocking."""

    def __init__(self, analyzer: FrenchAnalyzer | None = None, *, lexical_weight: float = 0.5) -> None:
        self.analyzer = analyzer or FrenchAnalyzer()
        # Weight of the standardised BM25 score against the standardised cosine in "hybrid"; 0.5 was
        # the best of 0.3/0.5/0.7 on both evaluation sets (bench/retrieval_eval.py).
        self.lexical_weight = lexical_weight
        self.normaliser = QueryNormaliser()
        self._collections: dict[str, CollectionIndex] = {}

    @property
    def collections(self) -> list[str]:
        return sorted(self._collections)

    def size(self, collection: str | None = None) -> int:
        if collection is not None:
            return len(self._collections[collection].chunks) if collection in self._collections else 0
        return sum(len(c.chunks) for c in self._collections.values())

    def load(self, db: Database, embedder_name: str, collections: Iterable[str] | None = None) -> "SearchIndex":
        """(Re)build the given collections (all when None) from the database."""
        with db.session() as session:
            if collections is None:
                collections = list(session.exec(select(KnowledgeChunk.collection).distinct()).all())
                for gone in set(self._collections) - set(collections):
                    del self._collections[gone]
            for name in collections:
                # Plain columns, not ORM objects: loading 50,000 chunks stays a matter of seconds.
                rows = session.exec(select(
                    KnowledgeChunk.id, KnowledgeChunk.collection, KnowledgeChunk.source, KnowledgeChunk.heading,
                    KnowledgeChunk.heading_path, KnowledgeChunk.text, KnowledgeChunk.embedding).where(
                    KnowledgeChunk.collection == name, KnowledgeChunk.embedder == embedder_name)
                    .order_by(KnowledgeChunk.source, KnowledgeChunk.ordinal)).all()
                self.install(name, [(IndexedChunk(r[0], r[1], r[2], r[3], tuple(r[4]), r[5]), r[6]) for r in rows])
        return self

    def install(self, name: str, rows: list[tuple[IndexedChunk, bytes]]) -> None:
        """Replace collection `name` by these chunks and their packed vectors."""
        if not rows:
            self._collections.pop(name, None)
            return
        chunks = [chunk for chunk, _ in rows]
        matrix = np.frombuffer(b"".join(vector for _, vector in rows), dtype="<f4").reshape(len(rows), -1)
        matrix = matrix.astype(np.float32, copy=False)
        texts = [embedding_text(c.heading_path, c.text) for c in chunks]
        lexical = LexicalIndex(self.analyzer).build(texts)
        vocabulary = self.normaliser.vocabulary(texts)
        # One assignment swaps the collection whole, so a concurrent search sees old or new, never half.
        self._collections[name] = CollectionIndex(name, chunks, matrix, lexical, vocabulary)

    def normalise(self, question: str, collections: Iterable[str]) -> str:
        """The question in the written French of the allowed collections (knowledge.normalise):
        only their own words are used, so a tribe's vocabulary never shapes another room's search."""
        vocabularies = [self._collections[c].vocabulary for c in dict.fromkeys(collections) if c in self._collections]
        return self.normaliser.normalise(question, vocabularies)

    def search(self, query_vector: np.ndarray, query_text: str, collections: Iterable[str],
               k: int, method: str = "hybrid") -> Ranking:
        """The best `k` chunks of the allowed collections.

        method "hybrid": cosine and BM25 scores, each standardised over the allowed chunks (z-score),
        summed with `lexical_weight` — a score fusion that, unlike reciprocal rank fusion, keeps how
        far ahead a chunk is (it scored a few points higher than RRF here). "rrf": reciprocal rank
        fusion (k=60). "dense" or "lexical": one signal alone, for the benchmarks.
        """
        parts = [self._collections[c] for c in dict.fromkeys(collections) if c in self._collections]
        if not parts:
            return Ranking([], 0.0)
        dense = np.concatenate([p.matrix @ np.asarray(query_vector, dtype=np.float32) for p in parts])
        terms = self.analyzer.terms(query_text)
        lexical = np.concatenate([p.lexical.scores(terms) for p in parts])

        if method == "dense":
            fused = dense
        elif method == "lexical":
            # The cosine only breaks ties (chunks without any shared term).
            fused = lexical + 1e-6 * dense
        elif method == "hybrid":
            fused = _standardise(dense) + self.lexical_weight * _standardise(lexical)
        elif method == "rrf":
            fused = 1.0 / (60.0 + _ranks(dense)) + 1.0 / (60.0 + _ranks(lexical))
        else:
            raise ValueError(f"unknown search method {method!r}")

        # Where each collection starts in the concatenated scores, to map a position back to its chunk.
        starts = np.cumsum([0] + [len(p.chunks) for p in parts[:-1]])
        results = []
        for i in _top(fused, k):
            slot = int(np.searchsorted(starts, i, side="right")) - 1
            part, row = parts[slot], int(i) - int(starts[slot])
            results.append(Candidate(part.chunks[row], float(dense[i]), float(lexical[i]), float(fused[i])))
        return Ranking(results, float(dense.max()), _lexical_support(terms, parts, dense, lexical))


def _lexical_support(terms: list[str], parts: list[CollectionIndex], dense: np.ndarray,
                     lexical: np.ndarray) -> bool:
    """Whole stems only (n-grams, prefixed « # », match almost anything): an off-topic question
    (« horaires de la piscine municipale ») always had a stem the pack never uses, whereas a
    keyword question (« tiers-garant », « SCIC ») is all pack words — and the two signals agree."""
    stems = {t for t in terms if not t.startswith("#")}
    if not stems or float(lexical.max()) <= 0.0:
        return False
    if not all(any(p.lexical.knows(s) for p in parts) for s in stems):
        return False
    return int(np.argmax(lexical)) in set(_top(dense, 3).tolist())


def _standardise(scores: np.ndarray) -> np.ndarray:
    std = float(scores.std())
    if std == 0.0:
        return np.zeros_like(scores)
    return (scores - scores.mean()) / std


def _ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of every score (1 = highest)."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(scores.size, dtype=np.float64)
    ranks[order] = np.arange(1, scores.size + 1)
    return ranks


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the `n` highest scores, best first (argpartition: O(N), not a full sort)."""
    if n <= 0 or scores.size == 0:
        return np.zeros(0, dtype=np.int64)
    if n < scores.size:
        candidates = np.argpartition(-scores, n - 1)[:n]
    else:
        candidates = np.arange(scores.size)
    return candidates[np.argsort(-scores[candidates], kind="stable")]
