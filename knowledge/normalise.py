"""Chat-style questions -> the written French the passages use, before embedding and BM25.

Members type « c koi la comap », « y a quoi a lagenda », « lagora cest avant ou apres les
journees ». BM25 survives this (accents are folded, 4-grams absorb typos), but the dense model
does not: « lagenda » or « koi » are unknown words to it, and its cosine to the right passage
dropped below the abstention threshold (0.81–0.82 instead of 0.87–0.88 once normalised).

Three general rules, none of them about a particular question:
- a short table of common French SMS abbreviations (« koi », « pk », « stp », « ya »);
- a missing apostrophe after an elided article or pronoun (« lagenda » -> « l'agenda »,
  « jcomprends » -> « je comprends »), applied only when the word is unknown to the corpus and
  what follows the elision is known;
- missing accents restored from the corpus itself (« journees » -> « journées »), only when the
  unaccented form never occurs there, and never on stop words (« a »/« à », « ou »/« où »).
The vocabulary comes from the indexed chunks, so the rules follow whatever documents are indexed.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import TypedDict

import Stemmer
from stop_words import get_stop_words

from knowledge.folding import fold_accents

SMS_ABBREVIATIONS = {
    "c": "c'est",
    "koi": "quoi",
    "kel": "quel",
    "kelle": "quelle",
    "kels": "quels",
    "pk": "pourquoi",
    "pq": "pourquoi",
    "pkoi": "pourquoi",
    "stp": "s'il te plaît",
    "svp": "s'il vous plaît",
    "bcp": "beaucoup",
    "tjrs": "toujours",
    "tjs": "toujours",
    "qd": "quand",
    "cmt": "comment",
    "ds": "dans",
    "pr": "pour",
    "tt": "tout",
    "ts": "tous",
    "mm": "même",
    "vs": "vous",
    "ns": "nous",
    "dc": "donc",
    "ya": "il y a",
    "jsp": "je ne sais pas",
    "chui": "je suis",
    "jsuis": "je suis",
    "ptet": "peut-être",
    "qqn": "quelqu'un",
    "qqch": "quelque chose",
    "auj": "aujourd'hui",
    "mtn": "maintenant",
    "cad": "c'est-à-dire",
    "bjr": "bonjour",
    "slt": "salut",
}
# A word keeps its inner apostrophes (« c'est » is one token, never the abbreviation « c »).
_TOKEN = re.compile(r"\w+(?:['’]\w+)*|[^\w]+")
_WORD = re.compile(r"\w+")
_ELISION = re.compile(r"^(qu|[cdjlmnst])(\w{3,})$")
_VOWEL_START = re.compile(r"^[aeiouyhàâäéèêëîïôöûü]")


class VocabularyJSON(TypedDict):
    words: list[str]
    written: dict[str, str]
    stems: list[str]


class Vocabulary:
    """The words of one collection: exact forms, folded form -> commonest written form, stems."""

    def __init__(self, texts: Iterable[str], stemmer: Stemmer.Stemmer) -> None:
        counts = Counter(w for text in texts for w in _WORD.findall(text.lower()))
        forms: dict[str, Counter[str]] = defaultdict(Counter)
        for word, n in counts.items():
            forms[fold_accents(word)][word] += n
        self.words = frozenset(counts)
        self.written = {folded: c.most_common(1)[0][0] for folded, c in forms.items()}
        self.stems = frozenset(fold_accents(stemmer.stemWord(w)) for w in counts if len(w) > 2)

    def to_json(self) -> VocabularyJSON:
        return {"words": sorted(self.words), "written": self.written, "stems": sorted(self.stems)}

    @classmethod
    def from_json(cls, data: VocabularyJSON) -> Vocabulary:
        """A vocabulary saved by `to_json` (knowledge.index_store), without reading the texts again."""
        vocabulary = cls.__new__(cls)
        vocabulary.words = frozenset(data["words"])
        vocabulary.written = dict(data["written"])
        vocabulary.stems = frozenset(data["stems"])
        return vocabulary


class QueryNormaliser:
    def __init__(self) -> None:
        self.stemmer = Stemmer.Stemmer("french")
        self.stop_words = frozenset(fold_accents(w.lower()) for w in get_stop_words("french"))

    def vocabulary(self, texts: Iterable[str]) -> Vocabulary:
        return Vocabulary(texts, self.stemmer)

    def normalise(self, text: str, vocabularies: list[Vocabulary]) -> str:
        if not vocabularies:
            return text
        return "".join(self._word(t, vocabularies) if _WORD.fullmatch(t) else t for t in _TOKEN.findall(text))

    def _word(self, word: str, vocabularies: list[Vocabulary]) -> str:
        lower = word.lower()
        if lower in SMS_ABBREVIATIONS:
            return SMS_ABBREVIATIONS[lower]
        folded = fold_accents(lower)
        if self._known(lower, vocabularies):
            # Only a lowercase, accent-free word that the corpus never writes that way gets accents;
            # never a stop word, where accents change the word (« a »/« à », « ou »/« où »).
            if (
                word == lower == folded
                and folded not in self.stop_words
                and not any(lower in v.words for v in vocabularies)
            ):
                return next((v.written[folded] for v in vocabularies if folded in v.written), word)
            return word
        match = _ELISION.match(lower)
        if match and self._known(match.group(2), vocabularies):
            head, rest = match.groups()
            rest = next((v.written[fold_accents(rest)] for v in vocabularies if fold_accents(rest) in v.written), rest)
            # « jcomprends »: before a consonant the pronoun is « je », not an elision.
            return f"{head}'{rest}" if head != "j" or _VOWEL_START.match(rest) else f"je {rest}"
        return word

    def _known(self, word: str, vocabularies: list[Vocabulary]) -> bool:
        folded = fold_accents(word)
        if folded in self.stop_words:
            return True
        stem = fold_accents(self.stemmer.stemWord(word))
        return any(folded in v.written or stem in v.stems for v in vocabularies)
