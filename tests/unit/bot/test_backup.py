"""`manufacture-bot db`, `backup` and `restore`: the schema's state, and a data folder copied and put back."""

import json
import sqlite3
from pathlib import Path

import pytest
from sqlmodel import select

from bot.cli import main
from bot.instance_lock import InstanceLock
from config import DatabaseConfig
from storage.database import DATABASE_FILE, RELEASE_2026_12_01, Database, head_revision, open_database
from storage.rooms import RoomRecord

FIXTURE = Path(__file__).parents[2] / "fixtures" / "release-2026-12-01.sql"
CONFIG = """
[matrix]
homeserver = "http://127.0.0.1:8008"
user_id = "@bot:t"

[bot]
data_dir = "{data_dir}"
"""


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(data_dir=tmp_path / "data"), encoding="utf-8")
    return path


def rooms(data_dir: Path) -> list[str]:
    with sqlite3.connect(data_dir / DATABASE_FILE) as connection:
        return [name for (name,) in connection.execute("SELECT name FROM roomrecord ORDER BY name")]


def data_dir_in_use(data_dir: Path) -> sqlite3.Connection:
    """A data folder as a running bot leaves it: a database whose last write is still only in its WAL,
    a session, and a store database of nio's."""
    db = open_database(data_dir, DatabaseConfig())
    with db.session() as session:
        session.add(RoomRecord(room_id="!a:t", name="Avant"))
    db.close()
    writer = sqlite3.connect(data_dir / DATABASE_FILE)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # the row below stays in the WAL, as it would mid-run
    writer.execute(
        "INSERT INTO roomrecord (room_id, name, encrypted, is_direct, warned_unencrypted, updated_at, "
        "recorded_order) VALUES ('!b:t', 'Pendant', 0, 0, 0, '2026-12-01 10:00:00', 2)"
    )
    writer.commit()
    (data_dir / "session.json").write_text(json.dumps({"device_id": "DEVICE"}))
    (data_dir / "store").mkdir()
    with sqlite3.connect(data_dir / "store" / "@bot:t_DEVICE.db") as store:
        store.execute("CREATE TABLE keys (session TEXT)")
        store.execute("INSERT INTO keys VALUES ('megolm')")
    return writer


def test_db_history_current_and_upgrade_of_a_release_database(config, tmp_path, capsys):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with sqlite3.connect(data_dir / DATABASE_FILE) as connection:
        connection.executescript(FIXTURE.read_text(encoding="utf-8"))

    assert main(["db", "history", "--config", str(config)]) == 0
    history = capsys.readouterr().out.splitlines()
    assert history[0].startswith(f"{RELEASE_2026_12_01} — ") and history[-1].startswith(head_revision())

    assert main(["db", "current", "--config", str(config)]) == 1
    assert "pas encore d'historique de migrations" in capsys.readouterr().out

    assert main(["db", "upgrade", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"Base mise à jour de la révision {RELEASE_2026_12_01} à {head_revision()}." in out
    assert f"Copie d'avant la mise à jour : {data_dir}/manufacture-" in out

    assert main(["db", "upgrade", "--config", str(config)]) == 0
    assert capsys.readouterr().out.strip() == f"La base est à jour (révision {head_revision()})."
    assert main(["db", "current", "--config", str(config)]) == 0
    assert capsys.readouterr().out.strip() == f"Révision actuelle : {head_revision()} (à jour)"


def test_a_backup_while_in_use_holds_what_the_wal_holds_and_restore_puts_it_back(config, tmp_path, capsys, monkeypatch):
    data_dir = tmp_path / "data"
    writer = data_dir_in_use(data_dir)
    backup = tmp_path / "backup"
    try:
        assert main(["backup", str(backup), "--config", str(config)]) == 0
    finally:
        writer.close()
    out = capsys.readouterr().out
    assert "manufacture.db, session.json, store/ (1 fichier(s))" in out
    assert "Pas encore de clés de signature croisée" in out
    assert rooms(backup) == ["Avant", "Pendant"]
    assert not (backup / "store" / "@bot:t_DEVICE.db-wal").exists()
    assert all(p.stat().st_mode & 0o077 == 0 for p in (backup, *backup.rglob("*")))
    assert main(["backup", str(backup), "--config", str(config)]) == 2  # never over an earlier backup
    assert "n'est pas vide" in capsys.readouterr().err

    # Later the data folder changed, and its cross-signing keys came (the backup has none).
    db = open_database(data_dir, DatabaseConfig())
    with db.session() as session:
        session.add(RoomRecord(room_id="!c:t", name="Après"))
    db.close()
    (data_dir / "cross_signing.json").write_text("{}")

    lock = InstanceLock(data_dir)
    lock.acquire()
    try:
        assert main(["restore", str(backup), "--yes", "--config", str(config)]) == 2
        assert "arrêtez-le avant de restaurer" in capsys.readouterr().err
    finally:
        lock.release()

    monkeypatch.setattr("builtins.input", lambda question: "non")
    assert main(["restore", str(backup), "--config", str(config)]) == 1
    assert "Rien n'a changé." in capsys.readouterr().out
    assert rooms(data_dir) == ["Après", "Avant", "Pendant"]

    monkeypatch.setattr("builtins.input", lambda question: "oui")
    assert main(["restore", str(backup), "--config", str(config)]) == 0
    assert "Sauvegarde restaurée" in capsys.readouterr().out
    assert rooms(data_dir) == ["Avant", "Pendant"]
    assert json.loads((data_dir / "session.json").read_text()) == {"device_id": "DEVICE"}
    with sqlite3.connect(data_dir / "store" / "@bot:t_DEVICE.db") as store:
        assert store.execute("SELECT session FROM keys").fetchall() == [("megolm",)]
    assert (data_dir / "cross_signing.json").read_text() == "{}"  # never removed: it cannot be made again


def test_restore_refuses_a_folder_that_is_not_a_backup(config, tmp_path, capsys):
    (tmp_path / "nothing").mkdir()
    assert main(["restore", str(tmp_path / "nothing"), "--yes", "--config", str(config)]) == 2
    assert "n'est pas une sauvegarde du bot" in capsys.readouterr().err


def postgres_config(tmp_path: Path, url) -> Path:
    """A bot on the test's PostgreSQL database; the URL carries a password that must never be shown
    (the throwaway cluster trusts 127.0.0.1 and ignores it)."""
    path = tmp_path / "config.toml"
    shown = url.set(password="s3cret").render_as_string(hide_password=False)
    path.write_text(CONFIG.format(data_dir=tmp_path / "data") + f'\n[database]\nurl = "{shown}"\n', encoding="utf-8")
    (tmp_path / "data").mkdir(mode=0o700)
    (tmp_path / "data" / "session.json").write_text(json.dumps({"device_id": "DEVICE"}))
    return path


def pg_rooms(url) -> list[str]:
    db = Database(url)
    try:
        with db.session() as session:
            return sorted(room.name for room in session.exec(select(RoomRecord)))
    finally:
        db.close()


def add_room(url, room_id: str, name: str) -> None:
    db = Database(url)
    with db.session() as session:
        session.add(RoomRecord(room_id=room_id, name=name))
    db.close()


def test_with_postgresql_a_backup_is_a_pg_dump_and_restore_puts_it_back(tmp_path, postgres_url, capsys):
    config = postgres_config(tmp_path, postgres_url)
    add_room(postgres_url, "!a:t", "Avant")
    backup = tmp_path / "backup"
    assert main(["backup", str(backup), "--config", str(config)]) == 0
    captured = capsys.readouterr()
    assert "manufacture.pgdump, session.json" in captured.out and "s3cret" not in captured.out + captured.err
    dump = backup / "manufacture.pgdump"
    assert dump.read_bytes().startswith(b"PGDMP")  # pg_dump's custom format
    assert all(p.stat().st_mode & 0o077 == 0 for p in (backup, *backup.rglob("*")))
    assert not (backup / DATABASE_FILE).exists() and not (tmp_path / "data" / DATABASE_FILE).exists()

    add_room(postgres_url, "!c:t", "Après")
    (tmp_path / "data" / "session.json").write_text(json.dumps({"device_id": "OTHER"}))
    assert main(["restore", str(backup), "--yes", "--config", str(config)]) == 0
    assert "Sauvegarde restaurée" in capsys.readouterr().out
    assert pg_rooms(postgres_url) == ["Avant"]
    assert json.loads((tmp_path / "data" / "session.json").read_text()) == {"device_id": "DEVICE"}
    restored = Database(postgres_url)
    assert restored.revision() == head_revision() and restored.create_all() is None
    restored.close()


def test_with_postgresql_and_no_pg_dump_the_backup_says_how_and_fails(tmp_path, postgres_url, capsys, monkeypatch):
    config = postgres_config(tmp_path, postgres_url)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    backup = tmp_path / "backup"
    assert main(["backup", str(backup), "--config", str(config)]) == 1
    out, err = capsys.readouterr()
    assert "session.json" in out and "pgdump" not in out
    assert "pg_dump est introuvable" in err and "pg_dump --format=custom" in err
    assert f"127.0.0.1:{postgres_url.port}/{postgres_url.database}" in err and "s3cret" not in out + err
    assert (backup / "session.json").exists()

    # The same backup put back: the files are, and the database is left to the operator.
    assert main(["restore", str(backup), "--yes", "--config", str(config)]) == 1
    assert "ne contient pas la base PostgreSQL" in capsys.readouterr().err


def test_with_postgresql_and_no_pg_restore_the_restore_gives_the_command(tmp_path, postgres_url, capsys, monkeypatch):
    config = postgres_config(tmp_path, postgres_url)
    add_room(postgres_url, "!a:t", "Avant")
    backup = tmp_path / "backup"
    assert main(["backup", str(backup), "--config", str(config)]) == 0
    add_room(postgres_url, "!c:t", "Après")
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    assert main(["restore", str(backup), "--yes", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "pg_restore est introuvable" in err and "pg_restore --clean --if-exists" in err and "s3cret" not in err
    assert pg_rooms(postgres_url) == ["Après", "Avant"]


def test_a_backup_of_the_other_kind_of_database_is_refused(tmp_path, postgres_url, capsys):
    sqlite_config = tmp_path / "sqlite.toml"
    sqlite_config.write_text(CONFIG.format(data_dir=tmp_path / "other"), encoding="utf-8")
    config = postgres_config(tmp_path, postgres_url)
    assert main(["backup", str(tmp_path / "pg-backup"), "--config", str(config)]) == 0
    assert main(["restore", str(tmp_path / "pg-backup"), "--yes", "--config", str(sqlite_config)]) == 2
    assert "vient d'un bot configuré avec PostgreSQL" in capsys.readouterr().err
