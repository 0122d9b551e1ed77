"""Chat-style questions are rewritten with the indexed corpus's own words, and only when safe."""

from __future__ import annotations

from knowledge.normalise import QueryNormaliser

CORPUS = [
    "L'agenda des journées entre pairs, puis l'Agora. Les élus, on comprend.",
    "La SCIC associe habitants et entreprises. Où aller ? À la permanence.",
]


def _normalise(question: str) -> str:
    normaliser = QueryNormaliser()
    return normaliser.normalise(question, [normaliser.vocabulary(CORPUS)])


def test_sms_abbreviations_and_missing_apostrophes():
    assert _normalise("c koi lagenda") == "c'est quoi l'agenda"
    assert _normalise("jcomprends pk") == "je comprends pourquoi"


def test_accents_restored_only_on_content_words_the_corpus_writes_accented():
    assert _normalise("les journees des elus") == "les journées des élus"
    # « à » and « où » are in the corpus, but « a » and « ou » are words of their own.
    assert _normalise("a ou") == "a ou"


def test_written_french_and_unknown_words_are_left_alone():
    for question in ("C'est quoi la SCIC ?", "Quelle est la capitale de l'Australie ?", "sinon plombier"):
        assert _normalise(question) == question


def test_a_typo_one_letter_from_a_single_corpus_word_is_corrected():
    # Wrong, missing, extra or swapped letter; the accents come with the corpus's spelling.
    assert _normalise("la permanance des habitnats") == "la permanence des habitants"
    assert _normalise("les entreprsies et les habtants") == "les entreprises et les habitants"


def test_a_word_french_knows_is_no_typo_of_a_corpus_word():
    # « Paris » and « paris » are one swap from « pairs », a heading term, but words of French (and a place).
    normaliser = QueryNormaliser()
    vocabulary = normaliser.vocabulary(["Les journées entre pairs\nElles réunissent les élus."])
    assert normaliser.normalise("un train pour Paris, des paris", [vocabulary]) == "un train pour Paris, des paris"
    assert normaliser.normalise("les journées entre piars", [vocabulary]) == "les journées entre pairs"


def test_only_heading_terms_correct_a_typo_and_only_when_one_is_one_letter_away():
    normaliser = QueryNormaliser()
    # Each text's first line is its heading path, as the index gives them.
    vocabulary = normaliser.vocabulary(["Les balises › Les valises\nOn combine les outils.", "Cerise\nUn fruit."])
    # « balize » is one letter from « balise » only (the singular of « balises », which the text writes
    # too); « calise » from both « balise » and « valise ».
    vocabulary = normaliser.vocabulary(["Les balises › Les valises\nUne balise, une valise. On combine.", "Cerise\n"])
    assert normaliser.normalise("balize balizes calise", [vocabulary]) == "balise balises calise"
    # « combien » is one letter from « combine », a word of the text, not of a heading.
    assert normaliser.normalise("combien de cerisse", [vocabulary]) == "combien de cerise"
    # « impots » and « imposé » share « impos » once a letter is deleted from each: two edits apart.
    assert normaliser.normalise("impots", [normaliser.vocabulary(["Un montant imposé"])]) == "impots"
