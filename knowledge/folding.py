"""Accent folding, the one way text is compared where spelling should not matter: by the search
(knowledge.lexical, knowledge.normalise) and by the chat (command words, names, answers).

It lives in the lowest package that folds text, so that both may import it: handlers import
knowledge, never the reverse. The chat's stricter comparison, punctuation stripped too, is
handlers.text.fold_for_matching."""

from __future__ import annotations

import unicodedata


def fold_accents(text: str) -> str:
    """Lower-case, accents stripped, typographic apostrophes made plain: « Élus à l’échelle » is
    « elus a l'echelle », and « Déposer » is « deposer »."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))
