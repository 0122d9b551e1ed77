"""Member text normalised before anything reads it: NFKC, no invisible characters."""

import pytest

from handlers.text import fold_for_matching, normalise_input


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("c'est quoi une\0 balise\0 ?", "c'est quoi une balise ?"),
        ("ba\u200dli\u200dse", "balise"),
        ("une\u200b balise\ufeff", "une balise"),
        ("bali\u00adse", "balise"),
        ("\u202ebalise", "balise"),
        ("\ufb01che ＡＢＣ", "fiche ABC"),
    ],
)
def test_invisible_and_compatibility_characters_do_not_change_what_is_read(typed, read):
    assert normalise_input(typed) == read
    assert fold_for_matching(normalise_input(typed)) == fold_for_matching(read)


def test_layout_and_emoji_sequences_are_kept():
    assert normalise_input("ligne 1\r\nligne 2\tfin") == "ligne 1\r\nligne 2\tfin"
    assert normalise_input("👩\u200d💻 et 👍\ufe0f") == "👩\u200d💻 et 👍\ufe0f"
