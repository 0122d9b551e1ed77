"""What a member wraps around a question, set aside before anything reads it (issue 19).

Members write « Bonjour, c'est quoi une balise ? Merci », « Salut Manufacture, … », « … (n°4) », paste
a link or a Markdown/HTML snippet before the question, add emoji or « ??!! ». None of it is the
question, yet the search read it all: « (n°4) » pulled the bot's own help, a pasted
`<img …> [cliquez](…)` made an off-topic question look answerable. `undress()` keeps the question.

General rules, none written for a particular question:
- markup: HTML tags and entities, Markdown images, links (their text is kept unless it only says
  « cliquez ici »), emphasis, code marks, headings, quotes and list bullets;
- pasted addresses: web links, Matrix user ids and room aliases;
- numbering: « (n°4) », « n°4 », « #4 », « (4) », a leading « 4) » or « Q4 : »;
- emoji and text smileys; repeated punctuation (« ???!! » is « ? »);
- courtesy: a clause made only of greetings, thanks, the bot's names and their filler words
  (« Bonjour à tous, », « Merci d'avance ! ») is dropped, and so are a greeting and the bot's name
  opening the question and thanks closing it.
Typos are not corrected here: the search's vocabulary correction (knowledge.normalise) reads the
undressed text. What is left may be empty (the message was only manners): the caller decides.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable

from knowledge.folding import fold_accents

GREETINGS = {"bonjour", "bonsoir", "salut", "coucou", "hello", "hey", "hi", "yo", "re", "bjr", "slt", "hola"}
THANKS = {"merci", "mercii", "merciii", "thanks", "thx", "svp", "stp", "cordialement", "bises", "amities"}
# Words that go with manners and ask nothing: « à tous », « merci beaucoup », « d'avance »,
# « s'il vous plaît », « bonne journée », « j'ai une question », « le bot ».
FILLERS = {
    "a",
    "au",
    "aux",
    "tous",
    "toutes",
    "tout",
    "le",
    "la",
    "les",
    "monde",
    "vous",
    "toi",
    "te",
    "beaucoup",
    "bcp",
    "mille",
    "fois",
    "bien",
    "bonne",
    "bon",
    "et",
    "encore",
    "tres",
    "de",
    "d",
    "avance",
    "s",
    "il",
    "plait",
    "plais",
    "journee",
    "soiree",
    "fin",
    "semaine",
    "ok",
    "alors",
    "donc",
    "voila",
    "hop",
    "j",
    "ai",
    "une",
    "petite",
    "question",
    "questions",
    "bot",
    "robot",
    "cher",
    "chere",
    "chers",
}
# A leading greeting's company: « Bonjour à tous c'est quoi … ».
_GREETING_COMPANY = re.compile(r"\s*(?:a\s+tou(?:te)?s|tout\s+le\s+monde|(?:a\s+)?vous|le\s+bot)\b")
_TRAILING_THANKS = re.compile(
    r"(?:\b(?:merci+(?:\s+(?:beaucoup|bien|bcp|mille\s+fois|d'avance|par\s+avance))?|d'avance(?:\s+merci)?"
    r"|svp|stp|s'il\s+(?:vous|te)\s+plai[ts]|cordialement|thanks|thx)\W*)+$"
)
_HTML_TAG = re.compile(r"</?[a-zA-Z!][^<>]*>")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_LINK_NOISE = {"cliquez", "cliquer", "clique", "click", "ici", "here", "lien", "voir", "link", "la", "sur"}
_URL = re.compile(r"(?:\b(?:https?|ftp)://|\bwww\.)\S+|\bmatrix:\S+|[@#][\w.=/+-]+:[\w.-]+\w")
_CODE = re.compile(r"`+")
_EMPHASIS = re.compile(r"\*{1,3}|~~|(?<!\w)_{1,3}|_{1,3}(?!\w)")
_LINE_MARK = re.compile(r"^[ \t]*(?:#{1,6}|>+|[-*+•])[ \t]+", re.MULTILINE)
_NUMBERING = re.compile(
    r"\(\s*(?:n\s*[°o]\.?|no\.|num(?:[eé]ro)?\.?|q(?:uestion)?\.?)?\s*\d+\s*\)"
    r"|\b(?:n\s*°|no\.|num[eé]ro|question)\s*\d+\b|(?<!\w)#\d+\b",
    re.IGNORECASE,
)
_LEADING_NUMBER = re.compile(r"^\s*(?:q\s*)?\d+\s*[).:/-]\s+", re.IGNORECASE)
_SMILEY = re.compile(r"(?<!\w)(?:[:;=8][-']?[)(\]\[DPpO/\\|*]+|[xX][Dd]+|\^\^|<3|:'\()(?!\w)")
_REPEATED = re.compile(r"[?!]{2,}|\.{2,}|…+")
_CLAUSE_END = re.compile(r"[,;:.!?…\n]+")
_WORD = re.compile(r"[a-z0-9]+")
# Symbols that are writing, not emoji.
_KEPT_SYMBOLS = set("°§©®™")


def undress(text: str, names: Iterable[str] = ()) -> str:
    """The question in `text`, without what the member put around it; `names` are the bot's (its
    display name, its user id's localpart), set aside where they call it, never inside a sentence."""
    text = _MD_IMAGE.sub(" ", text)
    text = _MD_LINK.sub(_link_text, text)
    text = html.unescape(_HTML_TAG.sub(" ", text))
    text = _URL.sub(" ", text)
    text = _LINE_MARK.sub("", text)
    text = _CODE.sub("", _EMPHASIS.sub("", text))
    text = _LEADING_NUMBER.sub("", _NUMBERING.sub(" ", text))
    text = _SMILEY.sub(" ", "".join(c for c in text if not _is_emoji(c)))
    text = _REPEATED.sub(_one_mark, text)
    text = " ".join(text.split())
    called = {w for name in names for w in _WORD.findall(fold_accents(name.lstrip("@").split(":")[0]))}
    return _without_courtesy(text, called).strip(" ,;:")


def _link_text(match: re.Match[str]) -> str:
    words = _WORD.findall(fold_accents(match.group(1)))
    return " " if set(words) <= _LINK_NOISE else f" {match.group(1)} "


def _is_emoji(c: str) -> bool:
    if c in _KEPT_SYMBOLS:
        return False
    # So: emoji and pictographs; Sk: skin tones; Cf/Mn here: joiners and variation selectors.
    return unicodedata.category(c) in ("So", "Cs") or c in "\u200d\ufe0e\ufe0f" or 0x1F3FB <= ord(c) <= 0x1F3FF


def _one_mark(match: re.Match[str]) -> str:
    run = match.group(0)
    return "?" if "?" in run else "!" if "!" in run else "…"


def _folded(text: str) -> str:
    """Folded character by character, so that positions in it are positions in `text`."""
    return "".join((fold_accents(c) or c)[0] for c in text)


def _without_courtesy(text: str, names: set[str]) -> str:
    folded = _folded(text)
    # Clauses as (start, end) spans, each with the punctuation that closes it.
    spans, start = [], 0
    for closing in _CLAUSE_END.finditer(folded):
        spans.append((start, closing.end()))
        start = closing.end()
    if start < len(text):
        spans.append((start, len(text)))
    manners = GREETINGS | THANKS | FILLERS | names

    def only_manners(span: tuple[int, int]) -> bool:
        words = _WORD.findall(folded[span[0] : span[1]])
        return (
            bool(words)
            and set(words) <= manners
            and bool(set(words) & (GREETINGS | THANKS | names | {"question", "questions"}))
        )

    while spans and (only_manners(spans[0]) or not _WORD.search(folded[spans[0][0] : spans[0][1]])):
        spans.pop(0)
    while spans and (only_manners(spans[-1]) or not _WORD.search(folded[spans[-1][0] : spans[-1][1]])):
        spans.pop()
    if not spans:
        return ""
    begin, end = spans[0][0], spans[-1][1]
    # A greeting or the bot's name opening the question, thanks closing it.
    while True:
        head = re.match(r"\W*([a-z0-9]+)\b", folded[begin:end])
        if head is None or head.group(1) not in GREETINGS | names:
            break
        begin += head.end()
        company = _GREETING_COMPANY.match(folded, begin, end)
        if company is not None:
            begin = company.end()
    tail = _TRAILING_THANKS.search(folded, begin, end)
    if tail is not None and tail.start() > begin:
        # The question's own mark survives the thanks after it: « … balise ? merci » keeps « ? ».
        mark = "?" if "?" in folded[tail.start() : end] and "?" not in folded[begin : tail.start()] else ""
        return text[begin : tail.start()].rstrip() + mark
    return text[begin:end]
