"""What a French question asks for, read from its wording: a list (« quelles sont les… »), a count
(« combien de… »), a comparison (« quelle différence entre A et B »), the rest (« c'est quoi… »),
or, said after an answer, more of it (« et la suite ? »). The answer's shape follows (knowledge.composition).

Only grammatical words are read here, never a document's vocabulary: the same rules hold for any
référentiel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from knowledge.folding import fold_accents
from knowledge.french_numbers import NUMBER_WORDS, number_in


class Kind(StrEnum):
    LIST = "list"
    COUNT = "count"
    COMPARE = "compare"
    MORE = "more"
    OTHER = "other"


@dataclass(frozen=True)
class QuestionKind:
    kind: Kind
    # For a count: the noun counted as the member wrote it (« balises »); None for « combien y en a-t-il ».
    counted: str | None = None
    # For a comparison: its two sides (« la journée Agora », « les journées entre pairs »).
    sides: tuple[str, str] | None = None
    # A number the question names (« les quatre familles » -> 4).
    number: int | None = None
    # For a list: what is listed, as written (« quelles sont les quatre familles… » -> « familles »).
    listed: str | None = None


# « combien de temps », « combien de fois »: a duration or a frequency, not things to count.
NOT_COUNTED = {"temps", "fois", "jours", "heures", "minutes", "mois", "ans", "annees", "euros", "argent"}
_LIST_OPENINGS = re.compile(
    r"^(?:et\s+)?(?:quel(?:le)?s\s+(?:sont|seraient)\b|quel(?:le)?s\s+\w+|lesquel(?:le)?s\b|"
    r"(?:peux[- ]tu|pouvez[- ]vous|pourrais[- ]tu|pourriez[- ]vous)\s+(?:me\s+)?(?:lister|citer|enumerer|donner\s+la\s+liste)|"
    r"(?:liste|listez|liste[- ]moi|cite|citez|enumere|enumerez)\b|la\s+liste\b)|\blesquel(?:le)?s\b"
)
# « quelles balises composent… », « quels sont les… »: plural interrogatives ask for several things.
_PLURAL_WHICH = re.compile(r"\bquel(?:le)?s\b")
_LIST_WORDS = re.compile(r"\b(?:liste|lister|enumere\w*|composent|comprend|comprennent|regroupe\w*|rassemble\w*)\b")
_THE_N = re.compile(r"\b(?:les|ces|vos|nos|ses)\s+([\w-]+)\s+([\w-]{3,})")
_COUNT = re.compile(r"\b(?:combien|nombre\s+de|nombre\s+d')\b")
_COUNTED_NOUN = re.compile(r"\b(?:combien|nombre)\b(?:\s+(?!de\b|d')[\w-]+){0,4}?\s+(?:de\s+|d'\s*)([\w-]+)")
_COUNT_PRONOUN = re.compile(r"\bcombien\s+(?:y\s+)?en\b|\ben\s+(?:a|compte|existe)[- ]t[- ](?:il|on)\b.*combien")
_COMPARE = [
    re.compile(r"\b(?:differences?|diff|dif)\s+(?:y\s+a[- ]t[- ]il\s+)?entre\s+(.+?)\s+et\s+(.+)$"),
    re.compile(r"\b(?:distinguer|distingue|differencier|differencie)\s+(.+?)\s+(?:de|et|des|du)\s+(.+)$"),
    re.compile(r"\bcompar\w*\s+(.+?)\s+(?:et|avec|a)\s+(.+)$"),
    re.compile(r"^(.+?)\s+(?:vs\.?|versus|contre)\s+(.+)$"),
    re.compile(r"^(.+?)\s+(?:et|ou)\s+(.+?)\s+(?:quelle|quelles)\s+differences?\b"),
    re.compile(r"\b(?:difference|differences|distingue)\b.*?\b(?:entre\s+)?(.+?)\s+ou\s+(.+)$"),
    # « A ou B, qu'est-ce qui change ? », « A et B, c'est pareil ? »: the question after the two sides.
    re.compile(
        r"^(.+?)\s+(?:et|ou)\s+(.+?)\s+(?:qu'est-ce\s+qui\s+(?:change|differe|les\s+distingue|les\s+differencie)|"
        r"c'est\s+(?:pareil|la\s+meme\s+chose)|quelle\s+nuance)\b"
    ),
]
# « et la différence avec les journées entre pairs ? », after an answer: the other side is the thread's.
_COMPARE_WITH = re.compile(
    r"\b(?:difference|differences|distingue\w*|differencie\w*|compar\w*)\s+(?:avec|aux?|a|par\s+rapport\s+(?:a|au|aux))\s+(.+)$"
)
_MORE = re.compile(
    r"^(?:et\s+)?(?:la\s+suite|les\s+autres|le\s+reste|d'autres|encore|(?:et\s+)?apres|continue[rz]?|plus\s+de\s+details?|"
    r"quoi\s+d'autre|autre\s+chose|les\s+suivant\w*|la\s+suivante|le\s+suivant)\b"
)


def read_question(question: str) -> QuestionKind:
    original = question.strip()
    spaced = _folded(original)
    text = " ".join(spaced.split())
    number = named_number(text)
    for pattern in _COMPARE:
        # On the uncollapsed folding, whose positions are the question's: the sides keep their accents.
        found = pattern.search(spaced.strip()) if pattern.pattern.startswith("^") else pattern.search(spaced)
        if found:
            shift = len(spaced) - len(spaced.lstrip()) if pattern.pattern.startswith("^") else 0
            sides = tuple(_side(original[found.start(i) + shift : found.end(i) + shift]) for i in (1, 2))
            if all(sides):
                return QuestionKind(Kind.COMPARE, sides=(sides[0], sides[1]), number=number)
    found = _COMPARE_WITH.search(spaced)
    if found:
        side = _side(original[found.start(1) : found.end(1)])
        if side:
            # The first side is what the thread was about: filled in by the caller, « » until then.
            return QuestionKind(Kind.COMPARE, sides=("", side), number=number)
    if _COUNT.search(text):
        found_noun = _COUNTED_NOUN.search(text)
        counted = found_noun.group(1) if found_noun else None
        if counted in NOT_COUNTED:
            return QuestionKind(Kind.OTHER, number=number)
        if counted is not None or _COUNT_PRONOUN.search(text):
            return QuestionKind(Kind.COUNT, counted=counted, number=number)
        return QuestionKind(Kind.OTHER, number=number)
    if _MORE.search(text) and len(text.split()) <= 6:
        return QuestionKind(Kind.MORE, number=number)
    noun = _listed_noun(text)
    if _LIST_OPENINGS.search(text) and (
        _PLURAL_WHICH.search(text) or _LIST_WORDS.search(text) or "liste" in text or "lesquel" in text
    ):
        return QuestionKind(Kind.LIST, number=number, listed=noun)
    if _LIST_WORDS.search(text) or (number is not None and number > 1 and _PLURAL_WHICH.search(text)):
        return QuestionKind(Kind.LIST, number=number, listed=noun)
    # « c'est quoi les 4 familles ? », « c koi les quatre familles »: things named by their number are a list.
    counted_things = _THE_N.search(text)
    if counted_things and (number_in(counted_things.group(1)) or 0) > 1:
        return QuestionKind(Kind.LIST, number=number, listed=counted_things.group(2))
    return QuestionKind(Kind.OTHER, number=number)


_LIST_STARTERS = {"quels", "quelles", "liste", "listez", "lister", "cite", "citez", "citer", "enumere", "enumerez"}
_SKIPPED = {
    "sont",
    "seraient",
    "les",
    "des",
    "du",
    "de",
    "d'",
    "la",
    "le",
    "ses",
    "leurs",
    "nos",
    "vos",
    "moi",
    "donc",
    "en",
    "tous",
    "toutes",
    "differents",
    "differentes",
    "principaux",
    "principales",
    "grands",
    "grandes",
    "autres",
}
# « quels types d'accompagnement »: what is listed is the accompaniments, not the types.
_GENERIC = {"types", "type", "sortes", "formes", "categories", "facons", "manieres", "genres", "modalites"}


def _listed_noun(text: str) -> str | None:
    """The first noun after « quelles (sont les) » or « liste (les) »: what the list is of."""
    words = text.split()
    for i, word in enumerate(words):
        if word not in _LIST_STARTERS:
            continue
        for following in words[i + 1 : i + 7]:
            if following in _SKIPPED or following in _GENERIC or number_in(following) is not None:
                continue
            following = following.removeprefix("d'")
            return following if len(following) > 2 else None
    return None


def named_number(folded: str) -> int | None:
    """A quantity the text names, in digits or words (« 4 », « quatre »), above one."""
    for word in re.findall(r"[\w-]+", folded):
        value = int(word) if word.isdigit() else NUMBER_WORDS.get(word)
        if value is not None and 1 < value < 1000:
            return value
    return None


def _folded(question: str) -> str:
    """Folded character by character, punctuation made spaces: the same length as the question."""
    folded = "".join((fold_accents(c) or c)[0] for c in question)
    return re.sub(r"[?!.,;:«»\"()\[\]]", " ", folded)


def _side(text: str) -> str:
    """One side of a comparison, without what follows it (« …, concrètement ? »)."""
    text = re.split(r"\s*[,?!;:]\s*|\s+(?:concrètement|exactement|en pratique|au juste)\b", text)[0]
    return text.strip(" '-«»\"")
