"""When a reminder should go out, as facilitators write it in French.

Understood at the start of a text (the rest is the message):
  « dans 2 heures », « dans 30 min », « dans une semaine »
  « demain 9h », « aujourd'hui à 18h », « après-demain »
  « lundi 10h », « mardi prochain à 14h30 »
  « le 12/03 à 14h30 », « 12/03/2027 14:30 », « le 3 avril 2027 à 9h »
  « 14h30 » (today, or tomorrow if that time has passed)
A day without a time means 9h00. dateparser was considered but does not split "when" from the
message, and its relative French forms vary between versions; this grammar is small and exact.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from handlers.french import DAYS, MONTHS, format_datetime_fr
from handlers.replies import UserError
from handlers.text import quote
from knowledge.folding import fold_accents
from knowledge.french_numbers import NUMBER_WORDS, number_in

DEFAULT_TIME = time(9, 0)
_UNITS = {
    "minute": 1,
    "minutes": 1,
    "min": 1,
    "mins": 1,
    "mn": 1,
    "m": 1,
    "heure": 60,
    "heures": 60,
    "h": 60,
    "jour": 1440,
    "jours": 1440,
    "j": 1440,
    "semaine": 10080,
    "semaines": 10080,
}
_FOLDED_MONTHS = [fold_accents(m) for m in MONTHS]

# Longest first: « dix-sept » before « dix ».
_NUM = r"\d+|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
_RELATIVE = re.compile(rf"dans\s+(?P<n>{_NUM})\s*(?P<unit>{'|'.join(sorted(_UNITS, key=len, reverse=True))})\b")
_WEEKDAY = "|".join(DAYS)
_DAY = re.compile(
    r"(?:(?P<today>aujourd'hui|aujourd’hui)|(?P<after>apres-demain|apres demain)|(?P<tomorrow>demain)"
    rf"|(?:le\s+)?(?:(?:{_WEEKDAY})\s+)?(?P<d>\d{{1,2}})/(?P<m>\d{{1,2}})(?:/(?P<y>\d{{4}}|\d{{2}}))?"
    rf"|(?:le\s+)?(?:(?:{_WEEKDAY})\s+)?(?P<d2>1er|\d{{1,2}})\s+(?P<month>{'|'.join(_FOLDED_MONTHS)})(?:\s+(?P<y2>\d{{4}}))?"
    rf"|(?P<wd>{_WEEKDAY})(?P<next>\s+prochain)?)\b"
)
_TIME = re.compile(r"(?:a\s+|vers\s+)?(?:(?P<noon>midi)|(?P<h>\d{1,2})\s*(?:h|:)\s*(?P<mm>\d{2})?)(?=\s|$|[,.;:!?])")
_SEPARATORS = re.compile(r"^[\s,;:]+")
# Said of the past: worth telling why rather than « je n'ai pas compris ».
_PAST = re.compile(rf"(?:avant-hier|avant hier|hier|il y a\s+(?:{_NUM})\s*\w+|dans\s+-\s*\d+\s*\w+)\b")


def _fold_same_length(text: str) -> str:
    # Fold character by character so positions in the folded text are positions in the original:
    # the message after the time expression is cut from the original, accents and case intact.
    return "".join((fold_accents(c) or c)[:1] for c in text)


def _number(word: str) -> int:
    value = number_in(word)
    if value is None:  # _NUM matched it: a digit string or a word of NUMBER_WORDS
        raise ValueError(word)
    return value


def _time_of(match: re.Match[str]) -> time | str:
    """The time named, or why it is none."""
    if match.group("noon"):
        return time(12, 0)
    hour, minute = int(match.group("h")), int(match.group("mm") or 0)
    if hour > 23 or minute > 59:
        return f"{hour}h{minute:02d} n'est pas une heure (de 0h00 à 23h59)"
    return time(hour, minute)


def _date_of(match: re.Match[str], today: date) -> tuple[date, bool] | str:
    """The day named, and whether it may roll forward (a year, a week) if already past; or why it is none."""
    if match.group("today"):
        return today, False
    if match.group("tomorrow"):
        return today + timedelta(days=1), False
    if match.group("after"):
        return today + timedelta(days=2), False
    if match.group("wd"):
        ahead = (DAYS.index(match.group("wd")) - today.weekday()) % 7
        if match.group("next") and ahead == 0:
            ahead = 7
        return today + timedelta(days=ahead), True
    if match.group("d"):
        day, month, year = int(match.group("d")), int(match.group("m")), match.group("y")
    else:
        day = 1 if match.group("d2") == "1er" else int(match.group("d2"))
        month, year = _FOLDED_MONTHS.index(match.group("month")) + 1, match.group("y2")
    explicit_year = year is not None
    year_value = (2000 + int(year) if len(year) == 2 else int(year)) if explicit_year else today.year
    if not 1 <= month <= 12:
        return f"il n'y a pas de mois n°{month}"
    try:
        return date(year_value, month, day), not explicit_year
    except ValueError:
        named = f"{'1er' if day == 1 else day} {MONTHS[month - 1]}"
        # A year only when it is the reason (a 29 February); an unwritten year is nobody's mistake.
        if explicit_year and day <= 29:
            return f"il n'y a pas de {named} en {year_value}"
        return f"il n'y a pas de {named}"


def parse_when(text: str, now: datetime, tz: tzinfo) -> tuple[datetime, str]:
    """The moment at the start of ``text`` (aware, in ``tz``) and the text that follows it.

    Raises UserError (French) when no moment is recognised, saying why when it can: a day or a time
    that does not exist, or a moment already past.
    """
    folded = _fold_same_length(text.strip())
    original = text.strip()
    local_now = now.astimezone(tz)

    past = _PAST.match(folded)
    if past:
        raise UserError(
            f"« {quote(original[: past.end()].strip())} » est déjà passé : un rappel se programme pour "
            "plus tard, par exemple « demain 9h » ou « dans 2 heures »."
        )

    relative = _RELATIVE.match(folded)
    if relative:
        amount = _number(relative.group("n")) * _UNITS[relative.group("unit")]
        if amount <= 0:
            raise UserError("Le délai doit être positif, par exemple « dans 2 heures ».")
        # Hours and minutes are elapsed time (UTC arithmetic, right across a DST change); days and
        # weeks keep the wall-clock time, as people mean them.
        if amount % 1440:
            moment = (now.astimezone(UTC) + timedelta(minutes=amount)).astimezone(tz)
        else:
            moment = local_now + timedelta(minutes=amount)
        return moment, _SEPARATORS.sub("", original[relative.end() :])

    day_match = _DAY.match(folded)
    position = 0
    named_day = _date_of(day_match, local_now.date()) if day_match else None
    if day_match:
        position = day_match.end()
    rest = folded[position:].lstrip(" ,")
    time_match = _TIME.match(rest)
    if time_match:
        position = len(folded) - len(rest) + time_match.end()
    if not day_match and not time_match:
        raise UserError(
            "Je n'ai pas compris quand. Exemples : « demain 9h », « le 12/03 à 14h30 », "
            "« dans 2 heures », « lundi 10h », « 12/03/2027 14:30 »."
        )
    at = _time_of(time_match) if time_match else DEFAULT_TIME
    if isinstance(named_day, str) or isinstance(at, str):
        problems = [p for p in (named_day, at) if isinstance(p, str)]
        raise UserError(
            f"Je ne peux pas programmer « {quote(original[:position].strip())} » : {' ; et '.join(problems)}."
        )
    if day_match and named_day is not None:
        day, rolls = named_day
        weekly = bool(day_match.group("wd"))
    else:
        day, rolls, weekly = local_now.date(), False, False
        if datetime.combine(day, at, tzinfo=tz) <= local_now:
            day += timedelta(days=1)  # « 9h » said at 10h means tomorrow morning
    moment = datetime.combine(day, at, tzinfo=tz)
    if moment <= local_now and rolls:
        if weekly:
            moment = datetime.combine(day + timedelta(days=7), at, tzinfo=tz)
        else:
            moment = datetime.combine(day.replace(year=day.year + 1), at, tzinfo=tz)
    if moment <= local_now:
        raise UserError(
            f"Ce moment est déjà passé ({format_datetime_fr(moment, tz)}) : un rappel se programme pour plus tard."
        )
    return moment, _SEPARATORS.sub("", original[position:])
