"""The demo's folder with a real local Synapse in it: owner-only under a usual umask, Synapse's own
files (database, journal, media store, signing key, log) included."""

from __future__ import annotations

import asyncio
import json
import os

import pytest

from bot.devtools import demo
from bot.devtools.local_synapse import free_port
from tests.unit.storage.test_files import assert_owner_only, modes

pytestmark = pytest.mark.synapse


class NotSyncedYet:
    next_batch = ""


class StoppedAtOnce:
    def __init__(self) -> None:
        self.stopping = asyncio.Event()
        self.client = NotSyncedYet()

    async def run(self) -> None:
        pass


@pytest.fixture
def usual_umask():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_new_demo_folder_synapse_included_is_owner_only_under_a_usual_umask(tmp_path, monkeypatch, usual_umask):
    directory = tmp_path / "demo-data"
    # Ports of its own: 8008 and 8470 may be a demo someone is trying on this machine.
    monkeypatch.setattr(demo, "PREFERRED_PORT", free_port())
    monkeypatch.setattr(demo, "BOARD_PORT", free_port())
    monkeypatch.setattr(demo, "build_app", lambda config: StoppedAtOnce())

    assert demo.run_demo(directory) == 0

    written = set(modes(directory))
    assert {
        "demo.json",
        "config.toml",
        "agenda.ics",
        "synapse/homeserver.yaml",
        "synapse/registration_secret",
        "synapse/signing.key",
        "synapse/homeserver.db",
        "synapse/synapse.log",
        "synapse/media",
    } <= written
    assert_owner_only(directory)
    # The members were made on the real Synapse, and joined the members' rooms.
    state = json.loads((directory / "demo.json").read_text())
    assert set(state["members"]) == {"alice", "bob"} and state["check"]["user_id"] == "@verification:localhost"


def test_the_test_suites_own_synapse_is_owner_only_too(synapse):
    # Started by the session fixture under the shell's umask (0o022 usually), without the demo's.
    assert {"homeserver.yaml", "registration_secret", "signing.key", "homeserver.db"} <= set(modes(synapse.directory))
    assert_owner_only(synapse.directory)
