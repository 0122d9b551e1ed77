"""`manufacture-bot feedback`: what people thought of the answers (👍/👎), per référentiel section,
counting people: each one's latest reaction on an answer, a withdrawn one not counted.

`manufacture-bot feedback export` writes what people taught the bot as an evaluation set for the next
release, in the format of bench/eval/answers.jsonl (bench/eval/README.md): each voted question with
the section it landed on (expected after a 👍, to avoid after a 👎), each question the bot asked back
about with the section the member chose (expected), each forwarded question with the facilitators'
answer as its reference. It is read offline, by the benchmark: nothing re-ranks live.

Questions from confidential rooms were never stored, so neither output can leak them; the export also
leaves out everything said in a direct chat or a peer group (storage.rooms.room_privacy), whose
authors agreed at most to reach the facilitators, not to become part of a shared evaluation set.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import NotRequired, TypedDict

from config.cli import add_config_option, config_from
from knowledge.folding import fold_accents
from storage.database import Database, open_database
from storage.questions import answers_given, choice_records, current_votes, forwarded_questions
from storage.rooms import room_privacy


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


class EvaluationRow(TypedDict):
    """One question of the exported set, as bench.answer_eval reads it (kind « feedback »)."""

    question: str
    kind: str
    facts: list[str]
    origin: str  # vote | forwarded | choice (the section a member chose when the bot asked back)
    expected: NotRequired[list[str]]
    avoid: NotRequired[list[str]]
    up: NotRequired[int]
    down: NotRequired[int]
    reference: NotRequired[str]


def build_evaluation_set(db: Database) -> list[EvaluationRow]:
    """The chosen, voted and forwarded questions of shared rooms, each once (its first occurrence)."""
    with db.session() as session:
        answers = answers_given(session)
        votes = current_votes(session)
        forwarded = forwarded_questions(session)
        chosen = choice_records(session)
        rooms = {a.room_id for a in answers} | {q.room_id for q in forwarded}
        shared = {room for room in rooms if room_privacy(session, room) == "shared"}
    tally: dict[int, Counter[str]] = defaultdict(Counter)
    for vote in votes:
        tally[vote.answer_id][vote.vote] += 1
    rows: list[EvaluationRow] = []
    for answer in answers:
        # The section the member chose when the bot asked back: a labelled example, above any vote.
        if answer.id in chosen and answer.answered and answer.heading and answer.question:
            if not answer.confidential and answer.room_id in shared:
                rows.append(
                    {
                        "question": answer.question,
                        "kind": "feedback",
                        "facts": [],
                        "origin": "choice",
                        "expected": [answer.heading],
                    }
                )
            continue
        counted = tally.get(answer.id or 0)
        if not counted or not answer.question or answer.confidential or answer.room_id not in shared:
            continue
        row: EvaluationRow = {
            "question": answer.question,
            "kind": "feedback",
            "facts": [],
            "origin": "vote",
            "up": counted["up"],
            "down": counted["down"],
        }
        # A tie says nothing of the section: the counts stay for whoever writes its facts.
        if answer.heading and counted["up"] != counted["down"]:
            row["expected" if counted["up"] > counted["down"] else "avoid"] = [answer.heading]
        rows.append(row)
    for question in forwarded:
        if question.answer and question.room_id in shared:
            rows.append(
                {
                    "question": question.question,
                    "kind": "feedback",
                    "facts": [],
                    "origin": "forwarded",
                    "reference": question.answer,
                }
            )
    seen: set[str] = set()
    unique = []
    for row in rows:
        key = " ".join(fold_accents(row["question"]).split())
        if key not in seen:
            seen.add(key)
            unique.append(row)
    return unique


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
        if args.action == "export":
            return export(build_evaluation_set(db), args.output)
        report = build_report(db)
    finally:
        db.close()
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print_report(report)
    return 0


def export(rows: list[EvaluationRow], output: Path | None) -> int:
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if output is None:
        sys.stdout.write(lines)
    else:
        output.write_text(lines, encoding="utf-8")
        print(f"{len(rows)} questions écrites dans {output} (format de bench/eval/answers.jsonl).", file=sys.stderr)
    return 0


def register_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "feedback",
        help="bilan des avis 👍/👎 sur les réponses du bot ; « export » : les questions des membres en jeu d'évaluation",
    )
    add_config_option(parser)
    parser.add_argument(
        "action",
        nargs="?",
        choices=["export"],
        help="export : écrire les questions votées et transmises (salons partagés) au format de bench/eval/answers.jsonl",
    )
    parser.add_argument("--json", action="store_true", help="sortie JSON (bilan)")
    parser.add_argument("--output", type=Path, help="fichier où écrire l'export (par défaut : la sortie standard)")
    parser.set_defaults(func=run)
