"""The sentences of a section that answer a question: what the reply shows instead of the section's head.

Each sentence is scored against the question by the embedder (the question's vector, the sentence's)
and by BM25 over the section's sentences (knowledge.lexical), both standardised within the section
and summed as the search sums them; the best are kept, whole and in document order, with the
section's opening sentence when theirs leans on it (« Elle regroupe… »). A short section is shown
whole. Sentence vectors are computed once per sentence, when a section is first quoted, and kept.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from knowledge.chunking import split_sentences
from knowledge.folding import fold_accents
from knowledge.lexical import FrenchAnalyzer, LexicalIndex

# A section this short (in words) is the answer as it stands: choosing inside it would only drop context.
SHORT_SECTION_WORDS = 110
# How much of a long section an excerpt may hold, in words (its best sentence always, however long).
EXCERPT_WORDS = 90
# How far below the best sentence (in standardised score) another may be and still be shown.
SENTENCE_MARGIN = 1.0
# Sentence vectors kept (about 1.5 KB each): the oldest go first beyond this many.
KEPT_SENTENCES = 20_000
# The search's weight of BM25 against the cosine (knowledge.index.SearchIndex.lexical_weight).
LEXICAL_WEIGHT = 0.5
# A sentence opening with one of these leans on the one before it: the section's opening sentence
# comes with it so that it can be understood.
LEANING_WORDS = {
    "il",
    "elle",
    "ils",
    "elles",
    "ce",
    "cet",
    "cette",
    "ces",
    "cela",
    "ceci",
    "ca",
    "celui-ci",
    "celle-ci",
    "leur",
    "leurs",
    "son",
    "sa",
    "ses",
    "y",
    "en",
    "ainsi",
    "donc",
    "puis",
    "ensuite",
    "enfin",
    "mais",
    "pourtant",
    "cependant",
    "contrairement",
    "chacun",
    "chacune",
    "tous",
    "toutes",
}


class PassageEmbedder(Protocol):
    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


class SentenceVectors:
    """Sentence -> vector, embedded once (blocking: called from a worker thread)."""

    def __init__(self, embedder: PassageEmbedder) -> None:
        self.embedder = embedder
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def __call__(self, sentences: Sequence[str]) -> np.ndarray:
        keys = [_key(s) for s in sentences]
        with self._lock:
            missing = list(dict.fromkeys(s for s, k in zip(sentences, keys, strict=True) if k not in self._vectors))
        if missing:
            vectors = np.asarray(self.embedder.embed_passages(missing), dtype=np.float32)
            with self._lock:
                for sentence, vector in zip(missing, vectors, strict=True):
                    self._vectors[_key(sentence)] = vector
                found = [self._vectors[k] for k in keys]
                for old in list(self._vectors)[: max(0, len(self._vectors) - KEPT_SENTENCES)]:
                    del self._vectors[old]
        else:
            with self._lock:
                found = [self._vectors[k] for k in keys]
        return np.stack(found) if found else np.zeros((0, 1), dtype=np.float32)

    def __len__(self) -> int:
        return len(self._vectors)


@dataclass(frozen=True)
class Excerpt:
    sentences: tuple[str, ...]
    # Indexes of the shown sentences in the section, and whether it was shown whole.
    indexes: tuple[int, ...]
    whole: bool

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


class ExcerptChooser:
    """Chooses, in a section, the sentences that answer a question. Blocking (embeds new sentences)."""

    def __init__(self, vectors: SentenceVectors, analyzer: FrenchAnalyzer | None = None) -> None:
        self.vectors = vectors
        self.analyzer = analyzer or FrenchAnalyzer()

    def scores(self, question: str, question_vector: np.ndarray | None, sentences: Sequence[str]) -> np.ndarray:
        """Each sentence's standardised cosine plus half its standardised BM25 score."""
        lexical_index = LexicalIndex(self.analyzer).build(list(sentences))
        lexical = lexical_index.scores(self.analyzer.terms(question))
        fused = LEXICAL_WEIGHT * _standardise(lexical)
        if question_vector is not None:
            dense = self.vectors(sentences) @ np.asarray(question_vector, dtype=np.float32)
            fused = fused + _standardise(dense)
        return fused

    def choose(
        self,
        question: str,
        question_vector: np.ndarray | None,
        text: str,
        *,
        skip: frozenset[str] = frozenset(),
        prefer: Callable[[str], bool] | None = None,
        words: int = EXCERPT_WORDS,
        short: int = SHORT_SECTION_WORDS,
    ) -> Excerpt:
        """The excerpt of `text` that answers `question`; sentences in `skip` (already shown) are left
        out; sentences `prefer` accepts (a count's number, a list's enumeration) come first."""
        sentences = split_sentences(text)
        if not sentences:
            return Excerpt((), (), True)
        # A short section none of which was shown yet is the answer whole, in a follow-up too.
        if not skip.intersection(sentences) and _words(sentences) <= short:
            return Excerpt(tuple(sentences), tuple(range(len(sentences))), True)
        open_ = [i for i, s in enumerate(sentences) if s not in skip]
        if not open_:
            return Excerpt((), (), False)
        scores = self.scores(question, question_vector, sentences)
        if prefer is not None:
            scores = scores + np.array([2.0 if prefer(s) else 0.0 for s in sentences])
        ranked = sorted(open_, key=lambda i: -scores[i])
        best = ranked[0]
        chosen = [best]
        used = len(sentences[best].split())
        for i in ranked[1:]:
            size = len(sentences[i].split())
            if scores[i] < scores[best] - SENTENCE_MARGIN or used + size > words:
                continue
            chosen.append(i)
            used += size
        first = min(chosen)
        if first > 0 and leans_on_before(sentences[first]) and sentences[0] not in skip:
            chosen.append(0)
        chosen.sort()
        return Excerpt(tuple(sentences[i] for i in chosen), tuple(chosen), len(chosen) == len(sentences))


def leans_on_before(sentence: str) -> bool:
    words = re.findall(r"[\w-]+", fold_accents(sentence))
    return bool(words) and (words[0] in LEANING_WORDS or any(w in {"il", "elle", "ils", "elles"} for w in words[:4]))


def _words(sentences: Sequence[str]) -> int:
    return sum(len(s.split()) for s in sentences)


def _key(sentence: str) -> str:
    return hashlib.sha1(sentence.encode("utf-8"), usedforsecurity=False).hexdigest()


def _standardise(scores: np.ndarray) -> np.ndarray:
    std = float(scores.std())
    if std == 0.0:
        return np.zeros_like(scores, dtype=np.float32)
    standardised: np.ndarray = ((scores - scores.mean()) / std).astype(np.float32)
    return standardised
