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
