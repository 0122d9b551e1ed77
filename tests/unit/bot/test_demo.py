"""The demo's own words: no routine nio warning under the instructions, and a stop that says so."""
from __future__ import annotations

import asyncio
import logging

import bot.demo as demo


class FakeSynapse:
    stopped = False

    def stop(self) -> None:
        self.stopped = True


class StoppedAtOnce:
    """The bot as Ctrl+C leaves it: its run returns (app.run turns SIGINT into a clean stop)."""

    stopping = asyncio.Event()

    async def run(self) -> None:
        logging.getLogger("nio.crypto.log").warning("Missing session for device ABCDEF")


def test_the_demo_hides_nios_routine_warning_and_says_it_stopped(tmp_path, monkeypatch, capsys, caplog):
    synapse = FakeSynapse()
    state = {"homeserver": "http://127.0.0.1:8008", "demo": {"user_id": "@demo:localhost", "password": "x"},
             "rooms": [{"name": "Tribu Alimentation", "id": "!a:localhost"}]}
    monkeypatch.setattr(demo, "_prepare", lambda directory: (synapse, state))
    monkeypatch.setattr(demo, "load_config", lambda path: None)
    monkeypatch.setattr(demo, "build_app", lambda config: StoppedAtOnce())
    monkeypatch.setattr(logging.getLogger("nio.crypto"), "level", logging.NOTSET)

    assert demo.run_demo(tmp_path) == 0

    assert not [r for r in caplog.records if "Missing session" in r.getMessage()]
    out = capsys.readouterr().out
    assert synapse.stopped and "Démo arrêtée" in out and str(tmp_path) in out


def test_the_package_license_is_an_spdx_string_so_setuptools_does_not_warn_at_setup():
    import tomllib
    from pathlib import Path
    pyproject = tomllib.loads((Path(__file__).resolve().parents[3] / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "MIT"
    assert "setuptools>=77" in pyproject["build-system"]["requires"]
