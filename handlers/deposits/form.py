"""The deposit form as data: a TOML file parsed into typed, frozen definitions.

The form ships as default_form.toml and a deployment may replace it (deposits.form_path),
so every mistake in the file is reported with the file and the dotted key, like the config.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.config import ConfigError, read_toml

DEFAULT_FORM_PATH = Path(__file__).resolve().parent / "default_form.toml"

FIELD_TYPES = ("short_text", "long_text", "choice", "choices", "yes_no", "email", "url", "date",
               "tribe", "matrix_user")
# Facts known before the first question, usable in conditions like answers.
FACTS = ("origin_confidential",)
# Keys the deposit record reads (see records.py); only "title" is mandatory in a custom form.
REQUIRED_KEYS = ("title",)


class FormError(ConfigError):
    """A mistake in the form file, naming the file and the key."""


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    # Other ways people say it ("moi", "c'est moi"), matched like the label.
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Condition:
    """Ask the field only when an earlier answer (or a fact) has one of these values.

    For a several-choices answer, the condition holds when any chosen value is listed.
    """

    field: str
    values: tuple[Any, ...]

    def holds(self, known: dict[str, Any]) -> bool:
        if self.field not in known:
            return False
        value = known[self.field]
        if isinstance(value, list):
            return any(v in self.values for v in value)
        return value in self.values


@dataclass(frozen=True)
class FieldDef:
    key: str
    label: str
    question: str
    type: str
    required: bool = True
    help: str = ""
    options: tuple[Option, ...] = ()
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    # Said when the pattern does not match; a bare regex means nothing to a member.
    pattern_hint: str = ""
    condition: Condition | None = None
    # A replacement question when the deposit comes from a confidential room.
    question_if_confidential: str = ""

    @property
    def has_options(self) -> bool:
        return self.type in ("choice", "choices", "tribe")

    def question_for(self, origin_confidential: bool) -> str:
        if origin_confidential and self.question_if_confidential:
            return self.question_if_confidential
        return self.question


@dataclass(frozen=True)
class FormDef:
    path: str
    title: str
    intro: str
    fields: tuple[FieldDef, ...]

    def field(self, key: str) -> FieldDef:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)

    def keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.fields)

    def with_tribes(self, tribes: list[str] | tuple[str, ...]) -> "FormDef":
        """The tribes are rooms, known only at runtime: they become the options of tribe fields.

        A tribe field with no tribe configured cannot be answered, so it is dropped.
        """
        options = tuple(Option(value=name, label=name) for name in tribes)
        fields = []
        for f in self.fields:
            if f.type == "tribe":
                if not options:
                    continue
                f = replace(f, options=options)
            fields.append(f)
        return replace(self, fields=tuple(fields))


def load_form(path: Path | str | None = None) -> FormDef:
    """Read and check a form file (the shipped one when path is None)."""
    path = Path(path) if path else DEFAULT_FORM_PATH
    return parse_form(read_toml(path, FormError), path)


def parse_form(raw: dict[str, Any], path: Path | str) -> FormDef:
    def fail(key: str, problem: str) -> FormError:
        return FormError(path, key, problem)

    def text(table: dict, name: str, where: str, default: str | None = None) -> str:
        value = table.get(name, default)
        if value is None:
            raise fail(f"{where}.{name}" if where else name, "obligatoire mais absente")
        if not isinstance(value, str):
            raise fail(f"{where}.{name}" if where else name, "doit être un texte")
        return value

    known_top = {"title", "intro", "fields"}
    for key in raw:
        if key not in known_top:
            raise fail(key, "clé inconnue (faute de frappe ?)")
    fields_raw = raw.get("fields")
    if not isinstance(fields_raw, list) or not fields_raw:
        raise fail("fields", "il faut au moins un champ ([[fields]])")

    fields: list[FieldDef] = []
    seen: set[str] = set()
    for i, table in enumerate(fields_raw):
        where = f"fields[{i}]"
        if not isinstance(table, dict):
            raise fail(where, "doit être une table")
        fields.append(_parse_field(table, where, seen, fail, text))
        seen.add(fields[-1].key)

    for key in REQUIRED_KEYS:
        if key not in seen:
            raise fail("fields", f"le champ « {key} » est obligatoire dans tout formulaire de dépôt")
    return FormDef(path=str(path), title=text(raw, "title", "", "Dépôt d'un projet"),
                   intro=text(raw, "intro", "", ""), fields=tuple(fields))


_FIELD_KEYS = {"key", "label", "question", "type", "required", "help", "options", "min_length",
               "max_length", "pattern", "pattern_hint", "condition", "question_if_confidential"}


def _parse_field(table: dict, where: str, earlier: set[str], fail, text) -> FieldDef:
    for name in table:
        if name not in _FIELD_KEYS:
            raise fail(f"{where}.{name}", "clé inconnue (faute de frappe ?)")
    key = text(table, "key", where)
    if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
        raise fail(f"{where}.key", f"« {key} » : lettres minuscules, chiffres et _ seulement")
    if key in earlier:
        raise fail(f"{where}.key", f"« {key} » est déjà utilisé par un autre champ")
    ftype = text(table, "type", where)
    if ftype not in FIELD_TYPES:
        raise fail(f"{where}.type", f"« {ftype} » : valeurs possibles {', '.join(FIELD_TYPES)}")

    required = table.get("required", True)
    if not isinstance(required, bool):
        raise fail(f"{where}.required", "doit valoir true ou false")
    lengths = {}
    for name in ("min_length", "max_length"):
        value = table.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise fail(f"{where}.{name}", "doit être un entier positif")
        lengths[name] = value
    pattern = table.get("pattern")
    if pattern is not None:
        if not isinstance(pattern, str):
            raise fail(f"{where}.pattern", "doit être un texte (expression régulière)")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise fail(f"{where}.pattern", f"expression régulière invalide : {exc}") from None

    options = _parse_options(table.get("options"), f"{where}.options", fail)
    if ftype in ("choice", "choices") and not options:
        raise fail(f"{where}.options", f"un champ de type {ftype} a besoin d'options")
    if ftype not in ("choice", "choices") and options:
        raise fail(f"{where}.options", f"un champ de type {ftype} n'a pas d'options")

    return FieldDef(
        key=key, label=text(table, "label", where), question=text(table, "question", where), type=ftype,
        required=required, help=text(table, "help", where, ""), options=options,
        min_length=lengths["min_length"], max_length=lengths["max_length"], pattern=pattern,
        pattern_hint=text(table, "pattern_hint", where, ""),
        condition=_parse_condition(table.get("condition"), f"{where}.condition", earlier, fail),
        question_if_confidential=text(table, "question_if_confidential", where, ""),
    )


def _parse_options(raw: Any, where: str, fail) -> tuple[Option, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise fail(where, "doit être une liste de tables { value, label }")
    options, values = [], set()
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("value"), str) \
                or not isinstance(item.get("label"), str):
            raise fail(f"{where}[{i}]", "chaque option est { value = \"…\", label = \"…\" }")
        if item["value"] in values:
            raise fail(f"{where}[{i}].value", f"« {item['value']} » apparaît deux fois")
        aliases = item.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise fail(f"{where}[{i}].aliases", "doit être une liste de textes")
        values.add(item["value"])
        options.append(Option(value=item["value"], label=item["label"], aliases=tuple(aliases)))
    return tuple(options)


def _parse_condition(raw: Any, where: str, earlier: set[str], fail) -> Condition | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("field"), str) or "equals" not in raw:
        raise fail(where, "s'écrit { field = \"clé\", equals = valeur ou [valeurs] }")
    if set(raw) - {"field", "equals"}:
        raise fail(where, "seules les clés field et equals sont permises")
    field = raw["field"]
    # Only earlier answers: a condition on a later field could never be evaluated in time.
    if field not in earlier and field not in FACTS:
        raise fail(f"{where}.field", f"« {field} » n'est ni un champ précédent ni un fait connu ({', '.join(FACTS)})")
    values = raw["equals"] if isinstance(raw["equals"], list) else [raw["equals"]]
    return Condition(field=field, values=tuple(values))
