"""[database]: where the bot keeps its data. Absent: the SQLite file in data_dir, as always; a
PostgreSQL server for a deployment that already runs one (backed up and watched with its tools)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from config.reader import TomlReader

# The only drivers the bot is tested with: Python's sqlite3 and psycopg 3.
SCHEMES = ("sqlite", "postgresql+psycopg")
PASSWORD_VARIABLE = "MANUFACTURE_DATABASE_PASSWORD"


@dataclass(frozen=True)
class DatabaseConfig:
    # Empty: the SQLite file in data_dir. Out of repr: it may hold the password.
    url: str = field(default="", repr=False)

    @property
    def parsed(self) -> URL | None:
        return make_url(self.url) if self.url else None

    @property
    def is_postgresql(self) -> bool:
        parsed = self.parsed
        return parsed is not None and parsed.get_backend_name() == "postgresql"

    def shown(self) -> str:
        """The URL as logs and messages may show it: never its password."""
        parsed = self.parsed
        return parsed.render_as_string(hide_password=True) if parsed is not None else ""


def parse_database(d: TomlReader) -> DatabaseConfig:
    text = d.get("url", str, "").strip()
    if not text:
        d.no_unknown_keys()
        return DatabaseConfig()
    try:
        url = make_url(text)
    except ArgumentError:
        raise d.fail(
            "url",
            "adresse de base de données illisible (attendu par exemple "
            "« postgresql+psycopg://manufacture@127.0.0.1:5432/manufacture »)",
        ) from None
    if url.drivername not in SCHEMES:
        raise d.fail(
            "url",
            f"schéma « {url.drivername} » non pris en charge : « sqlite:///chemin » ou "
            "« postgresql+psycopg://utilisateur@hôte:port/base »",
        )
    if url.drivername == "sqlite":
        if not url.database or url.database == ":memory:":
            raise d.fail("url", "une base SQLite doit être un fichier (« sqlite:///chemin/manufacture.db »)")
        # Relative to the configuration file's folder, like every other path in it.
        path = os.path.join(str(d.base), os.path.expanduser(url.database))
        url = url.set(database=os.path.normpath(path))
    else:
        if not url.database:
            raise d.fail("url", "le nom de la base manque (« …/manufacture » à la fin de l'adresse)")
        # The password is better kept out of the file, as the Matrix one is.
        password = os.environ.get(PASSWORD_VARIABLE)
        if password:
            url = url.set(password=password)
    config = DatabaseConfig(url=url.render_as_string(hide_password=False))
    d.no_unknown_keys()
    return config
