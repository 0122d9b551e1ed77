"""`manufacture-bot db`, `backup` and `restore`: the schema's state, and a data folder copied and put back."""
import json
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from bot.instance_lock import InstanceLock
from config import DatabaseConfig
from storage.database import DATABASE_FILE, RELEASE_2026_12_01, head_revision, open_database
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
    writer.execute("INSERT INTO roomrecord (room_id, name, encrypted, is_direct, warned_unencrypted, updated_at) "
                   "VALUES ('!b:t', 'Pendant', 0, 0, 0, '2026-12-01 10:00:00')")
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


def test_a_backup_while_in_use_holds_what_the_wal_holds_and_restore_puts_it_back(config, tmp_path, capsys,
                                                                                 monkeypatch):
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
