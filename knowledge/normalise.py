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
- a typo in a word the corpus does not know (« balize » -> « balise », « fondamenteaux »): one
  letter wrong, missing, extra or swapped, and only when the corpus has a single such word, and
  never a word French itself knows (simplemma's dictionary): « Paris » is one swap from « pairs »,
  and a train to Paris became a question about the peer days, answered.
The vocabulary comes from the indexed chunks, so the rules follow whatever documents are indexed.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import NotRequired, TypedDict

import simplemma
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
# Shorter words have too many neighbours one letter away (« mise »/« mais »/« mois »).
MIN_TYPO_LENGTH = 5


def _singular(word: str) -> str:
    return word[:-1] if word.endswith(("s", "x")) else word


def _one_edit(a: str, b: str) -> bool:
    """Whether `b` is `a` with one letter wrong, missing or extra, or two neighbours swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _deleted(word: str) -> set[str]:
    """The word and each form of it with one letter deleted."""
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


def _french(word: str) -> bool:
    """A word of French (or a place, a name) in simplemma's dictionary: a word the corpus does not use,
    not a typo of one it does."""
    return bool(simplemma.is_known(word, lang="fr"))


class VocabularyJSON(TypedDict):
    words: list[str]
    written: dict[str, str]
    stems: list[str]
    # Absent from a vocabulary saved before typos were corrected: none are, until it is built again.
    terms: NotRequired[list[str]]


class Vocabulary:
    """The words of one collection: exact forms, folded form -> commonest written form, stems, and
    the terms of its headings (folded), the words a typo is corrected to."""

    _deletions: dict[str, set[str]] | None = None

    def __init__(self, texts: Iterable[str], stemmer: Stemmer.Stemmer) -> None:
        texts = list(texts)
        counts = Counter(w for text in texts for w in _WORD.findall(text.lower()))
        forms: dict[str, Counter[str]] = defaultdict(Counter)
        for word, n in counts.items():
            forms[fold_accents(word)][word] += n
        self.words = frozenset(counts)
        self.written = {folded: c.most_common(1)[0][0] for folded, c in forms.items()}
        self.stems = frozenset(fold_accents(stemmer.stemWord(w)) for w in counts if len(w) > 2)
        # A text's first line is its heading path (knowledge.chunking.embedding_text); a plural heading
        # word (« Les balises ») brings its singular when the corpus writes it.
        headings = {fold_accents(w) for text in texts for w in _WORD.findall(text.split("\n", 1)[0].lower())}
        self.terms = frozenset(
            term
            for word in headings
            if len(word) > 3
            for term in (word, word[:-1])
            if term == word or (word.endswith(("s", "x")) and term in self.written)
        )

    def to_json(self) -> VocabularyJSON:
        return {
            "words": sorted(self.words),
            "written": self.written,
            "stems": sorted(self.stems),
            "terms": sorted(self.terms),
        }

    @classmethod
    def from_json(cls, data: VocabularyJSON) -> Vocabulary:
        """A vocabulary saved by `to_json` (knowledge.index_store), without reading the texts again."""
        vocabulary = cls.__new__(cls)
        vocabulary.words = frozenset(data["words"])
        vocabulary.written = dict(data["written"])
        vocabulary.stems = frozenset(data["stems"])
        vocabulary.terms = frozenset(data.get("terms", ()))
        return vocabulary

    def one_typo_from(self, folded: str) -> str | None:
        """The heading term one typo away from `folded` (a letter wrong, missing, extra, or two swapped),
        as the corpus writes it, when there is exactly one; None otherwise. Only the headings' terms:
        members misspell what they ask about, while a question's ordinary words the corpus happens not
        to use (« combien », « pistes ») are one letter from one of its other words (« combine »,
        « postes »). Symmetric deletions find them all: two
        words one edit apart share a form with at most one letter deleted from each (so do some words
        two edits apart, which _one_edit sets aside)."""
        if self._deletions is None:
            deletions: dict[str, set[str]] = defaultdict(set)
            for word in self.terms:
                for form in _deleted(word):
                    deletions[form].add(word)
            self._deletions = deletions
        found = {w for form in _deleted(folded) for w in self._deletions.get(form, ()) if _one_edit(folded, w)}
        if len({_singular(w) for w in found}) != 1:
            return None
        # One word, singular and plural: the number the member wrote.
        return self.written[max(found, key=lambda w: (_singular(w) == w) == (_singular(folded) == folded))]


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
        if len(folded) >= MIN_TYPO_LENGTH and folded not in SMS_ABBREVIATIONS and not _french(lower):
            fixes = {fix for v in vocabularies if (fix := v.one_typo_from(folded)) is not None}
            if len(fixes) == 1:
                return fixes.pop()
        return word

    def _known(self, word: str, vocabularies: list[Vocabulary]) -> bool:
        folded = fold_accents(word)
        if folded in self.stop_words:
            return True
        stem = fold_accents(self.stemmer.stemWord(word))
        return any(folded in v.written or stem in v.stems for v in vocabularies)
