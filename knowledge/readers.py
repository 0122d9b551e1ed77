"""Documents -> sections: each reader turns one file into a title and a list of sections, each
with the path of headings above it, so that every format reaches the chunker in the same shape.

Formats: Markdown, plain text, HTML (h1–h6 are headings), PDF (text per page; headings come
from the PDF outline when it has one, else from numbered lines such as « 2.1 Le diagnostic »).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # The parsers are imported when a document of their format is read, not with this module.
    from markdown_it.token import Token
    from pypdf import PdfReader
    from pypdf.generic import Destination

    # pypdf's outline: entries, and lists of the children of the entry before them.
    _Outline = Sequence[Destination | "_Outline"]

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf")


@dataclass(frozen=True)
class Section:
    # Headings from the document title down to this section's own heading (included).
    heading_path: tuple[str, ...]
    text: str

    @property
    def heading(self) -> str:
        return self.heading_path[-1]


@dataclass(frozen=True)
class Document:
    source: str
    title: str
    sections: tuple[Section, ...] = field(default_factory=tuple)


class UnsupportedFormat(ValueError):
    pass


def read_document(path: Path, source: str | None = None) -> Document:
    """Read one file; `source` is the name stored with its chunks (defaults to the file name)."""
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise UnsupportedFormat(f"format non pris en charge : {path.name}")
    title, sections = reader(path)
    return Document(source=source or path.name, title=title, sections=tuple(sections))


def title_from_filename(path: Path) -> str:
    """« 02-modes_de_faire.md » -> « modes de faire »: the title when a document declares none."""
    stem = re.sub(r"^\d+[-_. ]+", "", path.stem)
    return re.sub(r"[-_]+", " ", stem).strip() or path.stem


class _SectionBuilder:
    """Collects text under a stack of headings, the common core of the structured readers.

    The first level-1 heading met before any other heading or text is the document title; it
    is not repeated under itself. Any later heading nests under the title.
    """

    def __init__(self, fallback_title: str) -> None:
        self.title = fallback_title
        self._title_taken = False
        self._stack: list[tuple[int, str]] = []
        self._buffer: list[str] = []
        self.sections: list[Section] = []

    def heading(self, level: int, text: str) -> None:
        text = " ".join(text.split())
        if not text:
            return
        if level == 1 and not self._title_taken and not self._stack and not self._has_text():
            self.title, self._title_taken = text, True
            return
        self._flush()
        self._title_taken = True
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, text))
        # A heading with no text under it still needs a (empty) section, so the chunker can see it.
        self.sections.append(Section(self._path(), ""))

    def text(self, text: str) -> None:
        self._buffer.append(text)

    def finish(self) -> tuple[str, list[Section]]:
        self._flush()
        return self.title, list(self.sections)

    def _has_text(self) -> bool:
        return any(part.strip() for part in self._buffer)

    def _path(self) -> tuple[str, ...]:
        return (self.title, *(h for _, h in self._stack))

    def _flush(self) -> None:
        body = normalise_text("\n\n".join(self._buffer))
        self._buffer = []
        if not body:
            return
        if self.sections and self.sections[-1].heading_path == self._path() and not self.sections[-1].text:
            self.sections[-1] = Section(self._path(), body)
        else:
            self.sections.append(Section(self._path(), body))
        self._title_taken = True


def normalise_text(text: str) -> str:
    """Collapse spaces inside lines, keep paragraph breaks (blank lines) as the chunker's cut points."""
    paragraphs = re.split(r"\n\s*\n", text)
    cleaned = []
    for paragraph in paragraphs:
        lines = [" ".join(line.split()) for line in paragraph.splitlines()]
        joined = "\n".join(line for line in lines if line)
        if joined:
            cleaned.append(joined)
    return "\n\n".join(cleaned)


# --- Markdown -----------------------------------------------------------------------------------


def _read_markdown(path: Path) -> tuple[str, list[Section]]:
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(path.read_text(encoding="utf-8"))
    builder = _SectionBuilder(title_from_filename(path))
    heading_level: int | None = None
    list_depth = 0
    for token in tokens:
        if token.type == "heading_open":
            heading_level = int(token.tag[1])
        elif token.type == "heading_close":
            heading_level = None
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            list_depth += 1
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
        elif token.type == "inline":
            content = _inline_text(token)
            if heading_level is not None:
                builder.heading(heading_level, content)
            elif list_depth:
                builder.text("- " + content)
            else:
                builder.text(content)
        elif token.type in ("fence", "code_block"):
            builder.text(token.content)
    return builder.finish()


def _inline_text(token: Token) -> str:
    """Inline Markdown -> plain words: drops emphasis markers and link targets, keeps their text. Code
    keeps its backticks: it is quoted (a command, an example), which the index tells from what the
    passage is about (knowledge.chunking.without_examples)."""
    parts: list[str] = []
    for child in token.children or []:
        if child.type == "text":
            parts.append(child.content)
        elif child.type == "code_inline":
            parts.append(f"{child.markup}{child.content}{child.markup}")
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts)


# --- Plain text ---------------------------------------------------------------------------------


def _read_text(path: Path) -> tuple[str, list[Section]]:
    # Plain text has no headings: one section named after the file, split later by paragraphs.
    title = title_from_filename(path)
    body = normalise_text(path.read_text(encoding="utf-8", errors="replace"))
    return title, [Section((title,), body)] if body else []


# --- HTML ---------------------------------------------------------------------------------------

_HTML_SKIP = {"script", "style", "noscript", "template", "head", "nav", "footer"}
_HTML_BLOCKS = {
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "pre",
    "blockquote",
    "section",
    "article",
    "main",
    "table",
    "tr",
    "td",
    "th",
    "dd",
    "dt",
    "dl",
    "figcaption",
    "br",
    "header",
    "aside",
}


def _read_html(path: Path) -> tuple[str, list[Section]]:
    from bs4 import BeautifulSoup, Comment, NavigableString, Tag

    soup = BeautifulSoup(path.read_bytes(), "html.parser")
    fallback = soup.title.get_text(" ", strip=True) if soup.title else ""
    builder = _SectionBuilder(fallback or title_from_filename(path))
    buffer: list[str] = []

    def flush() -> None:
        if buffer:
            builder.text("".join(buffer))
            buffer.clear()

    def walk(node: Tag) -> None:
        for child in node.children:
            if isinstance(child, Comment):
                continue
            if isinstance(child, NavigableString):
                buffer.append(str(child))
            elif isinstance(child, Tag):
                if child.name in _HTML_SKIP:
                    continue
                if re.fullmatch(r"h[1-6]", child.name):
                    flush()
                    builder.heading(int(child.name[1]), child.get_text(" ", strip=True))
                elif child.name in _HTML_BLOCKS:
                    buffer.append("\n\n")
                    walk(child)
                    buffer.append("\n\n")
                else:
                    walk(child)

    walk(soup.body or soup)
    flush()
    return builder.finish()


# --- PDF ----------------------------------------------------------------------------------------

# « 2. Titre », « 2.1 Titre », « II. Titre », « Chapitre 3 : Titre »: short lines whose words start
# with a capital, so that a wrapped body line such as « 2 000 habitants ont… » stays text.
_PDF_HEADING = re.compile(
    r"^(?:(?:\d{1,2}(?:\.\d{1,2})*\.?|[IVXLC]+\.)\s+[A-ZÀ-ÝŒ«].{0,90}|(?:Chapitre|Partie|Annexe)\s+\S+.{0,90})$"
)


def _read_pdf(path: Path) -> tuple[str, list[Section]]:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    metadata_title = (reader.metadata.title if reader.metadata else None) or ""
    builder = _SectionBuilder(metadata_title.strip() or title_from_filename(path))
    outline = _pdf_outline(reader)
    for page_number, page in enumerate(reader.pages):
        lines = (page.extract_text() or "").splitlines()
        expected = [(level, title) for level, title, page_index in outline if page_index == page_number]
        paragraph: list[str] = []
        for raw in lines:
            line = " ".join(raw.split())
            if not line:
                if paragraph:
                    builder.text(" ".join(paragraph))
                    paragraph = []
                continue
            level = _pdf_heading_level(line, expected, bool(outline))
            if level is not None:
                if paragraph:
                    builder.text(" ".join(paragraph))
                    paragraph = []
                builder.heading(level, line)
            else:
                paragraph.append(line)
        if paragraph:
            builder.text(" ".join(paragraph))
    return builder.finish()


def _pdf_heading_level(line: str, expected: list[tuple[int, str]], has_outline: bool) -> int | None:
    if has_outline:
        # The outline is the author's own table of contents: trust it over any guess.
        for level, title in expected:
            if " ".join(title.split()) == line:
                return level
        return None
    if _PDF_HEADING.match(line) and not line.endswith((".", ",", ";", ":")):
        number = line.split()[0].rstrip(".")
        return 2 + number.count(".") if number[:1].isdigit() else 2
    return None


def _pdf_outline(reader: PdfReader) -> list[tuple[int, str, int | None]]:
    """(level, title, page index) for each outline entry; level 2 is the top (1 is the title).
    An entry pointing to no page still counts: it says the document has an outline."""
    entries: list[tuple[int, str, int | None]] = []

    def visit(items: _Outline, level: int) -> None:
        for item in items:
            if isinstance(item, Sequence):
                visit(item, level + 1)
                continue
            try:
                entries.append((level, str(item.title), reader.get_destination_page_number(item)))
            except Exception:  # a broken outline entry must not lose the document's text
                continue

    try:
        visit(reader.outline, 2)
    except Exception:
        return []
    return entries


_READERS: dict[str, Callable[[Path], tuple[str, list[Section]]]] = {
    ".md": _read_markdown,
    ".markdown": _read_markdown,
    ".txt": _read_text,
    ".html": _read_html,
    ".htm": _read_html,
    ".pdf": _read_pdf,
}
