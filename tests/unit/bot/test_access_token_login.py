"""Login by access token (homeservers moving to OIDC, Tchap among them, end password logins): the
token is checked with the homeserver, kept as the session with its device, and no password is needed
anywhere; a token that cannot be the bot's device stops the start with a French sentence."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
from nio import SyncError

from bot.app import BotApp, build_app
from bot.devtools.fake_homeserver import FakeHomeserver
from bot.matrix_bot import SessionRevoked, StartupError, sync_failure
from bot.session import SESSION_FILE, load_session
from tests.unit.stand_ins import BOT, build_config

TOKEN = "syt_operator_made"


@pytest.fixture(autouse=True)
def _no_credentials_in_the_environment(monkeypatch):
    for variable in ("MANUFACTURE_PASSWORD", "MANUFACTURE_ACCESS_TOKEN", "MANUFACTURE_DEVICE_ID"):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def start(tmp_path: Path) -> Callable[..., AbstractAsyncContextManager[tuple[BotApp, FakeHomeserver]]]:
    @asynccontextmanager
    async def started(homeserver: FakeHomeserver, **matrix: str) -> AsyncIterator[tuple[BotApp, FakeHomeserver]]:
        app = build_app(build_config(tmp_path, matrix=matrix, knowledge={"enabled": False}))
        try:
            with homeserver.serving(app.client):
                await app.matrix.log_in()
                yield app, homeserver
        finally:
            await app.close()

    return started


def stored(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "data" / SESSION_FILE).read_text())


async def test_a_token_is_adopted_with_its_device_and_kept_without_any_password(start, tmp_path, monkeypatch):
    monkeypatch.setenv("MANUFACTURE_ACCESS_TOKEN", TOKEN)
    async with start(FakeHomeserver(BOT, device_id="TOKENDEVICE")) as (app, homeserver):
        assert app.config.matrix.password == ""
        assert (app.client.device_id, app.client.access_token) == ("TOKENDEVICE", TOKEN)
        assert "LoginResponse" not in homeserver.asked and "WhoamiResponse" in homeserver.asked
        # The bot's encryption keys are uploaded for that device, as after a password login.
        assert "KeysUploadResponse" in homeserver.asked
    assert stored(tmp_path) == {
        "homeserver": "http://h",
        "user_id": BOT,
        "device_id": "TOKENDEVICE",
        "access_token": TOKEN,
    }
    # The next start restores it as it is: no question to the homeserver, the same device.
    async with start(FakeHomeserver(BOT, device_id="TOKENDEVICE")) as (app, homeserver):
        assert app.client.device_id == "TOKENDEVICE"
        assert "WhoamiResponse" not in homeserver.asked


async def test_a_new_token_replaces_a_session_the_password_made(start, tmp_path, monkeypatch):
    async with start(FakeHomeserver(BOT, device_id="PASSWORDDEVICE"), password="secret"):
        pass
    assert stored(tmp_path)["device_id"] == "PASSWORDDEVICE"
    homeserver = FakeHomeserver(BOT, device_id="PASSWORDDEVICE")
    homeserver.token_device = "NEWDEVICE"
    async with start(homeserver, access_token=TOKEN, device_id="NEWDEVICE") as (app, _):
        assert app.client.device_id == "NEWDEVICE"
    assert stored(tmp_path)["device_id"] == "NEWDEVICE" and stored(tmp_path)["access_token"] == TOKEN
    # Each device has its own encryption store: the two identities never mix.
    stores = sorted(p.name for p in (tmp_path / "data" / "store").iterdir() if p.suffix == ".db")
    assert stores == [f"{BOT}_NEWDEVICE.db", f"{BOT}_PASSWORDDEVICE.db"]


async def test_a_token_of_another_account_is_refused_and_nothing_is_kept(start, tmp_path):
    homeserver = FakeHomeserver(BOT)
    homeserver.token_owner = "@someone:h"
    with pytest.raises(StartupError, match="@someone:h, pas du compte du bot @bot:h"):
        async with start(homeserver, access_token=TOKEN):
            pass
    assert load_session(tmp_path / "data") is None


async def test_a_token_of_another_device_than_the_configured_one_is_refused(start, tmp_path):
    with pytest.raises(StartupError, match="appareil FAKE, pas à AUTRE"):
        async with start(FakeHomeserver(BOT), access_token=TOKEN, device_id="AUTRE"):
            pass
    assert load_session(tmp_path / "data") is None


async def test_a_refused_token_says_to_make_a_new_one(start, tmp_path):
    homeserver = FakeHomeserver(BOT)
    homeserver.refuse("whoami")
    with pytest.raises(StartupError, match=r"jeton d'accès donné est refusé.*MANUFACTURE_ACCESS_TOKEN"):
        async with start(homeserver, access_token=TOKEN):
            pass


async def test_a_token_whose_device_already_has_other_keys_is_refused(start, tmp_path):
    """A token copied from Element: its device has Element's keys; uploading the bot's over them
    would be refused and members would take the bot for that other device."""
    homeserver = FakeHomeserver(BOT, device_id="ELEMENT")
    homeserver.device_keys["ELEMENT"] = {
        "user_id": BOT,
        "device_id": "ELEMENT",
        "keys": {"ed25519:ELEMENT": "element-own-key", "curve25519:ELEMENT": "element-curve"},
    }
    with pytest.raises(StartupError, match="appareil ELEMENT de ce jeton a déjà ses propres clés"):
        async with start(homeserver, access_token=TOKEN):
            pass
    assert load_session(tmp_path / "data") is None
    assert "KeysUploadResponse" not in homeserver.asked


def test_a_revoked_token_session_asks_for_a_new_token_not_a_password(tmp_path):
    (tmp_path / SESSION_FILE).write_text("{}")
    answer = SyncError("Invalid access token", "M_UNKNOWN_TOKEN")
    error = sync_failure(answer, tmp_path, with_token=True)
    assert isinstance(error, SessionRevoked) and "nouveau jeton d'accès" in str(error)
    assert "mot de passe" not in str(error) and not (tmp_path / SESSION_FILE).exists()
    assert "mot de passe" in str(sync_failure(answer, tmp_path))
