"""The bot's device signed by its owner, as Synapse stores it and as Element's own crypto sees it.

Signatures are checked with signedjson (Synapse's own library), not with the bot's code; the
person in the last two tests is matrix-js-sdk with its Rust crypto (tests/integration/js).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from nio import AsyncClient
from signedjson.key import decode_verify_key_bytes
from signedjson.sign import verify_signed_json
from unpaddedbase64 import decode_base64

from bot.cross_signing import KEYS_FILE
from bot.session import forget_session, load_session
from storage.undecryptable import UndecryptableEvent
from tests.integration.conftest import bot_config, unique
from tests.integration.js.human import JsHuman

pytestmark = pytest.mark.synapse

ROOT = Path(__file__).resolve().parents[2]
ELEMENT_NO_SHIELD = 0  # EventShieldColour.NONE


def keys_query(synapse, token: str, user_id: str) -> dict:
    """What any member's client learns of user_id's keys."""
    request = urllib.request.Request(
        f"{synapse.url}/_matrix/client/v3/keys/query",
        method="POST",
        data=json.dumps({"device_keys": {user_id: []}}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def only_key(key_object: dict) -> str:
    (public,) = key_object["keys"].values()
    return public


def check_signed(obj: dict, user_id: str, public: str) -> None:
    verify_signed_json(obj, user_id, decode_verify_key_bytes(f"ed25519:{public}", decode_base64(public)))


def published_identity(synapse, observer_token: str, user_id: str, device_id: str) -> str:
    """The master key that certifies user_id's device, each signature verified; fails if there is none."""
    answer = keys_query(synapse, observer_token, user_id)
    master = only_key(answer["master_keys"][user_id])
    self_signing = answer["self_signing_keys"][user_id]
    check_signed(self_signing, user_id, master)
    check_signed(answer["device_keys"][user_id][device_id], user_id, only_key(self_signing))
    return master


async def revoke_session(synapse, data_dir: Path) -> None:
    """The bot's device logged out while it was stopped; the bot forgets such a session (test_restarts)."""
    session = load_session(data_dir)
    assert session is not None, f"no session in {data_dir}"
    other = AsyncClient(synapse.url, session.user_id)
    other.restore_login(session.user_id, session.device_id, session.access_token)
    await other.logout()
    await other.close()
    forget_session(data_dir)


async def test_the_bots_device_is_signed_and_a_new_device_keeps_the_identity(
    synapse, make_bot, bot_account, human, tmp_path
):
    config = bot_config(synapse, tmp_path / "bot", bot_account)
    async with make_bot(config) as app:
        first_device = app.client.device_id
        master = published_identity(synapse, human.account.access_token, bot_account.user_id, first_device)
    assert ((tmp_path / "bot" / KEYS_FILE).stat().st_mode & 0o777) == 0o600

    await revoke_session(synapse, tmp_path / "bot")
    async with make_bot(config) as app:
        assert app.client.device_id != first_device
        assert (
            published_identity(synapse, human.account.access_token, bot_account.user_id, app.client.device_id) == master
        )


async def run_cli(config_path: Path, *args: str, answer: str = "", password: str = "") -> tuple[int, str]:
    env = {**os.environ, "MANUFACTURE_PASSWORD": password}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "crypto",
        *args,
        "--config",
        str(config_path),
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(answer.encode()), 60)
    assert process.returncode is not None  # communicate() waited for the end
    return process.returncode, output.decode()


def write_config(synapse, data_dir: Path, bot_account) -> Path:
    path = data_dir.parent / "config.toml"
    path.write_text(
        f'[matrix]\nhomeserver = "{synapse.url}"\nuser_id = "{bot_account.user_id}"\n\n[bot]\ndata_dir = "{data_dir}"\n'
    )
    return path


async def test_crypto_status_and_reset_on_the_command_line(synapse, make_bot, bot_account, human, tmp_path):
    data_dir = tmp_path / "bot"
    config_path = write_config(synapse, data_dir, bot_account)
    code, output = await run_cli(config_path, "status")
    assert code == 2 and "lancez-le une fois" in output

    async with make_bot(bot_config(synapse, data_dir, bot_account)) as app:
        device = app.client.device_id
    master = published_identity(synapse, human.account.access_token, bot_account.user_id, device)
    code, output = await run_cli(config_path, "status")
    assert code == 0, output
    assert master in output and "appareil signé par l'identité : oui" in output and "Tout va bien" in output

    code, output = await run_cli(config_path, "reset", answer="non\n", password=bot_account.password)
    assert code == 1 and "verront que son identité a changé" in output and "Rien n'a changé" in output
    assert published_identity(synapse, human.account.access_token, bot_account.user_id, device) == master

    code, output = await run_cli(config_path, "reset", answer="oui\n")
    assert code == 2 and "MANUFACTURE_PASSWORD" in output
    assert published_identity(synapse, human.account.access_token, bot_account.user_id, device) == master

    code, output = await run_cli(config_path, "reset", answer="oui\n", password=bot_account.password)
    assert code == 0, output
    new_master = published_identity(synapse, human.account.access_token, bot_account.user_id, device)
    assert new_master != master and new_master in output

    # Keys lost: the status says what to do, and the bot starts unsigned rather than replace the identity.
    (data_dir / KEYS_FILE).unlink()
    await revoke_session(synapse, data_dir)
    async with make_bot(bot_config(synapse, data_dir, bot_account)):
        pass
    code, output = await run_cli(config_path, "status")
    assert code == 1 and "crypto reset" in output and "sauvegarde" in output
    assert (
        only_key(
            keys_query(synapse, human.account.access_token, bot_account.user_id)["master_keys"][bot_account.user_id]
        )
        == new_master
    )


# --- Element's own crypto ---------------------------------------------------------------------------


@pytest.fixture
async def js_human(synapse, tmp_path):
    """A person on Element's crypto, with their own cross-signing identity, excluding insecure devices."""
    account = synapse.register(unique("human"))
    person = await JsHuman(synapse.url, account, tmp_path / "js-human.log").start()
    await person.call("crossSign")
    await person.call("isolation", signedOnly=True)
    yield person
    await person.stop()


def device_signed(bot_device: str):
    return lambda status: status["devices"].get(bot_device, {}).get("signedByOwner") is True


async def answers(person: JsHuman, room_id: str, bot_user: str, count: int) -> list[dict]:
    found = await person.poll(
        "messages",
        lambda a: (
            len(a["events"]) >= count and all(e["body"] is not None or e["decryptionFailure"] for e in a["events"])
        ),
        f"{count} answer(s) from the bot",
        roomId=room_id,
        sender=bot_user,
    )
    return found["events"]


async def test_element_excluding_insecure_devices_trusts_the_bot_and_reads_its_answers(
    synapse, make_bot, bot_account, js_human, tmp_path
):
    config = bot_config(synapse, tmp_path / "bot", bot_account)
    bot = bot_account.user_id
    async with make_bot(config) as app:
        room_id = (await js_human.call("createRoom", name="Pairs", invite=[bot]))["roomId"]
        await js_human.call("waitJoined", roomId=room_id, userId=bot)
        status = await js_human.poll(
            "deviceStatus", device_signed(app.client.device_id), "the bot's device signed", userId=bot
        )
        assert status["devices"][app.client.device_id]["signedByOwner"] is True
        # The bot answers, so Element gave its device the room key; the answer carries no shield.
        await js_human.call("send", roomId=room_id, body="!aide")
        (answer,) = await answers(js_human, room_id, bot, 1)
        assert answer["decryptionFailure"] is None and "Ce que je peux faire" in answer["body"]
        assert answer["shieldColour"] == ELEMENT_NO_SHIELD, answer

    # A new device after a revoked session: same identity, so Element asks nothing and trusts it at once.
    await revoke_session(synapse, tmp_path / "bot")
    async with make_bot(config) as app:
        status = await js_human.poll(
            "deviceStatus", device_signed(app.client.device_id), "the new device signed", userId=bot
        )
        assert status["needsUserApproval"] is False
        await js_human.call("send", roomId=room_id, body="!aide salon")
        events = await answers(js_human, room_id, bot, 2)
        assert "salon" in events[1]["body"] and events[1]["decryptionFailure"] is None
        assert [e["shieldColour"] for e in events] == [ELEMENT_NO_SHIELD, ELEMENT_NO_SHIELD], events


async def test_without_signing_element_excluding_insecure_devices_refuses_the_bot(
    synapse, make_bot, bot_account, js_human, tmp_path
):
    """The bot as matrix-nio alone leaves it: the same checks see Element withhold its keys and refuse it."""
    running = make_bot(bot_config(synapse, tmp_path / "bot", bot_account))

    async def unsigned():
        return None

    running.app.cross_signing.ensure = unsigned
    bot = bot_account.user_id
    async with running as app:
        app.late_keys.notice_after = timedelta(0)
        room_id = (await js_human.call("createRoom", name="Pairs", invite=[bot]))["roomId"]
        await js_human.call("waitJoined", roomId=room_id, userId=bot)
        status = await js_human.poll(
            "deviceStatus", lambda s: app.client.device_id in s["devices"], "the bot's device", userId=bot
        )
        assert status["devices"][app.client.device_id]["signedByOwner"] is False
        # The bot's introduction comes first; Element cannot tell it from the rest, since it cannot read it.
        (introduction,) = await answers(js_human, room_id, bot, 1)
        assert introduction["decryptionFailure"] == "UNSIGNED_SENDER_DEVICE", introduction
        # Element withholds the key of this message from the bot's device: the bot cannot read it...
        sent_id = (await js_human.call("send", roomId=room_id, body="!aide"))["eventId"]

        def kept() -> bool:
            with app.db.session() as session:
                return session.get(UndecryptableEvent, sent_id) is not None

        deadline = asyncio.get_running_loop().time() + 20
        while not kept():
            assert asyncio.get_running_loop().time() < deadline, "the bot never saw the message"
            await asyncio.sleep(0.2)
        # ...and what it says (here, that it could not read the message) Element refuses to show.
        await app.late_keys.sweep()
        (_, notice) = await answers(js_human, room_id, bot, 2)
        assert notice["decryptionFailure"] == "UNSIGNED_SENDER_DEVICE", notice
