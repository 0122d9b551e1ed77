"""The abstention rule: the calibrated threshold, lexical support below it, and a margin above it for a
question the pack shares no word with."""

from __future__ import annotations

from knowledge.calibration import AbstentionRule
from knowledge.index import Candidate, IndexedChunk, Ranking

CHUNK = IndexedChunk(1, "referentiel", "s.md", "Section", ("Doc", "Section"), "Texte.")


def _ranking(cosine: float, *, support: bool = False, foreign: bool = False) -> Ranking:
    return Ranking([Candidate(CHUNK, cosine, 0.0, 0.0)], cosine, support, foreign)


def test_a_foreign_question_needs_the_margin_above_the_threshold():
    rule = AbstentionRule(threshold=0.838, foreign_margin=0.01)
    assert rule.answers(_ranking(0.8384))
    assert not rule.answers(_ranking(0.8384, foreign=True))
    assert rule.answers(_ranking(0.849, foreign=True))
    assert rule.answers(_ranking(0.82, support=True))
    assert not rule.answers(Ranking([], 0.9))
