"""French numbers written as words (« six balises », « dans quinze minutes »), accents folded."""

from __future__ import annotations

from knowledge.folding import fold_accents

NUMBER_WORDS = {
    "un": 1,
    "une": 1,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "six": 6,
    "sept": 7,
    "huit": 8,
    "neuf": 9,
    "dix": 10,
    "onze": 11,
    "douze": 12,
    "treize": 13,
    "quatorze": 14,
    "quinze": 15,
    "seize": 16,
    "dix-sept": 17,
    "dix-huit": 18,
    "dix-neuf": 19,
    "vingt": 20,
    "trente": 30,
    "quarante": 40,
    "cinquante": 50,
    "soixante": 60,
    "cent": 100,
}


def number_in(word: str) -> int | None:
    """The number one word says (« six », « 23 »), or None."""
    folded = fold_accents(word)
    return int(folded) if folded.isdigit() else NUMBER_WORDS.get(folded)
