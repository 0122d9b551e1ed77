"""Asking back when it is a toss-up: « Vous cherchez plutôt : 1. … 2. … ? » (issue 19, point 5).

When the two best sections are near-equal in the ranking's own score and neither contains the other,
the bot asks which one was meant, as a poll and as numbered text; a vote or a typed number gets that
section's answer at once (handlers/questions/answers.py). Never twice in a row: the answer to a choice
never asks back, and a member who asks something else meanwhile gets a plain answer.
"""

from __future__ import annotations

import json
import re

from handlers.replies import Poll, PollChoice, Reply
from handlers.text import fold_for_matching
from knowledge.composition import Passage
from knowledge.outline import Node, Outline
from knowledge.question_kind import Kind, QuestionKind
from knowledge.search import SearchResponse, SearchResult
from storage.questions import CHOICE_ASK_TAG, CHOICE_TAG

# How near (in the ranking's fused score: standardised cosine + 0.5 × standardised BM25) the second
# section may be to the first for a toss-up. Measured on bench/eval (scripted over search_sync): at 0.12
# it fires on 2 of the 88 answered in-domain questions of questions.jsonl (in one the second section was
# the expected one, in the other neither), 1 of 19 held-out, 1 of 47 in answers.jsonl; at 0.15, 4 of 88
# but 3 of 19 held-out. A change of the ranking's scale calls for measuring it again.
TOSS_UP_MARGIN = 0.12
QUESTION = "Vous cherchez plutôt :"
# « 2 », « le 1 », « n°2 », « la deuxième », « choix 1. »: the choice, typed.
_TYPED = re.compile(r"^(?:(?:le|la|choix|n|no|numero|option)\s*)?(1|2|premier|premiere|deuxieme|second|seconde)$")
_ORDINALS = {"premier": 1, "premiere": 1, "deuxieme": 2, "second": 2, "seconde": 2}


def sections(response: SearchResponse) -> list[SearchResult]:
    """The sections found, best first, each once (a long section's chunks share its heading path)."""
    seen: set[tuple[str, ...]] = set()
    found = []
    for result in response.results:
        if result.heading_path not in seen:
            seen.add(result.heading_path)
            found.append(result)
    return found


def toss_up(reading: QuestionKind, response: SearchResponse) -> tuple[SearchResult, SearchResult] | None:
    """The two sections a question hesitates between, by score, or None. Lists, counts and comparisons
    are composed from several sections already: only a question about one thing asks back. Whether one
    contains the other is for `nested` to say, from the documents' trees."""
    if reading.kind is not Kind.OTHER or not response.answered:
        return None
    found = sections(response)
    if len(found) < 2:
        return None
    first, second = found[0], found[1]
    if not first.fused - second.fused < TOSS_UP_MARGIN:
        return None
    return first, second


def upper(first: SearchResult, second: SearchResult, outlines: dict[tuple[str, str], Outline]) -> SearchResult | None:
    """Of two sections one of which contains the other (its ancestor, or the overview of one of its
    ancestors: the lead section that introduces its siblings, « Les balises, des repères partagés » for a
    balise), the containing one: its answer shows the other in its list, so there is nothing to ask.
    None when neither contains the other."""
    if (first.collection, first.source) != (second.collection, second.source):
        return None
    outline = outlines.get((first.collection, first.source))
    if outline is None:
        return None
    a, b = outline.node(first.heading_path), outline.node(second.heading_path)
    if a is None or b is None:
        return None
    return first if _above(outline, a, b) else second if _above(outline, b, a) else None


def _above(outline: Outline, upper: Node, lower: Node) -> bool:
    return any(upper is node or upper is node.lead for node in outline.ancestors(lower))


def typed_choice(text: str) -> int | None:
    """The option a typed message picks (1 or 2), or None when it says something else."""
    folded = " ".join(fold_for_matching(text).split())
    found = _TYPED.match(folded)
    if found is None:
        return None
    word = found.group(1)
    return int(word) if word.isdigit() else _ORDINALS[word]


def ask_back(record_id: int, pair: tuple[SearchResult, SearchResult], labels: tuple[str, str]) -> Reply:
    """The question, numbered for every client, and as a poll where clients show polls. The poll's tag
    keeps which sections were offered (the référentiel's words, never the member's): in a confidential
    room, whose question is not kept, the choice still finds its section."""
    return Reply(
        template="questions/choice.md.j2",
        context={"question": QUESTION, "labels": list(labels)},
        tag=f"{CHOICE_ASK_TAG}{record_id}",
        poll=Poll(
            question=QUESTION,
            choices=tuple(PollChoice(str(i), label) for i, label in enumerate(labels, 1)),
            tag=f"{CHOICE_TAG}{record_id}:" + json.dumps([_where(r) for r in pair], ensure_ascii=False),
        ),
    )


def offered(poll_tag: str) -> list[Passage]:
    """The sections a question asked back offered, in their order, from its poll's tag."""
    try:
        rows = json.loads(poll_tag.split(":", 2)[2])
        return [Passage(str(c), str(s), tuple(str(h) for h in path)) for c, s, path in rows]
    except (IndexError, ValueError, TypeError):
        return []


def _where(result: SearchResult) -> list[object]:
    return [result.collection, result.source, list(result.heading_path)]
