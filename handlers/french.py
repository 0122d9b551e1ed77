"""French date and time wording, shared by every domain.

Hand tables rather than the C locale: the bot's host rarely has fr_FR generated, and
setlocale() is process-wide, which would be a hidden global.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo

DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def _local(value: datetime, tz: tzinfo | None) -> datetime:
    # A naive datetime is taken as already local; an aware one is converted.
    if tz is not None and value.tzinfo is not None:
        return value.astimezone(tz)
    return value


def format_date_fr(value: date | datetime, tz: tzinfo | None = None, *, weekday: bool = True) -> str:
    """'mardi 2 mars 2027' (French writes the first of the month '1er')."""
    if isinstance(value, datetime):
        value = _local(value, tz).date()
    day = "1er" if value.day == 1 else str(value.day)
    text = f"{day} {MONTHS[value.month - 1]} {value.year}"
    return f"{DAYS[value.weekday()]} {text}" if weekday else text


def format_time_fr(value: datetime, tz: tzinfo | None = None) -> str:
    """'10h00', '9h05'."""
    local = _local(value, tz)
    return f"{local.hour}h{local.minute:02d}"


def format_datetime_fr(value: datetime, tz: tzinfo | None = None) -> str:
    """'mardi 2 mars 2027 à 10h00'."""
    local = _local(value, tz)
    return f"{format_date_fr(local)} à {format_time_fr(local)}"


def format_delay_fr(minutes: int) -> str:
    """How far ahead a reminder is: 'dans 15 minutes', 'dans 2 heures', 'demain', 'dans 3 jours'."""
    if minutes <= 0:
        return "maintenant"
    if minutes % 1440 == 0:
        days = minutes // 1440
        return "demain" if days == 1 else f"dans {days} jours"
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"dans {hours} heure{'s' if hours > 1 else ''}"
    return f"dans {minutes} minute{'s' if minutes > 1 else ''}"


def format_count_fr(value: int) -> str:
    """'102 400': French groups thousands with a narrow no-break space, which never wraps mid-number."""
    return f"{value:,}".replace(",", "\u202f")
