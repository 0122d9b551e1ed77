"""An answer's content, composed from the sections the search found and the documents' trees.

- A question about one section gets the sentences of it that answer (knowledge.excerpts).
- A question about a parent (« les balises », « la famille coopération ») or a list question gets the
  parent's overview, its children (each title with its first sentence) and their number.
- « combien … » gets the number, stated in the text or counted from the tree, and what was counted.
- « quelle différence entre A et B » gets both, one after the other, each cited.
- A follow-up gets what was not shown yet (`Shown`): the next items, other sentences, or nothing.

Pure and blocking (new sentences are embedded): called from a worker thread.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from knowledge.excerpts import ExcerptChooser
from knowledge.folding import fold_accents
from knowledge.french_numbers import NUMBER_WORDS, number_in
from knowledge.outline import Node, Outline
from knowledge.question_kind import Kind, QuestionKind

# A list longer than this is summarised: the first items with their first sentence, then « demandez-moi ».
LIST_ITEMS = 7
# Characters a list's glosses may take, for a message that stays readable on a phone.
LIST_CHARS = 1300
# How far (in cosine) below the best section another may be and still answer a follow-up the best
# one has nothing more for: the « voir aussi » margin (handlers.questions.answers).
FOLLOW_UP_MARGIN = 0.03
# Words of a section that tells a list in its sentences, shown whole up to this (about LIST_CHARS).
LIST_WORDS = 200
# How many of the best sections a count looks through for the one that states its number.
COUNT_HITS = 3
# The parent's overview shown above its list, in words.
OVERVIEW_WORDS = 60


@dataclass(frozen=True)
class Passage:
    """Where a search hit sits: its document and its section's heading path."""

    collection: str
    source: str
    heading_path: tuple[str, ...]


@dataclass(frozen=True)
class Item:
    title: str
    gloss: str
    # How many children it has itself (a family's balises), 0 for a leaf.
    size: int = 0


@dataclass(frozen=True)
class Count:
    number: int
    # What was counted, as the member named it (« balises »), or the parent's children's kind.
    noun: str
    # The node counted in (« Les balises du référentiel »).
    within: str
    # A stated count: the sentence that states it; None when counted from the tree.
    stated: str | None = None
    # Counted in sub-parts: each part's title and count (« Famille engagement », 6), and what they are.
    parts: tuple[tuple[str, int], ...] = ()
    groups: str = ""


@dataclass(frozen=True)
class Block:
    source: str
    heading_path: tuple[str, ...]
    sentences: tuple[str, ...] = ()
    items: tuple[Item, ...] = ()
    # How many items there are in all (the list may show fewer), 0 for no list.
    total: int = 0
    # Items already shown before this block (a follow-up's « la suite »).
    offset: int = 0
    count: Count | None = None
    # A comparison's side, as the member wrote it.
    side: str | None = None
    # What a list's items are (« balises », « familles »).
    noun: str = ""

    @property
    def more(self) -> int:
        return max(0, self.total - self.offset - len(self.items))

    @property
    def empty(self) -> bool:
        return not (self.sentences or self.items or self.count)


@dataclass(frozen=True)
class Shown:
    """What an earlier answer in the thread showed: a follow-up shows something else."""

    sentences: frozenset[str] = frozenset()
    items: frozenset[str] = frozenset()
    counts: frozenset[int] = frozenset()

    def adding(self, composition: Composition) -> Shown:
        blocks = composition.blocks
        return Shown(
            self.sentences | {s for b in blocks for s in b.sentences},
            self.items | {i.title for b in blocks for i in b.items},
            self.counts | {b.count.number for b in blocks if b.count},
        )


# A thread's first answer: nothing shown before it.
NOTHING_SHOWN = Shown()


@dataclass(frozen=True)
class Composition:
    blocks: tuple[Block, ...] = ()

    @property
    def empty(self) -> bool:
        return all(b.empty for b in self.blocks)


@dataclass(frozen=True)
class Hit:
    passage: Passage
    # The question that found it, and its vector (a comparison's side has its own).
    question: str
    vector: np.ndarray | None = field(default=None, compare=False)
    # Its cosine to the question: how close a lower hit is to the best.
    score: float = 0.0


class Composer:
    def __init__(self, chooser: ExcerptChooser) -> None:
        self.chooser = chooser
        self.analyzer = chooser.analyzer

    def compose(
        self,
        question: QuestionKind,
        hits: Sequence[Hit],
        outlines: dict[tuple[str, str], Outline],
        shown: Shown = NOTHING_SHOWN,
    ) -> Composition:
        """`hits`: the best section first; for a comparison, one per side (`question.sides`)."""
        placed: list[tuple[Hit, Outline, Node]] = []
        for found in hits:
            outline, node = self._place(found, outlines)
            if outline is not None and node is not None:
                placed.append((found, outline, node))
        if not placed:
            return Composition()
        if question.kind is Kind.COMPARE and question.sides and len(placed) >= 2:
            sides = []
            for (hit, _, node), side in zip(placed[:2], question.sides, strict=False):
                sides.append(self._section(hit, node, shown, side=side))
            return Composition(tuple(sides))
        hit, outline, node = placed[0]
        if question.kind is Kind.COUNT:
            return Composition((self._count(question, *self._stating(question, placed), shown),))
        best: tuple[float, Hit | None, Node | None, list[Node]] = (0.0, None, None, [])
        for rank, (other, other_outline, other_node) in enumerate(placed):
            if rank and question.kind is not Kind.LIST:
                break
            score, parent, members = self._parent(question, other, other_outline, other_node)
            # A lower hit's parent must do better than the best hit's.
            if parent is not None and score - 0.5 * rank > best[0]:
                best = (score - 0.5 * rank, other, parent, members)
        if best[1] is not None and best[2] is not None:
            inline = self._inline_list(question, placed, best[2], best[3], shown)
            if inline is not None:
                return Composition((inline,))
            return Composition((self._list(best[1], best[2], best[3], question, shown),))
        block = self._section(hit, node, shown)
        if block.empty and shown.sentences:
            # A follow-up the best section has said all it could to: the next section about as close.
            for other, _, other_node in placed[1:]:
                if other.score < hit.score - FOLLOW_UP_MARGIN or other_node is node:
                    continue
                following = self._section(other, other_node, shown)
                if not following.empty:
                    return Composition((following,))
        return Composition((block,))

    def _stating(self, question: QuestionKind, placed: list[tuple[Hit, Outline, Node]]) -> tuple[Hit, Outline, Node]:
        """For a count, the first of the best sections whose own text states the number of what is counted
        (« l'alliance comptait plus de 1400 organisations »), when the best one does not: the sections
        the search puts level are often neighbours, one of which says it."""
        nouns = self._stems(_original(placed[0][0].question, question.counted) or "")
        best = placed[0][0].score
        if nouns:
            for found, outline, node in placed[:COUNT_HITS]:
                # Level with the best, and named for the rest of the question (« l'alliance » in « L'alliance
                # et sa charte »): else the number it states is of something else (« demi-journées »).
                level = found.score >= best - FOLLOW_UP_MARGIN
                named = found is placed[0][0] or (self._stems(found.question) - nouns) & self._stems(node.title)
                if level and named and self._stated(node.text, nouns):
                    return found, outline, node
        return placed[0]

    def _inline_list(
        self,
        question: QuestionKind,
        placed: list[tuple[Hit, Outline, Node]],
        parent: Node,
        members: list[Node],
        shown: Shown,
    ) -> Block | None:
        """A list told in a section's sentences (« La charte fixe quatre ambitions : … », « Elle combine trois
        outils : … », « Les cercles de la communauté » and its text), when the parent found does not name
        what is listed: its children would be other things."""
        listed = self._stems(_original(placed[0][0].question, question.listed) or "")
        if question.kind is not Kind.LIST or not listed:
            return None
        titles = [self._stems(m.title) for m in members]
        if (
            listed & self._stems(parent.title)
            or listed & _common_terms(titles)
            or self._stated(parent.overview, listed)
        ):
            return None
        best = placed[0][0].score
        for found, _, node in placed[:COUNT_HITS]:
            level = found.score >= best - FOLLOW_UP_MARGIN
            named = found is placed[0][0] or (self._stems(found.question) - listed) & self._stems(node.title)
            if not (level and named) or node.items or not node.text:
                continue
            stated = self._stated(node.text, listed)
            if stated is None and not listed <= self._stems(node.title):
                continue
            told = {stated[1]} if stated else set()
            # A list is read whole: a section of a list's length is shown whole.
            excerpt = self.chooser.choose(
                found.question,
                found.vector,
                node.text,
                skip=shown.sentences,
                prefer=told.__contains__,
                short=LIST_WORDS,
            )
            return Block(found.passage.source, node.path, excerpt.sentences)
        return None

    def side_hits(self, sides: tuple[str, str], hits: Sequence[Hit]) -> list[Hit] | None:
        """Each side of a comparison in the sections the whole question found, by the words of its
        own the section's title has (« Agora » for « la journée Agora », « pairs » for « les journées
        entre pairs »): no search of its own. None when a side has none, or both land in one section."""
        stems = [self._stems(side) for side in sides]
        picks = []
        for own, other in ((stems[0], stems[1]), (stems[1], stems[0])):
            scored = [
                (len((own - other) & self._stems(h.passage.heading_path[-1])), -rank, h)
                for rank, h in enumerate(hits)
                if h.passage.heading_path
            ]
            best = max(scored, key=lambda t: (t[0], t[1]), default=None)
            if best is None or best[0] == 0:
                return None
            picks.append(best[2])
        if picks[0].passage == picks[1].passage:
            return None
        return [replace(pick, question=side) for pick, side in zip(picks, sides, strict=True)]

    def tells_both(self, sides: tuple[str, str], text: str) -> bool:
        """Whether one section's text names both sides of a comparison, each by every word of its own
        (« le noyau initial » and « le groupe d'activation », two circles of one section): then that
        section compares them, and a side searched alone would only find its words elsewhere."""
        stems = [self._stems(side) for side in sides]
        told = self._stems(text)
        own = (stems[0] - stems[1], stems[1] - stems[0])
        return all(words and words <= told for words in own)

    # -- where a hit is --------------------------------------------------------------------

    @staticmethod
    def _place(hit: Hit, outlines: dict[tuple[str, str], Outline]) -> tuple[Outline | None, Node | None]:
        outline = outlines.get((hit.passage.collection, hit.passage.source))
        return outline, outline.node(hit.passage.heading_path) if outline else None

    def _stems(self, text: str) -> set[str]:
        return {t for t in self.analyzer.terms(text) if not t.startswith("#")}

    def _parent(
        self, question: QuestionKind, hit: Hit, outline: Outline, node: Node
    ) -> tuple[float, Node | None, list[Node]]:
        """The parent the question is about, and the children of it to list, with how sure that is;
        (0, None, []) when the question is about one section."""
        asked = self._stems(hit.question)
        listed = self._stems(question.listed or "")
        own = [node] if node.items else []
        parent = outline.parent(node)
        if parent is not None and parent.lead is node:
            own.append(parent)
        if question.kind is not Kind.LIST:
            # « la famille coopération », « parle-moi des balises »: the hit is a parent's own text.
            return (1.0, own[0], own[0].items) if own and node.items else (0.0, None, [])
        best: tuple[float, Node | None, list[Node]] = (0.9, None, [])
        for depth, candidate in enumerate([node, *outline.ancestors(node)]):
            items = candidate.items
            if len(items) < 2:
                continue
            title_terms = self._stems(candidate.title)
            score = len(asked & title_terms) + (0.5 if candidate in own else 0.0) - 0.01 * depth
            # Its title names what is listed (« Les balises du référentiel » for « quelles sont les balises »).
            score += 2 * len(listed & title_terms)
            kind_terms = _common_terms([self._stems(i.title) for i in items])
            child_kind = {t for t in asked - title_terms if _in_most([self._stems(i.title) for i in items], t)}
            if kind_terms & (listed or asked) or child_kind:
                score += 2
            # The question names one of its children whole (« la famille coopération »): it is about that one.
            if any(self._stems(i.title) <= asked and i.items for i in items):
                score -= 3
            enumerated = self._enumerated(candidate.overview, items)
            if enumerated:
                score, items = score + 1.0, enumerated
            stated = self._stated(candidate.overview, listed or asked)
            if stated:
                # The overview counts what is asked (« six balises »): it is about them.
                score += 1.5 + (0.5 if stated[0] == len(items) else 0.0)
                # It names fewer than its children (« quatre rendez-vous », one more section after): those.
                named = [i for i in items if self._stems(i.title) & self._stems(stated[1])]
                if stated[0] < len(items) and len(named) == stated[0]:
                    items = named
            if question.number is not None:
                score += 2 if question.number == len(items) else -1
            # The children whose titles name what is listed (« les deux phases »): those only.
            picked = [i for i in items if listed and self._stems(i.title) & listed]
            if 2 <= len(picked) < len(items):
                picked_score = len(asked & title_terms) + 2 + (2 if question.number == len(picked) else 0)
                if picked_score > score:
                    score, items = picked_score, picked
            if score > best[0]:
                best = (score, candidate, items)
        return best

    def _enumerated(self, text: str, items: list[Node]) -> list[Node]:
        """The children an overview's sentence counts and names (« trois manières : en cohorte, de façon
        expérimentale ou par des appuis ponctuels »), when the node has more children than that."""
        # Each child by the words of its title its siblings do not share (« cohorte », not « accompagnement »).
        titles = [self._stems(i.title) for i in items]
        shared = _common_terms(titles)
        for sentence in _sentences(text):
            terms = self._stems(sentence)
            named = [i for i, title in zip(items, titles, strict=True) if (title - shared) & terms]
            for found in _NUMBER_THEN_WORDS.finditer(sentence):
                value = number_in(found.group(1))
                if value is not None and 2 <= value < len(items) and len(named) == value:
                    return named
        return []

    def _stated(self, text: str, nouns: set[str]) -> tuple[int, str] | None:
        """A number the text gives for one of `nouns` (« elle rassemble six balises »), and its sentence."""
        if not nouns:
            return None
        for sentence in _sentences(text):
            # The number right before the noun, an adjective between at most (« six balises »,
            # « quatre rendez-vous complémentaires »): « En 2023, onze permanences » counts permanences.
            for found in _NUMBER_THEN_WORDS.finditer(sentence):
                value = number_in(found.group(1))
                if value is None or value < 2 or 1900 <= value <= 2100:
                    continue
                if self._stems(found.group(2)) & nouns:
                    return value, sentence
        return None

    def _stated_in(self, node: Node, nouns: set[str]) -> tuple[int, str] | None:
        """A number `node` gives for one of `nouns`: in its overview, or in the heading of the lead child
        that introduces its sections (« Trois formes d'accompagnement », whose text says « trois
        manières »). The overview's sentence that repeats the number is the one quoted, if there is one."""
        stated = self._stated(node.overview, nouns)
        lead = node.lead
        if stated is not None or lead is None:
            return stated
        titled = self._stated(lead.title, nouns)
        if titled is None:
            return None
        value = titled[0]
        repeated = (s for s in _sentences(node.overview) if any(number_in(w) == value for w in _WORDS.findall(s)))
        return value, next(repeated, titled[1])

    # -- shapes of answers -----------------------------------------------------------------

    def _section(self, hit: Hit, node: Node, shown: Shown, side: str | None = None) -> Block:
        text = node.text or node.overview
        excerpt = self.chooser.choose(hit.question, hit.vector, text, skip=shown.sentences)
        if not excerpt.sentences and node.items and not side:
            return self._list(hit, node, node.items, QuestionKind(Kind.LIST), shown)
        return Block(hit.passage.source, node.path, excerpt.sentences, side=side)

    def _list(self, hit: Hit, parent: Node, members: list[Node], question: QuestionKind, shown: Shown) -> Block:
        overview = parent.overview
        sentences: tuple[str, ...] = ()
        if overview:
            shared = _common_terms([self._stems(m.title) for m in members])
            titles = [self._stems(m.title) - shared for m in members]

            def enumerates(sentence: str) -> bool:
                # The sentence that names the children (« l'élu, l'agent, l'État territorial et… »).
                terms = self._stems(sentence)
                return sum(1 for title in titles if title & terms) >= min(2, len(titles))

            excerpt = self.chooser.choose(
                hit.question,
                hit.vector,
                overview,
                skip=shown.sentences,
                prefer=enumerates,
                words=OVERVIEW_WORDS,
                short=OVERVIEW_WORDS,
            )
            # A list shown whole already says what its overview's enumeration says.
            sentences = excerpt.sentences if not shown.items else ()
        offset = len([m for m in members if m.title in shown.items])
        waiting = [m for m in members if m.title not in shown.items]
        items: list[Item] = []
        used = 0
        for member in waiting:
            item = Item(member.title, member.gloss, len(member.items))
            if items and (len(items) >= LIST_ITEMS or used + len(item.title) + len(item.gloss) > LIST_CHARS):
                break
            items.append(item)
            used += len(item.title) + len(item.gloss)
        listed = self._stems(question.listed or "")
        named = listed and (
            listed & _common_terms([self._stems(m.title) for m in members])
            or all(self._stems(m.title) & listed for m in members)
            or self._stated(parent.overview, listed)
        )
        member_titles = [m.title for m in members]
        if named:
            # As the member wrote it (« étapes », where the question was read folded).
            noun = _written(hit.question, listed, self._stems) or question.listed or ""
        else:
            noun = self._noun_of(parent.overview, len(members), member_titles)
        # « Les 4 fantastiques — 4 fantastiques » says nothing: the number alone, then.
        if self._stems(noun) & self._stems(parent.title):
            noun = ""
        return Block(
            hit.passage.source,
            parent.path,
            sentences,
            tuple(items),
            total=len(members),
            offset=offset,
            noun=noun,
        )

    def _noun_of(self, overview: str, size: int, titles: list[str]) -> str:
        """What the children are called: the overview's word after their number (« elle comprend six
        balises »), else the word their titles share (« Famille … »), else « parties »."""
        for sentence in _sentences(overview):
            for found in _NUMBER_THEN_WORDS.finditer(sentence):
                if number_in(found.group(1)) == size:
                    return found.group(2).split()[0].strip(".,;:")
        return _kind_noun(titles)

    def _count(self, question: QuestionKind, hit: Hit, outline: Outline, node: Node, shown: Shown) -> Block:
        noun = _original(hit.question, question.counted)
        nouns = self._stems(noun or "")
        asked = self._stems(hit.question)
        best: tuple[float, Node | None] = (0.0, None)
        for depth, candidate in enumerate([node, *outline.ancestors(node)]):
            stated_here = self._stated_in(candidate, nouns)
            if len(candidate.items) < 2 and not stated_here:
                continue
            # What is counted is one of its children by name (« les communautés apprenantes », one of the
            # rendez-vous): its siblings are no count of it.
            if nouns and not stated_here and any(nouns <= self._stems(i.title) for i in candidate.items):
                continue
            title_terms = self._stems(candidate.title)
            # With no noun counted (« et combien y en a-t-il ? »), what the thread asked about is what the title
            # must name: it weighs as a noun would, above the section the search happened to rank first.
            asked_weight = 1.0 if nouns else 2.0
            score = 2.0 * len(nouns & title_terms) + asked_weight * len((asked - nouns) & title_terms) - 0.01 * depth
            if stated_here:
                score += 1
            # Its children count what is asked (« Il réunit trois fiches »): it holds them all.
            if nouns and any(self._stated(i.overview, nouns) for i in candidate.items):
                score += 1.5
            if nouns & self._stems(candidate.overview):
                score += 1
            if candidate is node or candidate.lead is node:
                score += 0.5 if nouns else 1.0
            if score > best[0]:
                best = (score, candidate)
        within = best[1]
        if within is None:
            # Not a count of parts: the sentence that gives the number, from the section found.
            text = node.text or node.overview
            # A number before the noun counted; else, in a section about it, any number (« Quatre COMAP
            # existent », the member having said « communautés apprenantes »).
            number = _number_near(noun)
            if not any(number.search(fold_accents(sentence)) for sentence in _sentences(text)):
                number = _number_near(None)
            excerpt = self.chooser.choose(
                hit.question,
                hit.vector,
                text,
                skip=shown.sentences,
                prefer=lambda sentence: bool(number.search(fold_accents(sentence))),
            )
            total = _cardinal_then_ordinal(excerpt.sentences)
            if total is not None and total not in shown.counts:
                # « Trois sont consacrées à la méthode… Une quatrième est thématique »: four in all.
                told = " ".join(excerpt.sentences)
                written = _written(hit.question, nouns, self._stems) or noun or ""
                return Block(hit.passage.source, node.path, count=Count(total, written, node.title, stated=told))
            return Block(hit.passage.source, node.path, excerpt.sentences)
        items = within.items
        if nouns:
            # As the member wrote it, accents and capitals included (« COMAP », not « comap »).
            noun = _written(hit.question, nouns, self._stems) or noun
        if not nouns:
            # « et combien y en a-t-il ? »: of what the question and the parent's title both name.
            nouns = asked & self._stems(within.title)
            noun = _written(hit.question, nouns, self._stems)
        item_terms = _common_terms([self._stems(i.title) for i in items])
        stated = self._stated_in(within, nouns) if nouns else None
        count: Count
        if stated is not None:
            count = Count(stated[0], noun or "", within.title, stated=stated[1])
        elif nouns and not (nouns & item_terms) and items and all(i.items for i in items):
            # What is counted is below the children (the balises of the families): counted in each.
            parts = tuple((i.title, len(i.items)) for i in items)
            groups = _kind_noun([i.title for i in items])
            count = Count(sum(n for _, n in parts), noun or "", within.title, parts=parts, groups=groups)
        else:
            count = Count(len(items), noun or _kind_noun([i.title for i in items]), within.title)
        if count.number in shown.counts:
            # Already said: the follow-up wants what is counted, then.
            return self._list(hit, within, items, QuestionKind(Kind.LIST), shown)
        return Block(hit.passage.source, within.path, count=count)


_WORDS = re.compile(r"[\w-]+")
# A word and the one or two after it, at every word (a lookahead: matches overlap).
_NUMBER_THEN_WORDS = re.compile(r"(?<![\w-])([\w-]+)(?=\s+((?:[\w'-]+\s+)?[\w'-]+))")


def _sentences(text: str) -> list[str]:
    from knowledge.chunking import split_sentences

    return split_sentences(text)


def _original(question: str, folded: str | None) -> str | None:
    """The question's own word for a word read folded (« journées » for « journees »): accents change
    the stem the lexical analyser gives, so the document's « journées » is matched by the former only."""
    if folded is None:
        return None
    return next((w for w in re.findall(r"[\w-]+", question) if fold_accents(w).lower() == folded), folded)


def _written(question: str, stems: set[str], stemmer: Callable[[str], set[str]]) -> str | None:
    """The question's word for one of these stems, in the plural (« balise » -> « balises »)."""
    words: list[str] = re.findall(r"[\w-]+", question)
    for word in words:
        if stemmer(word) & stems:
            return word if word.endswith(("s", "x")) or not word.islower() else word + "s"
    return None


def _common_terms(title_terms: list[set[str]]) -> set[str]:
    """Terms most children's titles share (« famille » in « Famille engagement », « Famille valeur »…)."""
    counts = Counter(t for terms in title_terms for t in terms)
    return {t for t, n in counts.items() if len(title_terms) >= 2 and n >= max(2, (len(title_terms) + 1) // 2)}


def _in_most(title_terms: list[set[str]], term: str) -> bool:
    return term in _common_terms(title_terms)


def _kind_noun(titles: list[str]) -> str:
    """What the children are called when the question did not say (« combien y en a-t-il ? »)."""
    words = Counter(w for t in titles for w in dict.fromkeys(re.findall(r"[\w-]{4,}", t.lower())))
    common: list[str] = [w for w, n in words.most_common(1) if n >= max(2, (len(titles) + 1) // 2)]
    if not common:
        return "parties"
    return common[0] if common[0].endswith(("s", "x")) else common[0] + "s"


def _number_near(noun: str | None) -> re.Pattern[str]:
    """A number in digits or words, before the counted noun when there is one."""
    numbers = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
    stem = fold_accents(noun)[:5] if noun else ""
    near = rf"(?:\s+[\w'-]+){{0,2}}\s+{re.escape(stem)}" if stem else ""
    return re.compile(rf"\b(?:\d+|{numbers}|dizaine|vingtaine|trentaine|cinquantaine|centaine){near}")


def _ordinal(word: str) -> str:
    """« quatre » -> « quatrieme », « cinq » -> « cinquieme », « neuf » -> « neuvieme » (folded)."""
    stem = {"cinq": "cinqu", "neuf": "neuv"}.get(word, word.removesuffix("e"))
    return stem + "ieme"


_ORDINALS = {_ordinal(word): value for word, value in NUMBER_WORDS.items() if 2 <= value <= 20}


def _cardinal_then_ordinal(sentences: Sequence[str]) -> int | None:
    """A count told item by item, « trois … une quatrième », is the ordinal's number: the text names N
    things, then one more as the (N+1)th."""
    cardinals: set[int] = set()
    for sentence in sentences:
        for word in re.findall(r"[\w-]+", fold_accents(sentence).lower()):
            value = NUMBER_WORDS.get(word) or (int(word) if word.isdigit() and len(word) < 3 else None)
            if value is not None and value >= 2:
                cardinals.add(value)
            ordinal = _ORDINALS.get(word)
            if ordinal is not None and ordinal - 1 in cardinals:
                return ordinal
    return None
