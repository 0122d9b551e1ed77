"""Reading answers the way people type them, and refusing chit-chat."""

from datetime import date

import pytest

from handlers.deposits.answers import InvalidAnswer, display_value, format_date_fr, parse_answer, parse_date
from handlers.deposits.form import FieldDef, load_form

FORM = load_form().with_tribes(["Énergie", "Alimentation durable"])


def answer(key, text):
    return parse_answer(FORM.field(key), text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", "me"),
        ("Moi-même", "me"),
        ("moi meme", "me"),
        ("MOI", "me"),
        ("c'est moi", "me"),
        ("2", "other"),
        ("une autre personne", "other"),
        ("quelqu'un d'autre", "other"),
    ],
)
def test_choice_by_number_label_alias_or_spelling(text, value):
    assert answer("carrier", text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("en preparation", "preparation"),
        ("En préparation", "preparation"),
        ("en préparaton", "preparation"),
        ("idée", "idea"),
        ("3", "running"),
    ],
)
def test_choice_without_accents_and_with_typos(text, value):
    assert answer("stage", text) == value


@pytest.mark.parametrize("text", ["je sais pas", "4", "0", "bonjour tout le monde", "peut-être"])
def test_a_choice_that_matches_nothing_is_refused(text):
    with pytest.raises(InvalidAnswer, match="Répondez par un numéro"):
        answer("stage", text)


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("1, 3", ["partners", "skills"]),
        ("1 3", ["partners", "skills"]),
        ("partenaires et financement", ["partners", "funding"]),
        ("un financement, des partenaires", ["partners", "funding"]),
        ("Un lieu + compétences", ["skills", "place"]),
        ("financement; financement", ["funding"]),
    ],
)
def test_several_choices(text, values):
    assert answer("needs", text) == values


def test_several_choices_name_the_piece_not_understood():
    with pytest.raises(InvalidAnswer, match="« des bénévoles »"):
        answer("needs", "partenaires et des bénévoles")


def test_tribe_choice_ignores_accents():
    assert answer("tribe", "energie") == "Énergie"
    assert answer("tribe", "alimentation") == "Alimentation durable"


def test_one_distinctive_word_of_a_label_is_enough_even_misspelt():
    # Room names often carry a generic word: « Tribu Alimentation » (found by hand in the demo).
    form = load_form().with_tribes(["Tribu Alimentation", "Quartier Nord", "Quartier Sud"])
    assert parse_answer(form.field("tribe"), "alimantation") == "Tribu Alimentation"
    assert parse_answer(form.field("tribe"), "Alimentation") == "Tribu Alimentation"
    # A word shared by two options, or a generic one, picks nothing.
    for vague in ("quartier", "quartiers", "tribu"):
        with pytest.raises(InvalidAnswer, match="Répondez par un numéro"):
            parse_answer(form.field("tribe"), vague)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("oui", True),
        ("O", True),
        ("ouais", True),
        ("yes", True),
        ("Oui, bien sûr !", True),
        ("d'accord", True),
        ("non", False),
        ("n", False),
        ("Non merci", False),
        ("nan", False),
    ],
)
def test_yes_no(text, value):
    assert answer("share_content", text) is value


@pytest.mark.parametrize("text", ["peut-être", "je ne sais pas", "oui mais pas tout", "bof"])
def test_yes_no_refuses_what_is_neither(text):
    with pytest.raises(InvalidAnswer, match="« oui » ou « non »"):
        answer("share_content", text)


@pytest.mark.parametrize("text", ["je sais pas", "alice@", "alice at example.org", "@alice:matrix.org"])
def test_email_refuses_anything_but_an_address(text):
    with pytest.raises(InvalidAnswer, match="adresse e-mail"):
        answer("contact", text)


def test_email_is_cleaned():
    assert answer("contact", " mailto:Alice.Martin@Example.org ") == "alice.martin@example.org"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12/03/2027", date(2027, 3, 12)),
        ("12-03-2027", date(2027, 3, 12)),
        ("12.03.27", date(2027, 3, 12)),
        ("12 mars 2027", date(2027, 3, 12)),
        ("1er avril 2027", date(2027, 4, 1)),
        ("2027-03-12", date(2027, 3, 12)),
        ("3 février 2027", date(2027, 2, 3)),
        ("3 fevrier 2027", date(2027, 2, 3)),
        ("lundi 15 mars 2027", date(2027, 3, 15)),
        ("20 sept. 2027", date(2027, 9, 20)),
        ("31/02/2027", None),
        ("demain", None),
        ("12 mars", None),
    ],
)
def test_dates(text, expected):
    assert parse_date(text) == expected


def test_date_field_stores_iso_and_displays_french():
    field = FieldDef(key="start", label="Début", question="Quand ?", type="date")
    assert parse_answer(field, "1er avril 2027") == "2027-04-01"
    assert display_value(field, "2027-04-01") == "1er avril 2027"
    assert format_date_fr(date(2027, 3, 12)) == "12 mars 2027"
    with pytest.raises(InvalidAnswer, match="12 mars 2027"):
        parse_answer(field, "bientôt")


def test_url_and_matrix_user():
    url = FieldDef(key="site", label="Site", question="Site ?", type="url")
    assert parse_answer(url, "www.manufacture.fr") == "https://www.manufacture.fr"
    with pytest.raises(InvalidAnswer):
        parse_answer(url, "pas de site")
    user = FieldDef(key="who", label="Qui", question="Qui ?", type="matrix_user")
    assert parse_answer(user, "@bob:example.org") == "@bob:example.org"
    with pytest.raises(InvalidAnswer, match="@nom:serveur"):
        parse_answer(user, "Bob")


def test_text_lengths_and_patterns():
    with pytest.raises(InvalidAnswer, match="au moins 20"):
        answer("description", "Trop court.")
    with pytest.raises(InvalidAnswer, match="120 caractères au maximum"):
        answer("title", "x" * 121)
    assert answer("carrier_contact", "bob@example.org") == "bob@example.org"
    assert answer("carrier_contact", "06 12 34 56 78") == "06 12 34 56 78"
    with pytest.raises(InvalidAnswer, match="téléphone"):
        answer("carrier_contact", "je lui demanderai")
