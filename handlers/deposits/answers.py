"""Turning what people really type into field values, and values back into French text.

Generous with spelling (accents, case, numbers, « 1er avril »), strict with meaning: an
answer that matches nothing is refused with an explanation instead of silently filling a field.
Values are JSON-friendly (str, bool, list[str]; dates as ISO strings) because the form state
is stored as JSON.
"""

from __future__ import annotations

import difflib
import re
from datetime import date
from urllib.parse import urlparse

from handlers.deposits.form import FieldDef, Option
from handlers.french import MONTHS
from handlers.french import format_date_fr as _format_date_fr
from handlers.text import fold_for_matching, parse_yes_no, quote
from knowledge.folding import fold_accents

# Little words that carry no choice: « des partenaires » is « partenaires ».
ARTICLES = {"le", "la", "les", "l", "un", "une", "des", "du", "de", "d", "au", "aux"}


class InvalidAnswer(Exception):
    """The answer cannot fill the field; the message (French) tells the member why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _core(text: str) -> str:
    """fold_for_matching() without articles, so « un financement » and « financement » compare equal."""
    words = fold_for_matching(text).replace("'", " ").split()
    kept = [w for w in words if w not in ARTICLES]
    return " ".join(kept or words)


def parse_answer(field: FieldDef, text: str) -> object:
    text = text.strip()
    if not text:
        raise InvalidAnswer("Je n'ai pas reçu de réponse.")
    parser = _PARSERS[field.type]
    return parser(field, text)


def _text(field: FieldDef, text: str) -> str:
    if field.type == "short_text" and "\n" in text:
        text = " ".join(text.split())
    if field.min_length is not None and len(text) < field.min_length:
        raise InvalidAnswer(f"C'est un peu court : il faut au moins {field.min_length} caractères.")
    if field.max_length is not None and len(text) > field.max_length:
        raise InvalidAnswer(
            f"C'est trop long : {field.max_length} caractères au maximum (votre réponse en compte {len(text)})."
        )
    if field.pattern and not re.fullmatch(field.pattern, text, flags=re.DOTALL):
        raise InvalidAnswer(field.pattern_hint or "Cette réponse n'a pas la forme attendue.")
    return text


def match_option(options: tuple[Option, ...], text: str) -> Option | None:
    """One option for a number, a label, a value, an alias or a close spelling; None otherwise."""
    wanted = _core(text)
    if wanted.isdigit():
        index = int(wanted) - 1
        return options[index] if 0 <= index < len(options) else None
    names: dict[str, Option] = {}
    for option in options:
        for name in (option.label, option.value, *option.aliases):
            names.setdefault(_core(name), option)
    if wanted in names:
        return names[wanted]
    # The start of one label only (« alimentation » for « Alimentation durable »); long enough
    # that a stray « en » or « je » never picks an option.
    if len(wanted) >= 4 and wanted not in GENERIC_WORDS:
        starting = {o.value: o for name, o in names.items() if name.startswith(wanted + " ")}
        if len(starting) == 1:
            return next(iter(starting.values()))
    # A high cutoff: « finacement » is a typo of « financement », « je sais pas » is no choice.
    return _closest(wanted, names) or _by_distinctive_word(names, wanted)


def _closest(wanted: str, candidates: dict[str, Option]) -> Option | None:
    """The option of the closest spelling, if close enough and clearly closer than any other
    option's: « quartier » is as near « quartier sud » as « quartier nord », so it picks neither."""
    # A typo changes a letter or two, not the length: « quartiers » is no misspelling of « quartier sud ».
    comparable = [name for name in candidates if abs(len(name) - len(wanted)) <= max(2, len(name) // 5)]
    scored = sorted(((difflib.SequenceMatcher(None, wanted, name).ratio(), name) for name in comparable), reverse=True)
    if not scored or scored[0][0] < 0.8:
        return None
    best_score, best = scored[0]
    chosen = candidates[best]
    if any(candidates[name].value != chosen.value and score > best_score - 0.1 for score, name in scored[1:]):
        return None
    return chosen


# Words that name what a choice is (« Tribu Alimentation », « Groupe des élus »), not which one.
GENERIC_WORDS = frozenset({"tribu", "tribus", "groupe", "groupes", "salon", "salons", "projet", "projets"})


def _by_distinctive_word(names: dict[str, Option], wanted: str) -> Option | None:
    """One word of a label, even misspelt: « alimantation » for « Tribu Alimentation ». Only a
    word that belongs to a single option counts (« quartier » picks neither « Quartier Nord »
    nor « Quartier Sud »), and only a word long enough to mean something."""
    if len(wanted) < 4 or " " in wanted:
        return None
    owners: dict[str, dict[str, Option]] = {}  # word -> the options (by value) whose names hold it
    for name, option in names.items():
        for word in name.split():
            if len(word) >= 4 and word not in GENERIC_WORDS:
                owners.setdefault(word, {})[option.value] = option
    words = {word: next(iter(options.values())) for word, options in owners.items() if len(options) == 1}
    return _closest(wanted, words)


def _options_list(field: FieldDef) -> str:
    return ", ".join(f"{i}. {o.label}" for i, o in enumerate(field.options, 1))


def _choice(field: FieldDef, text: str) -> str:
    option = match_option(field.options, text)
    if option is None:
        raise InvalidAnswer(
            f"Je n'ai pas reconnu « {quote(text)} » parmi les choix proposés. "
            f"Répondez par un numéro ou par l'intitulé : {_options_list(field)}."
        )
    return option.value


_SEPARATORS = re.compile(r"\s*(?:,|;|/|\+|&|\bet\b|\bainsi que\b|\bou\b|\n)\s*", re.IGNORECASE)


def _choices(field: FieldDef, text: str) -> list[str]:
    pieces = [p for p in _SEPARATORS.split(text) if p and p.strip()]
    # « 1 3 » is as clear as « 1, 3 ».
    if len(pieces) == 1 and re.fullmatch(r"\d+(\s+\d+)+", pieces[0].strip()):
        pieces = pieces[0].split()
    chosen: list[str] = []
    for piece in pieces:
        option = match_option(field.options, piece)
        if option is None:
            raise InvalidAnswer(
                f"Je n'ai pas reconnu « {quote(piece)} » parmi les choix proposés. "
                f"Indiquez un ou plusieurs numéros ou intitulés, par exemple « 1, 3 » : "
                f"{_options_list(field)}."
            )
        if option.value not in chosen:
            chosen.append(option.value)
    if not chosen:
        raise InvalidAnswer(f"Indiquez au moins un choix : {_options_list(field)}.")
    # Stored in the form's order so the recap and the export read the same everywhere.
    order = [o.value for o in field.options]
    return sorted(chosen, key=order.index)


def _yes_no(field: FieldDef, text: str) -> bool:
    answer = parse_yes_no(text)
    if answer is None:
        raise InvalidAnswer("J'attends « oui » ou « non ».")
    return answer


_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def _email(field: FieldDef, text: str) -> str:
    candidate = text.strip().removeprefix("mailto:").strip("<>").strip()
    if not _EMAIL.fullmatch(candidate):
        raise InvalidAnswer(f"« {quote(text)} » ne ressemble pas à une adresse e-mail (par exemple nom@exemple.fr).")
    return candidate.lower()


def _url(field: FieldDef, text: str) -> str:
    candidate = text.strip().strip("<>")
    if candidate.lower().startswith("www."):
        candidate = "https://" + candidate
    parsed = urlparse(candidate)
    if parsed.scheme not in ("http", "https") or "." not in parsed.netloc or " " in candidate:
        raise InvalidAnswer(f"« {quote(text)} » ne ressemble pas à une adresse web (par exemple https://exemple.fr).")
    return candidate


_NUMERIC_DATE = re.compile(r"(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{2}|\d{4})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_WORD_DATE = re.compile(r"(?:\w+\s+)?(\d{1,2})\s*(?:er|e)?\s+([a-z]+)\.?\s+(\d{4})")


def parse_date(text: str) -> date | None:
    """« 12/03/2027 », « 12-03-2027 », « 12 mars 2027 », « 1er avril 2027 », « 2027-03-12 »."""
    # Not fold_for_matching(): its punctuation stripping would eat the slashes.
    folded = " ".join(fold_accents(text).split()).strip(" .")
    try:
        if m := _ISO_DATE.fullmatch(folded):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _NUMERIC_DATE.fullmatch(folded):
            year = int(m[3]) + (2000 if len(m[3]) == 2 else 0)
            return date(year, int(m[2]), int(m[1]))
        if m := _WORD_DATE.fullmatch(folded):
            months = [fold_for_matching(name) for name in MONTHS]
            month = m[2]
            if month not in months:
                # « fevrier », « fev », « sept »: a prefix of one month only.
                starts = [i for i, name in enumerate(months) if name.startswith(month[:4]) and len(month) >= 3]
                if len(starts) != 1:
                    return None
                index = starts[0]
            else:
                index = months.index(month)
            return date(int(m[3]), index + 1, int(m[1]))
    except ValueError:
        return None
    return None


def _date(field: FieldDef, text: str) -> str:
    parsed = parse_date(text)
    if parsed is None:
        raise InvalidAnswer(
            f"Je n'ai pas compris la date « {quote(text)} ». Écrivez-la par exemple « 12/03/2027 » ou « 12 mars 2027 »."
        )
    return parsed.isoformat()


_MATRIX_USER = re.compile(r"@[a-z0-9._=/+-]+:[A-Za-z0-9.-]+(:\d+)?")


def _matrix_user(field: FieldDef, text: str) -> str:
    candidate = text.strip()
    if _MATRIX_USER.fullmatch(candidate):
        return candidate
    raise InvalidAnswer(f"« {quote(text)} » n'est pas un identifiant Matrix ; il ressemble à @nom:serveur.")


_PARSERS = {
    "short_text": _text,
    "long_text": _text,
    "choice": _choice,
    "tribe": _choice,
    "choices": _choices,
    "yes_no": _yes_no,
    "email": _email,
    "url": _url,
    "date": _date,
    "matrix_user": _matrix_user,
}


def format_date_fr(value: date) -> str:
    """« 12 mars 2027 », « 1er avril 2027 »: deposits are dated without the weekday."""
    return _format_date_fr(value, weekday=False)


def display_value(field: FieldDef, value: object) -> str:
    """How an answer reads in the recap and the facilitators' view."""
    if value is None:
        return "—"
    labels = {o.value: o.label for o in field.options}
    if field.type in ("choice", "tribe"):
        return labels.get(str(value), str(value))
    if field.type == "choices" and isinstance(value, list):
        return ", ".join(labels.get(str(v), str(v)) for v in value)
    if field.type == "yes_no":
        return "oui" if value else "non"
    if field.type == "date" and isinstance(value, str):
        try:
            return format_date_fr(date.fromisoformat(value))
        except ValueError:
            return value
    return str(value)
