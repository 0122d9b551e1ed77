"""`manufacture-bot feedback`: what people thought of the answers (👍/👎), per référentiel section,
counting people: each one's latest reaction on an answer, a withdrawn one not counted.

Questions from confidential rooms were never stored, so this report cannot leak them.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from typing import TypedDict

from config.cli import add_config_option, config_from
from storage.database import Database, open_database
from storage.questions import answers_given, current_votes, forwarded_questions


class SectionFeedback(TypedDict):
    heading: str
    answers: int
    up: int
    down: int


class DislikedAnswer(TypedDict):
    question: str
    heading: str | None


class FeedbackReport(TypedDict):
    questions: int
    answered: int
    abstained: int
    forwarded: int
    forwarded_answered: int
    up: int
    down: int
    sections: list[SectionFeedback]
    disliked: list[DislikedAnswer]


def build_report(db: Database) -> FeedbackReport:
    with db.session() as session:
        answers = answers_given(session)
        votes = current_votes(session)
        forwarded = forwarded_questions(session)
    by_answer = {a.id: a for a in answers}
    per_heading: dict[str, Counter[str]] = defaultdict(Counter)
    for answer in answers:
        if answer.answered:
            per_heading[answer.heading or "?"]["answers"] += 1
    disliked: list[DislikedAnswer] = []
    for vote in votes:
        voted = by_answer.get(vote.answer_id)
        if voted is None:
            continue
        per_heading[voted.heading or "?"][vote.vote] += 1
        if vote.vote == "down" and voted.question:
            disliked.append({"question": voted.question, "heading": voted.heading})
    return {
        "questions": len(answers),
        "answered": sum(a.answered for a in answers),
        "abstained": sum(not a.answered for a in answers),
        "forwarded": len(forwarded),
        "forwarded_answered": sum(q.answer is not None for q in forwarded),
        "up": sum(v.vote == "up" for v in votes),
        "down": sum(v.vote == "down" for v in votes),
        "sections": [
            {"heading": h, "answers": c["answers"], "up": c["up"], "down": c["down"]}
            for h, c in sorted(per_heading.items(), key=lambda item: -item[1]["answers"])
        ],
        "disliked": disliked,
    }


def print_report(report: FeedbackReport) -> None:
    print(
        f"Questions posées : {report['questions']} — répondues {report['answered']}, "
        f"sans réponse {report['abstained']} (dont transmises {report['forwarded']}, "
        f"traitées {report['forwarded_answered']})"
    )
    print(f"Avis : 👍 {report['up']}   👎 {report['down']}")
    if report["sections"]:
        print("\nPar section du référentiel :")
        for row in report["sections"]:
            answers = "réponse " if row["answers"] == 1 else "réponses"
            print(f"  {row['answers']:4d} {answers}  👍 {row['up']:3d}  👎 {row['down']:3d}  {row['heading']}")
    if report["disliked"]:
        print("\nRéponses jugées mauvaises (hors salons confidentiels) :")
        for disliked in report["disliked"]:
            print(f"  « {disliked['question']} » → {disliked['heading']}")


def run(args: argparse.Namespace) -> int:
    config = config_from(args)
    db = open_database(config.data_dir, config.database)
    try:
        report = build_report(db)
    finally:
        db.close()
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print_report(report)
    return 0


def register_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("feedback", help="bilan des avis 👍/👎 sur les réponses du bot")
    add_config_option(parser)
    parser.add_argument("--json", action="store_true", help="sortie JSON")
    parser.set_defaults(func=run)
