"""Sections -> chunks: the unit that is embedded, searched and quoted back to the user.

Chunks follow the document's headings and carry their heading path, because a passage alone
(« Elle regroupe six balises… ») often does not say what it is about, while its headings do:
embedding « Les balises › Famille engagement » with the text measurably improves retrieval.
Long sections are cut at paragraph, then sentence, boundaries with a small overlap so that an
idea straddling a cut is still whole in one of the two chunks.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from knowledge.readers import Document

HEADING_SEPARATOR = " › "
# Inline code (`…`), whatever the length of its fence; its content is group 2.
_CODE_SPAN = re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
_LIST_ITEM = re.compile(r"\n(?=\s*(?:[-*+•]|\d+[.)])\s)")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[«\"'(A-ZÀ-Ý0-9-])")


@dataclass(frozen=True)
class ChunkingOptions:
    # Word counts: ~120–200 words keeps one idea per chunk and stays far below the 512-token
    # limit of small encoders (French averages about 1.6 tokens a word).
    target_words: int = 160
    max_words: int = 200
    overlap_words: int = 30


@dataclass(frozen=True)
class Chunk:
    source: str
    ordinal: int
    heading: str
    heading_path: tuple[str, ...]
    text: str

    @property
    def embedding_text(self) -> str:
        return embedding_text(self.heading_path, self.text)

    @property
    def content_hash(self) -> str:
        # Hash what is embedded: a renamed heading changes the vector, so it must re-embed.
        return hashlib.sha256(self.embedding_text.encode("utf-8")).hexdigest()


def embedding_text(heading_path: tuple[str, ...] | list[str], text: str) -> str:
    return f"{HEADING_SEPARATOR.join(heading_path)}\n{without_examples(text)}"


def searched_sentences(text: str) -> list[str]:
    """The sentences of a chunk that are embedded one by one (knowledge.index: a chunk also scores as
    well as its best sentence), without its quoted examples; at least one, so every chunk has some."""
    return split_sentences(without_examples(text)) or [" ".join(text.split())]


def without_examples(text: str) -> str:
    """What a passage is about, without the examples it quotes as code: `!question c'est quoi une
    tribu ?` shows how to ask the bot, it says nothing about tribes. The command's own word stays
    searchable (« !question »), the example after it does not. A page describing the bot then
    answers questions about the bot, never one of its example questions (issue 19)."""
    return _CODE_SPAN.sub(lambda m: (m.group(2).split() or [""])[0], text)


def chunk_document(document: Document, options: ChunkingOptions = ChunkingOptions()) -> list[Chunk]:
    chunks: list[Chunk] = []
    for section in document.sections:
        # A heading alone (« ## Famille engagement » directly followed by its sub-sections) has no
        # text to answer with: its words already live in its children's heading paths.
        if not section.text.strip():
            continue
        for piece in split_text(section.text, options):
            chunks.append(
                Chunk(
                    source=document.source,
                    ordinal=len(chunks),
                    heading=section.heading,
                    heading_path=section.heading_path,
                    text=piece,
                )
            )
    return chunks


def split_sentences(text: str) -> list[str]:
    """Its sentences, paragraph by paragraph, each on one line."""
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        # A list's items are sentences of their own, even without a final stop.
        for block in _LIST_ITEM.split(paragraph):
            sentences.extend(" ".join(s.split()) for s in _SENTENCE_END.split(block) if s.strip())
    return sentences


def split_text(text: str, options: ChunkingOptions = ChunkingOptions()) -> list[str]:
    """Cut `text` into pieces of about `target_words` words, never above `max_words`."""
    if _words(text) <= options.max_words:
        return [text.strip()]
    pieces: list[list[_Unit]] = []
    current: list[_Unit] = []
    carried = 0  # how many units at the start of `current` repeat the previous piece
    for unit in _units(text, options.max_words):
        if current and _words_in(current) + _words(unit.text) > options.target_words:
            pieces.append(current)
            current = _overlap(current, options.overlap_words)
            # The overlap must never push the next piece over the limit on its own.
            if _words_in(current) + _words(unit.text) > options.max_words:
                current = []
            carried = len(current)
        current.append(unit)
    # A tiny tail reads better glued to the previous piece, as long as it fits.
    tail_is_small = pieces and _words_in(current) < 2 * options.overlap_words
    if tail_is_small and _words_in(pieces[-1]) + _words_in(current) <= options.max_words:
        pieces[-1] = pieces[-1] + current[carried:]
    elif current:
        pieces.append(current)
    return [_join(piece) for piece in pieces]


@dataclass(frozen=True)
class _Unit:
    text: str
    # True for a paragraph's first unit: it rejoins with a blank line, other sentences with a space.
    starts_paragraph: bool


def _units(text: str, max_words: int) -> list[_Unit]:
    """Paragraphs, with the too-long ones cut into sentences (and over-long sentences into words)."""
    units: list[_Unit] = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        if _words(paragraph) <= max_words // 2:
            units.append(_Unit(paragraph, True))
            continue
        first = True
        for sentence in _SENTENCE_END.split(paragraph):
            words = sentence.split()
            for start in range(0, len(words), max_words // 2):
                units.append(_Unit(" ".join(words[start : start + max_words // 2]), first))
                first = False
    return units


def _overlap(units: list[_Unit], overlap_words: int) -> list[_Unit]:
    """The last few units (sentences or short paragraphs) of a piece, up to `overlap_words`."""
    kept: list[_Unit] = []
    for unit in reversed(units):
        if _words_in(kept) + _words(unit.text) > overlap_words:
            break
        kept.insert(0, unit)
    return kept


def _join(units: list[_Unit]) -> str:
    text = units[0].text
    for unit in units[1:]:
        text += ("\n\n" if unit.starts_paragraph else " ") + unit.text
    return text.strip()


def _words_in(units: list[_Unit]) -> int:
    return sum(_words(u.text) for u in units)


def _words(text: str) -> int:
    return len(text.split())
