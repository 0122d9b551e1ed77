"""Typed reading of a TOML file, shared by the configuration and the deposit form file.

Every error names the file and the dotted key, so a deployment can fix it without reading code.
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Any, TypeVar, overload

_T = TypeVar("_T")
_D = TypeVar("_D")


class ConfigError(Exception):
    """A configuration problem, with the file and key it comes from."""

    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        # A problem of the whole file (missing, bad syntax) has no key to name.
        super().__init__(f"{path}: clé « {key} » : {problem}" if key else f"{path}: {problem}")
        self.path, self.key, self.problem = str(path), key, problem


def read_toml(path: Path, error: type[ConfigError] = ConfigError) -> dict[str, Any]:
    """A TOML file as a dict; a missing file or bad syntax raises `error` naming the file."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(path, "", "fichier introuvable") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(path, "", f"TOML invalide : {exc}") from None


def resolve_path(base: Path, value: str) -> Path:
    """A path from the file, relative to the file's folder unless absolute."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path)


class TomlReader:
    """Typed access to one TOML table, remembering the dotted path for error messages."""

    def __init__(self, path: Path, table: Any, prefix: str = "", error: type[ConfigError] = ConfigError) -> None:
        if not isinstance(table, dict):
            raise error(path, prefix, "doit être une table")
        self.path, self.table, self.prefix, self.error = path, table, prefix, error
        self.used: set[str] = set()

    @property
    def base(self) -> Path:
        return self.path.parent.resolve()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def fail(self, name: str, problem: str) -> ConfigError:
        return self.error(self.path, self.key(name), problem)

    # Without a default the key is required; a default's own type joins the result's (None: may be absent).
    @overload
    def get(self, name: str, kind: type[_T], *, required: bool = False) -> _T: ...
    @overload
    def get(self, name: str, kind: type[_T], default: _D, *, required: bool = False) -> _T | _D: ...
    @overload
    def get(self, name: str, kind: tuple[type, ...], default: object = ..., *, required: bool = False) -> object: ...
    def get(self, name: str, kind: type | tuple[type, ...], default: object = ..., *, required: bool = False) -> object:
        self.used.add(name)
        if name not in self.table:
            if required or default is ...:
                raise self.fail(name, "obligatoire mais absente")
            return default
        value = self.table[name]
        # TOML integers are acceptable where a float is expected; booleans never are.
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
            names = kind.__name__ if isinstance(kind, type) else " ou ".join(k.__name__ for k in kind)
            raise self.fail(name, f"type attendu {_french_type(names)}, trouvé {_french_type(type(value).__name__)}")
        return value

    def strings(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        values = self.get(name, list, list(default))
        if not all(isinstance(v, str) for v in values):
            raise self.fail(name, "doit être une liste de chaînes")
        return tuple(values)

    def sub(self, name: str) -> TomlReader:
        self.used.add(name)
        return TomlReader(self.path, self.table.get(name, {}), self.key(name), self.error)

    def items(self, name: str) -> list[TomlReader]:
        self.used.add(name)
        values = self.table.get(name, [])
        if not isinstance(values, list):
            raise self.fail(name, "doit être une liste de tables ([[...]])")
        return [TomlReader(self.path, v, f"{self.key(name)}[{i}]", self.error) for i, v in enumerate(values)]

    def no_unknown_keys(self) -> None:
        unknown = sorted(set(self.table) - self.used)
        if unknown:
            close = difflib.get_close_matches(unknown[0], sorted(self.used), n=1, cutoff=0.75)
            hint = f"vouliez-vous dire « {self.key(close[0])} » ?" if close else "faute de frappe ?"
            raise self.fail(unknown[0], f"clé inconnue ({hint})")


def _french_type(name: str) -> str:
    return {
        "str": "texte",
        "int": "entier",
        "float": "nombre",
        "bool": "booléen",
        "list": "liste",
        "dict": "table",
    }.get(name, name)
