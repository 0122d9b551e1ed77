"""A throwaway PostgreSQL cluster for the tests: initdb in a temporary folder, a server on 127.0.0.1 and
a free port (its socket in that folder, nothing in /var/run), stopped and deleted at the end.

The binaries are Debian's `postgresql` package (`make setup-pg` installs it). initdb refuses to run as
root, so under root the cluster belongs to the `postgres` system user the package creates.

Each test gets a database of its own, copied from a template brought to the last revision once per
session by the code under test (storage.database): no table list is kept here.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from storage.database import Database

# Set to 1 to skip the PostgreSQL tests on a machine without apt (never in CI, where they must run).
SKIP_VARIABLE = "MANUFACTURE_SKIP_POSTGRES"
SUPERUSER = "postgres"
TEMPLATE = "manufacture_head"


class PostgresUnavailable(RuntimeError):
    pass


def find_bindir() -> Path:
    """Where initdb and pg_ctl are: on PATH, else Debian's /usr/lib/postgresql/<version>/bin (newest)."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise PostgresUnavailable(
            "PostgreSQL n'est pas installé (ni initdb ni pg_ctl) : lancez `make setup-pg`, "
            f"ou {SKIP_VARIABLE}=1 pour sauter ces tests sur une machine sans apt."
        )
    return Path(found[-1]).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresCluster:
    def __init__(self, bindir: Path, root: Path, port: int, user: str | None) -> None:
        self.bindir, self.root, self.port, self.user = bindir, root, port, user
        self.data = root / "data"
        self._names = itertools.count(1)
        self._admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        self._template_ready = False

    @classmethod
    def start(cls) -> PostgresCluster:
        bindir = find_bindir()
        root = Path(tempfile.mkdtemp(prefix="manufacture-pg-"))
        user = None
        if os.geteuid() == 0:
            user = SUPERUSER
            account = pwd.getpwnam(user)
            os.chown(root, account.pw_uid, account.pw_gid)
        cluster = cls(bindir, root, free_port(), user)
        try:
            cluster._run(
                "initdb",
                "-D",
                str(cluster.data),
                "-U",
                SUPERUSER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            )
            cluster.start_server()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def start_server(self) -> None:
        """Starts the server on its data (again, after stop_server: the fault tests' outage)."""
        # Durability is worthless for a cluster deleted at the end; speed is not.
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start")

    def stop_server(self) -> None:
        """Stops the server, its data kept, as an outage would: connections are cut."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str) -> URL:
        return URL.create("postgresql+psycopg", username=SUPERUSER, host="127.0.0.1", port=self.port, database=database)

    def empty_database(self) -> URL:
        """A new database with no table at all."""
        name = f"test_{next(self._names)}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def database_at_head(self) -> URL:
        """A new database at the last revision, as the bot would have made it."""
        if not self._template_ready:
            self._execute(f'CREATE DATABASE "{TEMPLATE}" TEMPLATE template0')
            template = Database(self.url(TEMPLATE))
            template.create_all()
            template.close()  # a template is copied only while nobody is connected to it
            self._template_ready = True
        name = f"test_{next(self._names)}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
        return self.url(name)

    def drop(self, url: URL) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')

    def stop(self) -> None:
        self._admin.dispose()
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _execute(self, statement: str) -> None:
        with self._admin.connect() as connection:
            connection.execute(text(statement))

    def _run(self, program: str, *args: str) -> None:
        result = subprocess.run(
            [str(self.bindir / program), *args], user=self.user, cwd=self.root, capture_output=True, text=True
        )
        if result.returncode != 0:
            log = self.root / "server.log"
            detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise PostgresUnavailable(f"{program} a échoué ({result.returncode}) : {result.stderr.strip()}\n{detail}")
