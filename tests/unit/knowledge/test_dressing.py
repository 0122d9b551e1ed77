"""What members wrap around a question is set aside (knowledge.dressing), and nothing of the question."""

import pytest

from knowledge.chunking import embedding_text, without_examples
from knowledge.dressing import undress

QUESTION = "c'est quoi une tribu ?"
NAMES = ["@manufacture-bot:example.org", "Manufacture"]


@pytest.mark.parametrize(
    "dressed",
    [
        "Bonjour, c'est quoi une tribu ? Merci",
        "Bonjour à tous, j'ai une question : c'est quoi une tribu ? Merci d'avance !",
        "bonjour c'est quoi une tribu ? merci beaucoup",
        "Salut Manufacture, c'est quoi une tribu ?",
        "Salut manufacture bot c'est quoi une tribu ?",
        "c'est quoi une tribu ? @manufacture-bot:example.org",
        "c'est quoi une tribu ? (n°4)",
        "Q4 : c'est quoi une tribu ?",
        "4) c'est quoi une tribu ?",
        "c'est quoi une tribu ? #12",
        "https://example.org/referentiel?page=2 c'est quoi une tribu ?",
        "www.example.org c'est quoi une tribu ?",
        "<img src=x> [cliquez](https://x.y) c'est quoi une tribu ?",
        "<p><b>c'est quoi une tribu ?</b></p>",
        "**c'est quoi une tribu ?**",
        "> c'est quoi une tribu ?",
        "🙂 c'est quoi une tribu ? 🙏🏽",
        "c'est quoi une tribu ? :)",
        "c'est quoi une tribu ???!!",
        "c'est quoi une tribu ? svp",
    ],
)
def test_the_same_question_comes_out_of_every_dressing(dressed: str) -> None:
    assert undress(dressed, NAMES) == QUESTION


@pytest.mark.parametrize(
    "question",
    [
        "Quelles sont les 4 familles de balises ?",  # a number that is the question's
        "Qui êtes-vous ?",  # « vous » closing a question is no courtesy
        "Comment bien accueillir les nouveaux membres ?",
        "Que fait la Manufacture pour les élus ?",  # the bot's name inside a sentence stays
        "Quelle différence entre l'Agora et les journées entre pairs ?",
        "Le coût de l'inaction, c'est quoi ?",
        "C'est quoi le tiers-garant ?",
    ],
)
def test_a_bare_question_is_left_as_it_is(question: str) -> None:
    assert undress(question, NAMES) == question


def test_a_link_keeps_its_words_when_they_are_the_question_s() -> None:
    assert undress("que dit [la charte](https://x.y) ?") == "que dit la charte ?"


@pytest.mark.parametrize("manners", ["Bonjour !", "Merci Manufacture !", "🙏", "Salut le bot", "(n°4)"])
def test_manners_alone_leave_nothing(manners: str) -> None:
    assert undress(manners, NAMES) == ""


def test_examples_quoted_as_code_are_not_what_a_passage_is_about() -> None:
    text = "Écrivez `!question` suivi de votre question, par exemple `!question c'est quoi une tribu ?`."
    assert without_examples(text) == "Écrivez !question suivi de votre question, par exemple !question."
    # What is embedded and indexed; the passage itself, shown to members, keeps its example.
    assert "tribu" not in embedding_text(("Utiliser le bot", "Poser une question au bot"), text)
