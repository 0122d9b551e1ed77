"""The form file: the shipped one loads, mistakes name the file and the key."""

from pathlib import Path

import pytest

from handlers.deposits.form import FormError, load_form, parse_form


def test_default_form_has_the_expected_fields():
    form = load_form()
    assert form.keys()[:3] == ("title", "tribe", "carrier")
    assert {"territory", "description", "needs", "stage", "contact", "visibility", "share_content"} <= set(form.keys())
    assert form.field("needs").type == "choices"
    assert form.field("carrier_name").condition.field == "carrier"
    assert form.field("contact").required is False


def test_tribes_become_options_and_a_tribe_field_without_tribes_is_dropped():
    form = load_form()
    assert [o.label for o in form.with_tribes(["Énergie", "Eau"]).field("tribe").options] == ["Énergie", "Eau"]
    assert "tribe" not in form.with_tribes([])


def _minimal(**overrides):
    field = {"key": "title", "label": "Titre", "question": "Titre ?", "type": "short_text", **overrides}
    return {"fields": [field]}


@pytest.mark.parametrize(
    ("raw", "key", "words"),
    [
        (_minimal(type="texte"), "fields[0].type", "valeurs possibles"),
        (_minimal(colour="red"), "fields[0].colour", "inconnue"),
        (_minimal(pattern="(["), "fields[0].pattern", "expression régulière"),
        (_minimal(type="choice"), "fields[0].options", "besoin d'options"),
        (_minimal(condition={"field": "later", "equals": "x"}), "fields[0].condition.field", "champ précédent"),
        ({"fields": [{"key": "other", "label": "A", "question": "A ?", "type": "short_text"}]}, "fields", "title"),
        ({"fields": []}, "fields", "au moins un champ"),
    ],
)
def test_mistakes_name_the_file_and_the_key(raw, key, words):
    with pytest.raises(FormError) as caught:
        parse_form(raw, Path("/etc/bot/form.toml"))
    assert caught.value.key == key
    assert words in caught.value.problem
    assert str(caught.value).startswith("/etc/bot/form.toml: clé « " + key)


def test_a_replacement_file_is_read(tmp_path):
    path = tmp_path / "form.toml"
    path.write_text(
        '[[fields]]\nkey = "title"\nlabel = "Nom"\nquestion = "Nom du projet ?"\ntype = "short_text"\n',
        encoding="utf-8",
    )
    assert load_form(path).field("title").question == "Nom du projet ?"
    path.write_text("[[fields]\n", encoding="utf-8")
    with pytest.raises(FormError, match="TOML invalide"):
        load_form(path)
