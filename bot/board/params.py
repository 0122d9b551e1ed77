"""The board's query, path and form parameters, read strictly.

A value a page cannot use (a page number past the last, a date no filter can hold, a number no row
can have, a file where text was expected) raises BadRequest with a French sentence saying which
value and what to write instead; the server's guard shows it as a 400 page. Nothing unchecked
reaches a query: `page=99999999999999999999` or `au=9999-12-31` used to end in an OverflowError.
"""

from __future__ import annotations

import re
from datetime import date

from multidict import MultiMapping

from handlers.french import format_count_fr, format_date_fr
from handlers.text import normalise_input

# Row ids the databases store (PostgreSQL's integer); a larger number names nothing.
LARGEST_ID = 2**31 - 1
# The dates a filter may name: around the bot's lifetime, far from what datetime can hold once
# moved to UTC or a day later. A year typed 0202 for 2020 is caught, not searched.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)
# A choice (a status, a tribe, a FAQ entry's name) is short; a longer one is none of them.
LONGEST_CHOICE = 300
_DIGITS = re.compile(r"[0-9]{1,12}")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# How the team writes a date: 12/03/2027 (or 12-03-2027, 12.03.2027; day and month of one or two digits).
_FRENCH_DAY = re.compile(r"([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})")


class BadRequest(Exception):
    """A parameter the board cannot use: `text` is the French sentence shown on the 400 page."""

    def __init__(self, text: str, *, title: str = "Demande impossible") -> None:
        super().__init__(text)
        self.text, self.title = text, title


def text_field(values: MultiMapping, name: str, label: str) -> str:
    """A text field of a form or a query, as a member's text is read (NFKC, no invisible characters);
    absent: empty."""
    value = values.get(name, "")
    if not isinstance(value, str):
        raise BadRequest(f"Le champ « {label} » attend du texte, pas un fichier.")
    return normalise_input(value)


def choice_field(values: MultiMapping, name: str, label: str) -> str:
    value = text_field(values, name, label).strip()
    if len(value) > LONGEST_CHOICE:
        raise BadRequest(f"Le champ « {label} » est trop long pour être l'un des choix proposés.")
    return value


def number(text: str, what: str) -> int:
    """A row's number from a path or a form (a question, a reminder): 1 to LARGEST_ID."""
    text = text.strip()
    if not _DIGITS.fullmatch(text) or not 0 < int(text) <= LARGEST_ID:
        shown = text if len(text) <= 30 else text[:30] + "…"
        raise BadRequest(f"« {shown} » n'est pas un numéro de {what} : un nombre entier à partir de 1 est attendu.")
    return int(text)


def page_number(query: MultiMapping, name: str = "page") -> int:
    """`page` (or another list's page parameter), from 1; absent: 1. Whether the page exists is the
    caller's to check (page_exists)."""
    text = choice_field(query, name, "page")
    return number(text, "page") if text else 1


def typed_day(value: date) -> str:
    """A date as the filters show it back, as it is typed: 01/03/2027."""
    return value.strftime("%d/%m/%Y")


def page_exists(page: int, pages: int) -> None:
    if page > pages:
        raise BadRequest(
            f"La page {format_count_fr(page)} n'existe pas : il y en a {pages}. Revenez à la première page.",
            title="Page introuvable",
        )


def day(query: MultiMapping, name: str, label: str) -> date | None:
    """A date written as the team writes it, JJ/MM/AAAA (12/03/2027), or AAAA-MM-JJ (a link made by
    the board or by a date picker); absent: None."""
    text = choice_field(query, name, label)
    if not text:
        return None
    value = None
    try:
        if _ISO_DAY.fullmatch(text):
            value = date.fromisoformat(text)
        elif found := _FRENCH_DAY.fullmatch(text):
            value = date(int(found[3]), int(found[2]), int(found[1]))
    except ValueError:
        value = None
    shown = text if len(text) <= 30 else text[:30] + "…"
    if value is None:
        raise BadRequest(
            f"La date « {shown} » (champ « {label} ») n'est pas valable : écrivez-la sous la forme "
            "JJ/MM/AAAA, par exemple 01/03/2027 pour le 1er mars 2027."
        )
    if not FIRST_DAY <= value <= LAST_DAY:
        raise BadRequest(
            f"La date « {shown} » (champ « {label} ») est hors de la période que le tableau sait "
            f"filtrer : du {format_date_fr(FIRST_DAY, weekday=False)} au "
            f"{format_date_fr(LAST_DAY, weekday=False)}."
        )
    return value
