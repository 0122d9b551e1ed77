"""Login by access token against a real Synapse, as on a homeserver whose logins moved to OIDC (no
password anywhere): the bot adopts the token's device, answers in an encrypted room, signs that
device with its cross-signing identity, and keeps it across a restart."""

from __future__ import annotations

import json

import pytest
from nio import AsyncClient, AsyncClientConfig

from bot.cross_signing import State
from bot.matrix_bot import StartupError
from config import parse_config

pytestmark = pytest.mark.synapse


def token_config(synapse, data_dir, account, **matrix: str):
    """The bot's configuration with, in [matrix], the token (and maybe its device) and no password."""
    raw = {
        "matrix": {"homeserver": synapse.url, "user_id": account.user_id, **matrix},
        "bot": {"data_dir": str(data_dir), "log_level": "DEBUG"},
        "access": {"allowed_inviters": ["@human*:localhost"]},
    }
    return parse_config(raw, data_dir / "config.toml")


async def test_an_access_token_with_its_device_logs_the_bot_in_without_a_password(
    synapse, make_bot, bot_account, human, tmp_path
):
    # What an operator gets from the homeserver for the bot: a token and its device, no keys yet.
    config = token_config(
        synapse, tmp_path / "bot", bot_account, access_token=bot_account.access_token, device_id=bot_account.device_id
    )
    assert config.matrix.password == "" and config.matrix.uses_access_token
    async with make_bot(config) as app:
        assert app.client.device_id == bot_account.device_id
        room_id = await human.create_room("Pairs", encrypted=True, invite=(bot_account.user_id,))
        await human.wait_joined(room_id, bot_account.user_id)
        await human.send(room_id, "!aide")
        await human.wait_for_message(room_id, bot_account.user_id, contains="Ce que je peux faire")
        # The first publication of the identity needs no password on Synapse: the device is signed.
        assert (await app.cross_signing.status()).state is State.SIGNED
    stored = json.loads((tmp_path / "bot" / "session.json").read_text())
    assert (stored["device_id"], stored["access_token"]) == (bot_account.device_id, bot_account.access_token)

    async with make_bot(config) as app:
        assert app.client.device_id == bot_account.device_id
        await human.send(room_id, "!aide aide")
        await human.wait_for_message(room_id, bot_account.user_id, contains="aide [commande]", after=1)


async def test_a_token_whose_device_another_client_uses_is_refused(synapse, make_bot, bot_account, tmp_path):
    # Someone copies the token of a client that already set up encryption on that device (Element, say).
    store = tmp_path / "other-store"
    store.mkdir()
    other = AsyncClient(synapse.url, bot_account.user_id, store_path=str(store), config=AsyncClientConfig())
    other.restore_login(bot_account.user_id, bot_account.device_id, bot_account.access_token)
    await other.keys_upload()
    await other.close()

    config = token_config(synapse, tmp_path / "bot", bot_account, access_token=bot_account.access_token)
    app = make_bot(config).app
    try:
        with pytest.raises(StartupError, match="déjà ses propres clés de chiffrement"):
            await app.start()
    finally:
        await app.close()
    assert not (tmp_path / "bot" / "session.json").exists()
