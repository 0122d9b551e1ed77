"""A document as the tree its headings make: document › section › sub-section.

The chunks keep each section's heading path, so the tree is rebuilt from them (a heading with no
text of its own, « ## Famille engagement » directly followed by its sub-sections, left no chunk but
still names its children in their paths). Answers use it: a question about a parent gets its
overview and the list of its children, and « combien … » can be counted from it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from knowledge.chunking import split_sentences


@dataclass
class Node:
    title: str
    # Headings from the document title down to this node's own (included).
    path: tuple[str, ...]
    # The node's own text, before any of its children.
    text: str = ""
    children: list[Node] = field(default_factory=list)

    @property
    def lead(self) -> Node | None:
        """A first child that introduces its siblings (« ## Panorama de l'animation » before the
        rendez-vous it names), when the node has no text of its own: it is the node's overview."""
        if self.text.strip() or len(self.children) < 3:
            return None
        first = self.children[0]
        return first if not first.children and first.text.strip() else None

    @property
    def overview(self) -> str:
        """What the node says about itself: its own text, or its lead child's."""
        if self.text.strip():
            return self.text
        lead = self.lead
        return lead.text if lead is not None else ""

    @property
    def items(self) -> list[Node]:
        """The children it is made of, its lead child aside."""
        lead = self.lead
        return [child for child in self.children if child is not lead]

    @property
    def gloss(self) -> str:
        """Its first sentence: what a list of siblings shows of it."""
        sentences = split_sentences(self.overview)
        return sentences[0] if sentences else ""

    def leaves(self) -> list[Node]:
        return [leaf for item in self.items for leaf in (item.leaves() if item.items else [item])]

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class Outline:
    """One document's tree; `root` is the document itself (its title, its text before any section)."""

    source: str
    root: Node
    _by_path: dict[tuple[str, ...], Node] = field(default_factory=dict, repr=False)

    def node(self, path: Sequence[str]) -> Node | None:
        return self._by_path.get(tuple(path))

    def ancestors(self, node: Node) -> list[Node]:
        """From its parent up to the document."""
        found = []
        for depth in range(len(node.path) - 1, 0, -1):
            parent = self._by_path.get(node.path[:depth])
            if parent is not None:
                found.append(parent)
        return found

    def parent(self, node: Node) -> Node | None:
        ancestors = self.ancestors(node)
        return ancestors[0] if ancestors else None


def build_outline(source: str, sections: Iterable[tuple[Sequence[str], str]]) -> Outline:
    """The tree of a document from its chunks, in document order: (heading path, text) pairs. The
    chunks of one long section are joined back, the sentences their overlap repeats once."""
    by_path: dict[tuple[str, ...], Node] = {}
    root: Node | None = None
    for heading_path, text in sections:
        path = tuple(heading_path)
        if not path:
            continue
        if root is None:
            root = by_path[path[:1]] = Node(path[0], path[:1])
        for depth in range(2, len(path) + 1):
            prefix = path[:depth]
            if prefix not in by_path:
                node = Node(prefix[-1], prefix)
                by_path[prefix] = node
                by_path.get(prefix[:-1], root).children.append(node)
        node = by_path.get(path, root)
        node.text = _join(node.text, text)
    if root is None:
        root = Node(source, (source,))
    return Outline(source, root, by_path)


def _join(before: str, after: str) -> str:
    """Two chunks of one section: the second's first sentences repeat the end of the first."""
    if not before.strip():
        return after.strip()
    previous = split_sentences(before)
    following = split_sentences(after)
    overlap = 0
    for size in range(min(len(previous), len(following)), 0, -1):
        if [_plain(s) for s in previous[-size:]] == [_plain(s) for s in following[:size]]:
            overlap = size
            break
    return (before.strip() + "\n\n" + " ".join(following[overlap:])).strip()


def _plain(sentence: str) -> str:
    return re.sub(r"\s+", " ", sentence).strip()
