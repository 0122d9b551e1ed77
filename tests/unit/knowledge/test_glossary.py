"""The members' words for the référentiel's: added after the question, and found again from it."""

from __future__ import annotations

from knowledge.glossary import GLOSSARY, added_words, expand, split


def test_a_members_word_brings_the_referentiels_words_once():
    assert expand("Que font les maires et les conseillers municipaux ?") == (
        "Que font les maires et les conseillers municipaux ? élu élus"
    )
    # Elided, accented or not, capitalised: the same word; inside another word, none.
    assert added_words("Le rôle de l'entreprise et de la Préfecture") == [
        "acteur",
        "socio-économique",
        "état",
        "territorial",
    ]
    assert added_words("les entreprenariats et la mairesse") == []


def test_an_expanded_question_splits_back_into_what_was_typed_and_what_was_added():
    typed = "c quand la perm pour les citoyens ?"
    assert split(expand(typed)) == (typed, ["permanence", "habitants"])
    assert split("les élus et les agents") == ("les élus et les agents", [])


def test_no_added_word_is_itself_an_entry():
    # Else an expanded question would find more words than the typed one, and split would miss it.
    added = {word for words in GLOSSARY.values() for word in words.split()}
    assert not added_words(" ".join(added))
