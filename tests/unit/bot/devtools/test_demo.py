"""The demo's own words: no routine nio warning under the instructions, a stop that says so, a taken
port named with the setting to change, and a folder no other account of the machine can read."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.devtools import demo
from bot.devtools.local_synapse import RegisteredUser, free_port
from bot.matrix_bot import StartupError
from tests.unit.storage.test_files import assert_owner_only, modes

ROOT = Path(__file__).resolve().parents[4]
STATE = {
    "port": 8008,
    "homeserver": "http://127.0.0.1:8008",
    "bot": {"user_id": "@manufacture:localhost", "password": "bot-password"},
    "demo": {"user_id": "@demo:localhost", "password": "x"},
    "rooms": [{"name": "Tribu Alimentation", "id": "!a:localhost", "kind": "tribe", "role": None}],
}


@pytest.fixture(autouse=True)
def umask_back():
    """The demo sets the process umask (owner-only files): the next tests get theirs back."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield
    os.umask(previous)


@pytest.fixture(autouse=True)
def checked_at_once(monkeypatch):
    """The demo's check that the bot answers (a real account writing to it) stands answered: these
    bots are stand-ins. Each check is recorded."""
    checks: list[dict] = []

    async def answered(state: dict, directory: Path) -> None:
        checks.append(state)

    monkeypatch.setattr(demo, "_self_check", answered)
    return checks


@pytest.fixture
def usual_umask():
    os.umask(0o022)


@pytest.fixture
def board_port(monkeypatch):
    """A free board port: the demo's 8470 may be taken on a machine running tests side by side."""
    port = free_port()
    monkeypatch.setattr(demo, "BOARD_PORT", port)
    return port


class FakeSynapse:
    stopped = False
    port = 8008
    url = "http://127.0.0.1:8008"

    def __init__(self, directory: Path | None = None, port: int | None = None) -> None:
        self.directory = directory

    def start(self) -> FakeSynapse:
        # As the real one does: its folder and files, made by this process.
        assert self.directory is not None, "started as the demo starts the real one, in its folder"
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "homeserver.yaml").write_text("registration_shared_secret: x")
        return self

    def register(self, localpart: str, password: str | None = None, admin: bool = False) -> RegisteredUser:
        return RegisteredUser(f"@{localpart}:localhost", password or "generated", "token", "DEVICE")

    def stop(self) -> None:
        self.stopped = True


class Client:
    """The bot's nio client once its first sync has come back."""

    next_batch = "s1_first_sync"


class StoppedAtOnce:
    """The bot as Ctrl+C leaves it: its run returns (app.run turns SIGINT into a clean stop)."""

    def __init__(self, writes: Path | None = None) -> None:
        self.stopping = asyncio.Event()
        self.client = Client()
        self.writes = writes

    async def run(self) -> None:
        logging.getLogger("nio.crypto.log").warning("Missing session for device ABCDEF")
        if self.writes is not None:
            # A file the bot creates as it runs, under the process's umask.
            self.writes.mkdir(parents=True, exist_ok=True)
            (self.writes / "written-while-running").write_text("x")


def prepared(directory: Path, synapse=None, extra_config: str = ""):
    """_prepare for a demo folder already made: the state, its config.toml, a Synapse that never starts."""
    synapse = synapse or FakeSynapse()

    def prepare(folder: Path):
        (folder / "config.toml").write_text(demo._config_text(STATE, folder) + extra_config)
        return synapse, STATE

    return prepare


def never(*args, **kwargs):
    raise AssertionError("called although the demo should have stopped before it")


def test_the_demo_hides_nios_routine_warning_and_says_it_stopped(tmp_path, monkeypatch, capsys, caplog, board_port):
    synapse = FakeSynapse()
    monkeypatch.setattr(demo, "_prepare", prepared(tmp_path, synapse))
    monkeypatch.setattr(demo, "build_app", lambda config: StoppedAtOnce())
    monkeypatch.setattr(logging.getLogger("nio.crypto"), "level", logging.NOTSET)

    assert demo.run_demo(tmp_path) == 0

    assert not [r for r in caplog.records if "Missing session" in r.getMessage()]
    out = capsys.readouterr().out
    assert synapse.stopped and "Démo arrêtée" in out and str(tmp_path) in out
    assert f"http://127.0.0.1:{board_port}/" in out


@pytest.mark.parametrize("listening", [False, True])
def test_a_taken_board_port_stops_the_demo_naming_the_key_and_file_to_change(
    tmp_path, monkeypatch, capsys, board_port, listening
):
    synapse = FakeSynapse()
    monkeypatch.setattr(demo, "_prepare", prepared(tmp_path, synapse))
    monkeypatch.setattr(demo, "build_app", never)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", board_port))
        if listening:
            taken.listen()
        assert demo.run_demo(tmp_path) == 2

    err = capsys.readouterr().err
    assert err.startswith(
        f"Erreur : le port {board_port} (127.0.0.1:{board_port}), où la démo sert le tableau de bord web, est déjà pris"
    )
    assert f"la clé board.listen du fichier {tmp_path / 'config.toml'}" in err
    assert "Traceback" not in err
    assert synapse.stopped


def test_a_taken_metrics_port_is_named_with_its_own_key(tmp_path, monkeypatch, capsys, board_port):
    port = free_port()
    monkeypatch.setattr(
        demo, "_prepare", prepared(tmp_path, extra_config=f'\n[metrics]\nlisten = "127.0.0.1:{port}"\n')
    )
    monkeypatch.setattr(demo, "build_app", never)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        assert demo.run_demo(tmp_path) == 2
    err = capsys.readouterr().err
    assert f"le port {port}" in err and "les métriques" in err and "la clé metrics.listen du fichier" in err


def test_a_taken_synapse_port_stops_the_demo_before_synapse_starts(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo, "LocalSynapse", never)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        (tmp_path / "demo.json").write_text(json.dumps({**STATE, "port": port}))
        assert demo.run_demo(tmp_path) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"Erreur : le port {port} du serveur Matrix local de cette démo est déjà pris")
    assert 'make demo DEMO_ARGS="--dir autre-dossier"' in err and "manufacture-bot demo --dir" in err


def test_through_the_command_line_a_taken_port_is_one_french_sentence_and_no_traceback(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        (tmp_path / "demo.json").write_text(json.dumps({**STATE, "port": port}))
        done = subprocess.run(
            [sys.executable, "-m", "bot", "demo", "--dir", str(tmp_path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 2
    # Before it, at most the log line saying the folder (made readable here) was tightened.
    assert done.stderr.splitlines()[-1].startswith(f"Erreur : le port {port} du serveur Matrix local")
    assert "Traceback" not in done.stderr + done.stdout


class BotFailingAtStart:
    """A bot whose start fails (its board port taken by a program quicker than the demo's check)."""

    def __init__(self, after: asyncio.Event | None = None) -> None:
        self.stopping = asyncio.Event()
        self.client = Client()
        self.after = after

    async def run(self) -> None:
        if self.after is not None:
            await self.after.wait()
        raise StartupError(
            "Impossible d'écouter sur 127.0.0.1:8470 (clé board.listen du fichier demo-data/config.toml)"
            " : Address already in use"
        )


class ChatUntilCancelled:
    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = False

    async def run(self) -> None:
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise


def test_a_bot_that_cannot_start_ends_the_demo_and_its_chat_with_its_message(tmp_path, monkeypatch, capsys, board_port):
    chat = ChatUntilCancelled()
    synapse = FakeSynapse()
    monkeypatch.setattr(demo, "_prepare", prepared(tmp_path, synapse))
    monkeypatch.setattr(demo, "_chat", lambda state, directory: chat)
    monkeypatch.setattr(demo, "build_app", lambda config: BotFailingAtStart(after=chat.started))

    assert demo.run_demo(tmp_path, chat=True) == 2

    assert chat.cancelled and synapse.stopped
    err = capsys.readouterr().err
    assert err.startswith("Erreur : Impossible d'écouter sur 127.0.0.1:8470 (clé board.listen")
    assert "Traceback" not in err


class BotIndexingFirst:
    """A bot still loading its model and catching up for a while: no first sync yet."""

    def __init__(self) -> None:
        self.stopping = asyncio.Event()
        self.client = Client()
        self.client.next_batch = ""

    async def run(self) -> None:
        await asyncio.sleep(0.5)
        self.client.next_batch = "s1_first_sync"
        await self.stopping.wait()


def test_the_chat_starts_once_the_bot_has_caught_up_and_its_end_stops_the_demo(tmp_path, monkeypatch, board_port):
    app = BotIndexingFirst()
    seen_at_start = []

    class ChatQuittingAtOnce:
        async def run(self) -> None:
            seen_at_start.append(app.client.next_batch)

    monkeypatch.setattr(demo, "_prepare", prepared(tmp_path))
    monkeypatch.setattr(demo, "_chat", lambda state, directory: ChatQuittingAtOnce())
    monkeypatch.setattr(demo, "build_app", lambda config: app)

    assert demo.run_demo(tmp_path, chat=True) == 0
    assert seen_at_start == ["s1_first_sync"] and app.stopping.is_set()


def test_a_bot_failing_before_its_first_sync_opens_no_chat(tmp_path, monkeypatch, capsys, board_port):
    app = BotFailingAtStart()
    app.client.next_batch = ""
    monkeypatch.setattr(demo, "_prepare", prepared(tmp_path))
    monkeypatch.setattr(demo, "_chat", never)
    monkeypatch.setattr(demo, "build_app", lambda config: app)

    assert demo.run_demo(tmp_path, chat=True) == 2
    assert capsys.readouterr().err.startswith("Erreur : Impossible d'écouter sur 127.0.0.1:8470")


def test_everything_the_demo_writes_is_owner_only_under_a_usual_umask(tmp_path, monkeypatch, usual_umask, board_port):
    directory = tmp_path / "demo-data"
    monkeypatch.setattr(demo, "LocalSynapse", FakeSynapse)

    async def rooms(synapse, person, bot_user_id):
        return STATE["rooms"]

    async def members(synapse, demo_account, rooms):
        return {"alice": {"user_id": "@alice:localhost", "password": "alice-manufacture"}}

    monkeypatch.setattr(demo, "_create_rooms", rooms)
    monkeypatch.setattr(demo, "_add_members", members)
    monkeypatch.setattr(demo, "build_app", lambda config: StoppedAtOnce(writes=directory / "bot"))

    assert demo.run_demo(directory) == 0

    assert {"demo.json", "config.toml", "agenda.ics", "synapse/homeserver.yaml", "bot/written-while-running"} <= set(
        modes(directory)
    )
    assert_owner_only(directory)
    assert "password" in (directory / "config.toml").read_text()


def test_a_demo_folder_an_older_demo_left_readable_is_tightened(tmp_path, monkeypatch, usual_umask, board_port):
    directory = tmp_path / "demo-data"
    for folder in (directory / "synapse" / "media", directory / "chat" / "store"):
        folder.mkdir(parents=True, mode=0o755)
    directory.chmod(0o755)
    for name in ("config.toml", "demo.json", "synapse/signing.key", "chat/session.json", "chat/store/keys.db"):
        (directory / name).write_text("secret")
    assert modes(directory)["config.toml"] == 0o644 and modes(directory)["."] == 0o755
    monkeypatch.setattr(demo, "_prepare", prepared(directory))
    monkeypatch.setattr(demo, "build_app", lambda config: StoppedAtOnce())

    assert demo.run_demo(directory) == 0

    assert_owner_only(directory)


def test_the_chat_alone_keeps_its_session_and_store_owner_only(tmp_path, monkeypatch, usual_umask):
    directory = tmp_path / "demo-data"
    (directory / "chat").mkdir(parents=True, mode=0o755)
    directory.chmod(0o755)
    (directory / "demo.json").write_text(json.dumps(STATE))

    class ChatWritingItsStore:
        async def run(self) -> None:
            (directory / "chat" / "store").mkdir()
            (directory / "chat" / "store" / "@demo:localhost_DEVICE.db").write_text("keys")

    monkeypatch.setattr(demo, "_chat", lambda state, folder, user=None: ChatWritingItsStore())
    monkeypatch.setattr(demo, "_answers", lambda homeserver: True)

    assert demo.run_chat_only(directory) == 0

    assert "chat/store/@demo:localhost_DEVICE.db" in modes(directory)
    assert_owner_only(directory)


def test_the_chat_without_its_demo_running_says_so_instead_of_waiting_in_silence(tmp_path, monkeypatch, capsys):
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        homeserver = f"http://127.0.0.1:{closed.getsockname()[1]}"
        (tmp_path / "demo.json").write_text(json.dumps({**STATE, "homeserver": homeserver}))
        monkeypatch.setattr(demo, "_chat", never)
        assert demo.run_chat_only(tmp_path) == 2
    assert capsys.readouterr().err.startswith(
        f"Le serveur Matrix de la démo ne répond pas sur {homeserver} : lancez d'abord la démo"
    )


def test_the_package_license_is_an_spdx_string_so_setuptools_does_not_warn_at_setup():
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "MIT"
    assert "setuptools>=77" in pyproject["build-system"]["requires"]


MEMBERS_STATE = {
    **STATE,
    "rooms": [
        {"name": "Tribu Alimentation", "id": "!a:localhost", "kind": "tribe", "role": None},
        {"name": "Pairs — agents", "id": "!p:localhost", "kind": "peer_group", "role": "agents"},
        {"name": "Animation", "id": "!f:localhost", "kind": "facilitators", "role": None},
    ],
    "members": {
        "alice": {"user_id": "@alice:localhost", "password": "alice-manufacture"},
        "bob": {"user_id": "@bob:localhost", "password": "bob-manufacture"},
    },
}


def test_a_member_chats_as_themself_in_the_members_rooms_with_a_session_of_their_own(tmp_path):
    chat = demo._chat(MEMBERS_STATE, tmp_path, "alice")
    assert (chat.user_id, chat.password) == ("@alice:localhost", "alice-manufacture")
    assert chat.rooms == {"Tribu Alimentation": "!a:localhost", "Pairs — agents": "!p:localhost"}
    assert chat.state_dir == tmp_path / "chat-alice"
    as_demo = demo._chat(MEMBERS_STATE, tmp_path)
    assert as_demo.user_id == "@demo:localhost" and as_demo.state_dir == tmp_path / "chat"
    assert "Animation" in as_demo.rooms


def test_chatting_as_an_unknown_member_names_the_accounts_there_are(tmp_path, monkeypatch, capsys):
    (tmp_path / "demo.json").write_text(json.dumps(MEMBERS_STATE))
    monkeypatch.setattr(demo, "_chat", never)
    assert demo.run_chat_only(tmp_path, "zoe") == 2
    assert "Pas de compte « zoe » dans la démo : choisissez parmi demo, alice, bob." in capsys.readouterr().err


def test_the_instructions_give_the_members_logins_and_how_to_chat_as_them(tmp_path):
    (tmp_path / "config.toml").write_text(demo._config_text(MEMBERS_STATE, tmp_path))
    text = demo._instructions(MEMBERS_STATE, tmp_path, demo.load_config(tmp_path / "config.toml"))
    assert "@alice:localhost / mot de passe : alice-manufacture" in text
    assert "@bob:localhost / mot de passe : bob-manufacture" in text
    assert f"chat --dir {tmp_path} --user alice" in text and "make chat USER=alice" in text


def test_the_demo_says_it_runs_only_once_the_bot_answered_its_check(
    tmp_path, monkeypatch, capsys, board_port, checked_at_once
):
    printed_before_check: list[bool] = []

    async def check(state: dict, directory: Path) -> None:
        printed_before_check.append("La démo de manufacture-bot tourne" in capsys.readouterr().out)
        checked_at_once.append(state)

    app = BotIndexingFirst()
    monkeypatch.setattr(demo, "_self_check", check)
    monkeypatch.setattr(demo, "_prepare", prepared(tmp_path))

    monkeypatch.setattr(demo, "build_app", lambda config: app)
    # The bot stops once the banner is out (Ctrl+C, as a person would).
    original = demo._instructions

    def instructions(*args):
        app.stopping.set()
        return original(*args)

    monkeypatch.setattr(demo, "_instructions", instructions)
    assert demo.run_demo(tmp_path) == 0
    out = capsys.readouterr().out
    assert printed_before_check == [False] and "La démo de manufacture-bot tourne" in out


def test_a_bot_stopping_before_its_check_is_answered_prints_no_banner(tmp_path, monkeypatch, capsys, board_port):
    app = BotIndexingFirst()

    async def never_answered(state: dict, directory: Path) -> None:
        app.stopping.set()
        await asyncio.Event().wait()

    monkeypatch.setattr(demo, "_self_check", never_answered)
    monkeypatch.setattr(demo, "_prepare", prepared(tmp_path))
    monkeypatch.setattr(demo, "build_app", lambda config: app)
    assert demo.run_demo(tmp_path) == 0
    assert "La démo de manufacture-bot tourne" not in capsys.readouterr().out
