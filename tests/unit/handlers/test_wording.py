"""French the bot writes: agreement with numbers, and forms that do not assume the reader's gender."""

import re
import tokenize
from pathlib import Path

import pytest

from bot.rendering import Renderer, build_template_environment
from handlers.replies import Reply

renderer = Renderer(build_template_environment())


def render(template: str, **context) -> str:
    return renderer.render(Reply(template=template, context=context)).plain


@pytest.mark.parametrize(
    ("answered", "reads"),
    [(0, "aucune réponse pour l'instant"), (1, "1 réponse conservée"), (3, "3 réponses conservées")],
)
def test_a_drafts_answers_agree_with_their_number(answered, reads):
    draft = {"title": "Cantine", "status_label": "en cours", "updated": "2 mars 2027", "answered": answered}
    text = render("deposits/mine.md.j2", deposits=[], drafts=[draft])
    assert reads in text
    assert "0 réponse" not in text and "1 réponses" not in text


def test_the_deposit_confirmation_assumes_no_gender():
    text = render(
        "deposits/confirmed.md.j2",
        title="Cantine",
        reference="DEP-2027-0001",
        visibility="community",
        content_shared=True,
        announced=False,
    )
    assert "prévenu" not in text and "Je vous tiendrai au courant ici" in text


def test_the_feedback_report_writes_one_answer_in_the_singular(tmp_path, capsys):
    from handlers.feedback_cli import print_report

    print_report(
        {
            "questions": 1,
            "answered": 1,
            "abstained": 0,
            "forwarded": 0,
            "forwarded_answered": 0,
            "up": 0,
            "down": 0,
            "disliked": [],
            "sections": [
                {"answers": 1, "up": 0, "down": 0, "heading": "La permanence"},
                {"answers": 2, "up": 0, "down": 0, "heading": "Les tribus"},
            ],
        }
    )
    out = capsys.readouterr().out
    assert "1 réponse " in out and "1 réponses" not in out and "2 réponses" in out


# The team is « l'équipe d'animation » wherever a member reads about it. The référentiel uses the
# word twice for something else, which stays: a manager's posture, and the Fabrique's named role.
NOT_THE_TEAM = ("Le manager devient un facilitateur", "tiers-facilitateur")
ROOT = Path(__file__).resolve().parents[3]


def member_facing_texts() -> list[Path]:
    return [
        *sorted((ROOT / "knowledge" / "referentiel").glob("*.md")),
        *sorted((ROOT / "handlers" / "templates").rglob("*.j2")),
        ROOT / "handlers" / "deposits" / "default_form.toml",
    ]


def french_strings_of_handlers() -> list[tuple[Path, str]]:
    found = []
    for path in sorted((ROOT / "handlers").rglob("*.py")):
        with path.open("rb") as source:
            found += [
                (path, token.string) for token in tokenize.tokenize(source.readline) if token.type == tokenize.STRING
            ]
    return found


def test_members_read_equipe_d_animation_never_facilitateur():
    texts = member_facing_texts()
    assert len(texts) > 40
    for path in texts:
        text = path.read_text(encoding="utf-8")
        for allowed in NOT_THE_TEAM:
            text = text.replace(allowed, "")
        assert not re.search(r"facilitat(eur|rice)", text, re.IGNORECASE), path
    strings = french_strings_of_handlers()
    # `!salon facilitateurs` is accepted as typed; the bot never writes the word back.
    written = [
        (path, s)
        for path, s in strings
        if re.search(r"facilitat(eur|rice)", s, re.IGNORECASE) and s != '"facilitateurs"'
    ]
    assert written == []
    assert any("équipe d'animation" in s for _, s in strings)


def test_the_referentiel_says_who_reviews_deposits_in_the_bots_word():
    community = (ROOT / "knowledge" / "referentiel" / "07-communaute.md").read_text(encoding="utf-8")
    assert "relu par l'équipe d'animation" in community
