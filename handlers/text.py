"""Text that people type: how the bot compares it, reads yes and no, and writes it back.

Folding is how words are compared everywhere in the chat: fold_accents() (case and accents; in
knowledge.folding, which the search shares) for command words, fold_for_matching() (punctuation
too) for choices, answers and names.

The bot writes Markdown; a member's words inside it must read exactly as typed, never as a link, a
heading or bold. escape_markdown() backslash-escapes (CommonMark) only what could start a
construct, so the escaped source stays readable.
"""

from __future__ import annotations

import re
import unicodedata

from knowledge.folding import fold_accents

YES_WORDS = {
    "oui",
    "o",
    "ouais",
    "ouaip",
    "yes",
    "y",
    "yep",
    "ok",
    "okay",
    "d'accord",
    "daccord",
    "bien sur",
    "tout a fait",
    "absolument",
    "volontiers",
    "oui oui",
    "oui merci",
    "si",
    "exact",
    "certainement",
    "evidemment",
    "carrement",
    "oui bien sur",
    "avec plaisir",
    "j'accepte",
    "accepte",
    "vrai",
    "oui svp",
    "oui stp",
}
NO_WORDS = {
    "non",
    "n",
    "nan",
    "no",
    "nope",
    "non merci",
    "pas du tout",
    "surtout pas",
    "jamais",
    "faux",
    "je refuse",
    "refuse",
    "non non",
    "pas question",
    "pas besoin",
}


# Kept: line breaks and tabs are layout; every other control character (a null byte) and format
# character (zero-width space, soft hyphen, bidi marks) is invisible and would split or hide words.
_KEPT_CONTROLS = {"\n", "\r", "\t"}
ZERO_WIDTH_JOINER = "\u200d"
# Between two emoji the joiner makes one (👩‍💻); touching a letter it only hides a word (« ba‍li‍se »).
_JOINER_IN_WORD = re.compile(r"(?<=\w)\u200d|\u200d(?=\w)")


def normalise_input(text: str) -> str:
    """What a member typed, as everything downstream reads it: NFKC (ligatures, full-width and
    compatibility forms made plain) and no invisible characters."""
    text = _JOINER_IN_WORD.sub("", unicodedata.normalize("NFKC", text))
    return "".join(
        c for c in text if c in _KEPT_CONTROLS or c == ZERO_WIDTH_JOINER or unicodedata.category(c) not in ("Cc", "Cf")
    )


def fold_for_matching(text: str) -> str:
    """fold_accents(), then punctuation stripped (but « ' @ . + - », which names and addresses
    keep) and spaces collapsed: how answers, names and control words are compared."""
    plain = re.sub(r"[^\w'@.+-]+", " ", fold_accents(text))
    return " ".join(plain.split()).strip(" .")


def parse_yes_no(text: str) -> bool | None:
    """« oui », « d'accord », « non merci »… → True / False; None when it is neither."""
    folded = fold_for_matching(text).rstrip("!. ")
    if folded in YES_WORDS:
        return True
    if folded in NO_WORDS:
        return False
    first = folded.split(" ")[0] if folded else ""
    if first in ("oui", "ouais", "yes") and not any(w in folded.split() for w in ("non", "pas")):
        return True
    if first in ("non", "nan", "no"):
        return False
    return None


# Characters that open or close an inline construct wherever they stand: emphasis, code spans,
# links and images, autolinks and raw HTML, strikethrough, table cells, and the escape itself.
_INLINE_MARKERS = re.compile(r"([\\`*_\[\]<>~|])")
# « &amp; » or « &#233; » would be decoded into a character; a lone « & » is left alone.
_ENTITY_START = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
# Indentation: four spaces make a code block, and Markdown shows no indentation anyway.
_INDENT = re.compile(r"^[ \t]+", re.M)
# Constructs recognised at the start of a line only (inline markers are already escaped).
_HEADING_OR_BULLET = re.compile(r"^(#{1,6}|[-+])(?=[ \t]|$)", re.M)
_ORDERED = re.compile(r"^(\d{1,9})([.)])(?=[ \t]|$)", re.M)
# Setext underlines (« === », « --- ») and thematic breaks (« - - - »).
_RULE = re.compile(r"^([-=])(?=[-= \t]*$)", re.M)

QUOTE_LIMIT = 80


def escape_markdown(text: str) -> str:
    """``text`` as Markdown that renders exactly as typed."""
    # A lone carriage return ends a line for markdown-it, but not for the line-start patterns.
    text = _INDENT.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _INLINE_MARKERS.sub(r"\\\1", text)
    text = _ENTITY_START.sub(r"\\&", text)
    text = _HEADING_OR_BULLET.sub(r"\\\1", text)
    text = _ORDERED.sub(r"\1\\\2", text)
    return _RULE.sub(r"\\\1", text)


def quote(text: str, limit: int = QUOTE_LIMIT) -> str:
    """Member text to echo inside a sentence: on one line, cut at a word when too long, escaped."""
    text = " ".join(text.split())
    if len(text) > limit:
        cut = text[:limit]
        word_end = cut.rfind(" ")
        # No space in the second half (one very long word): cut where it stands.
        text = (cut[:word_end] if word_end > limit // 2 else cut).rstrip(" ,;:.") + " …"
    return escape_markdown(text)


# A cell beginning with one of these is a formula to a spreadsheet (=HYPERLINK(…), +cmd|…, @SUM(…));
# a tab or a carriage return first hides one behind blank space. OWASP's rule for CSV injection.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """A CSV cell that no spreadsheet runs: one that would start a formula gets a leading apostrophe,
    which spreadsheets read as « this is text »; everything else is left as written. Every CSV the
    bot writes goes through here."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell
