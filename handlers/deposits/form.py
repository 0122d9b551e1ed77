"""The deposit form as data: a TOML file parsed into typed, frozen definitions.

The form ships as default_form.toml and a deployment may replace it (deposits.form_path),
so every mistake in the file is reported with the file and the dotted key, like the config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from config import ConfigError, TomlReader, read_toml

DEFAULT_FORM_PATH = Path(__file__).resolve().parent / "default_form.toml"

FIELD_TYPES = ("short_text", "long_text", "choice", "choices", "yes_no", "email", "url", "date", "tribe", "matrix_user")
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

    def __contains__(self, key: object) -> bool:
        return key in self.keys()

    def with_tribes(self, tribes: list[str] | tuple[str, ...]) -> FormDef:
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
    root = TomlReader(Path(path), raw, error=FormError)
    title, intro = root.get("title", str, "Dépôt d'un projet"), root.get("intro", str, "")
    tables = root.items("fields")
    root.no_unknown_keys()
    if not tables:
        raise root.fail("fields", "il faut au moins un champ ([[fields]])")
    fields: list[FieldDef] = []
    for table in tables:
        fields.append(_parse_field(table, {f.key for f in fields}))
    keys = {f.key for f in fields}
    for key in REQUIRED_KEYS:
        if key not in keys:
            raise root.fail("fields", f"le champ « {key} » est obligatoire dans tout formulaire de dépôt")
    return FormDef(path=str(path), title=title, intro=intro, fields=tuple(fields))


def _parse_field(t: TomlReader, earlier: set[str]) -> FieldDef:
    key = t.get("key", str, required=True)
    if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
        raise t.fail("key", f"« {key} » : lettres minuscules, chiffres et _ seulement")
    if key in earlier:
        raise t.fail("key", f"« {key} » est déjà utilisé par un autre champ")
    ftype = t.get("type", str, required=True)
    if ftype not in FIELD_TYPES:
        raise t.fail("type", f"« {ftype} » : valeurs possibles {', '.join(FIELD_TYPES)}")
    lengths = {}
    for name in ("min_length", "max_length"):
        value = t.get(name, int, None)
        if value is not None and value < 0:
            raise t.fail(name, "doit être un entier positif")
        lengths[name] = value
    pattern = t.get("pattern", str, None)
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise t.fail("pattern", f"expression régulière invalide : {exc}") from None
    options = _parse_options(t)
    if ftype in ("choice", "choices") and not options:
        raise t.fail("options", f"un champ de type {ftype} a besoin d'options")
    if ftype not in ("choice", "choices") and options:
        raise t.fail("options", f"un champ de type {ftype} n'a pas d'options")
    field = FieldDef(
        key=key,
        label=t.get("label", str, required=True),
        question=t.get("question", str, required=True),
        type=ftype,
        required=t.get("required", bool, True),
        help=t.get("help", str, ""),
        options=options,
        min_length=lengths["min_length"],
        max_length=lengths["max_length"],
        pattern=pattern,
        pattern_hint=t.get("pattern_hint", str, ""),
        condition=_parse_condition(t, earlier),
        question_if_confidential=t.get("question_if_confidential", str, ""),
    )
    t.no_unknown_keys()
    return field


def _parse_options(t: TomlReader) -> tuple[Option, ...]:
    options, values = [], set()
    for item in t.items("options"):
        value, label = item.get("value", str, required=True), item.get("label", str, required=True)
        if value in values:
            raise item.fail("value", f"« {value} » apparaît deux fois")
        values.add(value)
        options.append(Option(value=value, label=label, aliases=item.strings("aliases")))
        item.no_unknown_keys()
    return tuple(options)


def _parse_condition(t: TomlReader, earlier: set[str]) -> Condition | None:
    if "condition" not in t.table:
        return None
    c = t.sub("condition")
    field = c.get("field", str, required=True)
    equals = c.get("equals", (str, int, float, bool, list), required=True)
    c.no_unknown_keys()
    # Only earlier answers: a condition on a later field could never be evaluated in time.
    if field not in earlier and field not in FACTS:
        raise c.fail("field", f"« {field} » n'est ni un champ précédent ni un fait connu ({', '.join(FACTS)})")
    values = equals if isinstance(equals, list) else [equals]
    return Condition(field=field, values=tuple(values))
