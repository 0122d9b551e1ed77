"""A backup taken while the bot runs brings the same bot back: same device, same keys, same data."""

from __future__ import annotations

import shutil

import pytest

from bot.backup import back_up, restore
from bot.instance_lock import AlreadyRunning
from storage.database import DATABASE_FILE
from tests.integration.conftest import bot_config

pytestmark = pytest.mark.synapse

HELP = "Ce que je peux faire"


async def test_a_backup_taken_while_the_bot_runs_restores_the_same_device(
    synapse, make_bot, bot_account, human, tmp_path
):
    bot = bot_account.user_id
    config = bot_config(synapse, tmp_path / "bot", bot_account)
    backup = tmp_path / "backup"
    async with make_bot(config) as app:
        device = app.client.device_id
        devices_before = {d.id for d in (await app.client.devices()).devices}
        room_id = await human.create_room("Pairs", encrypted=True, invite=(bot,))
        await human.wait_joined(room_id, bot)
        await human.send(room_id, "!aide")
        await human.wait_for_message(room_id, bot, contains=HELP)

        contents = back_up(config.data_dir, backup, config.database)
        assert contents.database and contents.session and contents.store_files and contents.cross_signing
        with pytest.raises(AlreadyRunning):
            restore(backup, config.data_dir, config.database)

    assert {path.name for path in backup.iterdir()} >= {DATABASE_FILE, "session.json", "store", "cross_signing.json"}
    assert all(path.stat().st_mode & 0o077 == 0 for path in (backup, *backup.rglob("*")))

    shutil.rmtree(config.data_dir)
    restore(backup, config.data_dir, config.database)
    async with make_bot(config) as app:
        assert app.client.device_id == device
        # No new login: the account has the devices it had (the bot's and the one its registration made).
        assert {d.id for d in (await app.client.devices()).devices} == devices_before
        # Decrypting this needs the room key the human shared before the backup: the restored store has it.
        await human.send(room_id, "!aide")
        await human.wait_for_message(room_id, bot, contains=HELP, after=1)
