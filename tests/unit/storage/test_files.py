"""The data folder holds confidential deposits and the bot's keys: owner-only, whatever the umask."""

import logging
import os
import stat
from pathlib import Path

import pytest

from bot.app import build_app
from bot.session import StoredSession, save_session
from storage.database import DATABASE_FILE, Database
from storage.files import secure_data_dir, write_owner_only
from storage.rooms import RoomRecord
from tests.unit.stand_ins import build_config


@pytest.fixture
def usual_umask():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def modes(root: Path) -> dict[str, int]:
    """Every entry under root (root included, as "."), with its permission bits."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for folder, subfolders, files in os.walk(root):
        for name in (*subfolders, *files):
            path = Path(folder) / name
            found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def assert_owner_only(root: Path) -> None:
    loose = {
        name: oct(mode) for name, mode in modes(root).items() if mode != (0o700 if (root / name).is_dir() else 0o600)
    }
    assert loose == {}


async def test_everything_the_bot_writes_in_its_data_folder_is_owner_only(tmp_path, usual_umask):
    data_dir = tmp_path / "data"
    config = build_config(tmp_path, matrix={"homeserver": "http://127.0.0.1:9", "user_id": "@bot:t"})
    app = build_app(config)
    try:
        app.lock.acquire()
        app.db.create_all()
        with app.db.session() as session:
            session.add(RoomRecord(room_id="!peers:t", kind="peer_group", name="Pairs"))
        save_session(data_dir, StoredSession("http://127.0.0.1:9", "@bot:t", "DEVICE", "secret-token"))
        # What log_in does with a stored session: nio opens its encryption store in data_dir/store.
        (data_dir / "store").mkdir()
        app.client.restore_login("@bot:t", "DEVICE", "secret-token")
        entries = modes(data_dir)
        # While both databases are open their -wal and -shm files exist: they are checked too.
        assert {
            DATABASE_FILE,
            f"{DATABASE_FILE}-wal",
            f"{DATABASE_FILE}-shm",
            "session.json",
            "bot.lock",
            "store",
            "store/@bot:t_DEVICE.db",
            "store/@bot:t_DEVICE.db-wal",
        } <= set(entries)
        assert_owner_only(data_dir)
    finally:
        await app.close()


def test_a_folder_left_readable_by_others_is_tightened_with_one_log_line(tmp_path, usual_umask, caplog):
    data_dir = tmp_path / "data"
    (data_dir / "store").mkdir(parents=True, mode=0o755)
    data_dir.chmod(0o755)
    (data_dir / DATABASE_FILE).write_text("")
    (data_dir / "store" / "keys.db").write_text("")
    (data_dir / "session.json").write_text("{}")
    (data_dir / "session.json").chmod(0o600)  # already right: not counted
    assert modes(data_dir)[DATABASE_FILE] == 0o644
    with caplog.at_level(logging.INFO):
        secure_data_dir(data_dir)
    assert_owner_only(data_dir)
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.WARNING, f"Data folder {data_dir} was readable by others: 4 entries made owner-only")
    ]
    caplog.clear()
    secure_data_dir(data_dir)
    assert caplog.records == []


def test_a_command_line_tool_opening_the_database_under_a_usual_umask_keeps_it_owner_only(tmp_path, usual_umask):
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    db = Database.in_dir(data_dir)
    try:
        db.create_all()
        with db.session() as session:
            session.add(RoomRecord(room_id="!tribe:t", kind="tribe", name="Alimentation"))
        assert {f"{DATABASE_FILE}-wal", f"{DATABASE_FILE}-shm"} <= set(modes(data_dir))
        assert_owner_only(data_dir)
    finally:
        db.close()


def test_a_secret_written_owner_only_is_never_readable_by_others_even_over_a_readable_file(tmp_path, usual_umask):
    fresh, left_readable = tmp_path / "config.toml", tmp_path / "demo.json"
    left_readable.write_text("old")
    assert modes(tmp_path)["demo.json"] == 0o644
    write_owner_only(fresh, 'password = "x"')
    write_owner_only(left_readable, "new")
    assert modes(tmp_path)["config.toml"] == modes(tmp_path)["demo.json"] == 0o600
    assert fresh.read_text() == 'password = "x"' and left_readable.read_text() == "new"
