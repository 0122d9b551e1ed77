"""« demain 9h », « le 12/03 à 14h30 »...: when a facilitator's reminder should go out."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from handlers.agenda.french_time import parse_when
from handlers.replies import UserError

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2027, 3, 10, 10, 0, tzinfo=PARIS)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "expected", "rest"),
    [
        ("demain 9h Réunion d'équipe", datetime(2027, 3, 11, 9, 0), "Réunion d'équipe"),
        ("le 12/03 à 14h30 : Atelier", datetime(2027, 3, 12, 14, 30), "Atelier"),
        ("dans 2 heures Début de l'Agora", datetime(2027, 3, 10, 12, 0), "Début de l'Agora"),
        ("dans 30 min café", datetime(2027, 3, 10, 10, 30), "café"),
        ("lundi 10h Permanence", datetime(2027, 3, 15, 10, 0), "Permanence"),
        ("mercredi 9h Déjà passé aujourd'hui", datetime(2027, 3, 17, 9, 0), "Déjà passé aujourd'hui"),
        ("12/03/2027 14:30 Séance", datetime(2027, 3, 12, 14, 30), "Séance"),
        ("le 1er avril 2027 à 9h Poisson", datetime(2027, 4, 1, 9, 0), "Poisson"),
        ("Après-demain Été", datetime(2027, 3, 12, 9, 0), "Été"),
        ("le 3/2 Rappel", datetime(2028, 2, 3, 9, 0), "Rappel"),
        ("8h30 Demain matin", datetime(2027, 3, 11, 8, 30), "Demain matin"),
        ("Demain à midi, déjeuner", datetime(2027, 3, 11, 12, 0), "déjeuner"),
        ("dans une semaine bilan", datetime(2027, 3, 17, 10, 0), "bilan"),
    ],
)
def test_french_moments(text, expected, rest):
    moment, remainder = parse_when(text, NOW, PARIS)
    assert moment == expected.replace(tzinfo=PARIS)
    assert remainder == rest


def test_hours_are_elapsed_time_across_dst():
    before_change = datetime(2027, 3, 28, 1, 30, tzinfo=PARIS)  # 00:30Z, clocks jump at 01:00Z
    moment, _ = parse_when("dans 2 heures x", before_change, PARIS)
    assert moment.astimezone(UTC) == datetime(2027, 3, 28, 2, 30, tzinfo=UTC)
    assert moment.hour == 4  # 02:00-03:00 local does not exist that night


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("bientôt vraiment", "pas compris"),
        ("31/02 à 10h x", "il n'y a pas de 31 février."),
        ("demain 25h x", "25h00 n'est pas une heure"),
        ("le 31/02 à 25h x", "« le 31/02 à 25h » : il n'y a pas de 31 février ; et 25h00 n'est pas une heure"),
        ("29/02/2027 10h x", "il n'y a pas de 29 février en 2027"),
        ("12/13 10h x", "il n'y a pas de mois n°13"),
        ("dans -3 heures x", "« dans -3 heures » est déjà passé"),
        ("hier 10h x", "« hier » est déjà passé"),
        ("avant-hier x", "« avant-hier » est déjà passé"),
        ("il y a 2 jours x", "« il y a 2 jours » est déjà passé"),
        ("12/03/2026 10h x", "déjà passé"),
        ("aujourd'hui 8h x", "déjà passé"),
    ],
)
def test_errors_are_french_and_say_why(text, fragment):
    with pytest.raises(UserError) as error:
        parse_when(text, NOW, PARIS)
    assert fragment in error.value.message
    assert "2026" not in error.value.message or "2026" in text  # no year the facilitator did not write
