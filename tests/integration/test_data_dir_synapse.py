"""After a real start against Synapse, and a conversation in an encrypted room, nothing in the
bot's data folder is readable by anyone but its owner."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.integration.conftest import bot_config

pytestmark = pytest.mark.synapse


async def test_every_entry_of_the_data_folder_is_owner_only_after_a_real_start(
    synapse, make_bot, bot_account, human, tmp_path
):
    data_dir = tmp_path / "bot"
    # As an earlier release (or a usual umask) left it.
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    config = bot_config(synapse, data_dir, bot_account)
    async with make_bot(config):
        room_id = await human.create_room("Pairs agents", encrypted=True, invite=(bot_account.user_id,))
        await human.wait_joined(room_id, bot_account.user_id)
        await human.send(room_id, "!aide")
        await human.wait_for_message(room_id, bot_account.user_id, contains="Ce que je peux faire")
        entries = {".": data_dir.stat().st_mode}
        for folder, subfolders, files in os.walk(data_dir):
            for name in (*subfolders, *files):
                path = Path(folder) / name
                entries[str(path.relative_to(data_dir))] = path.lstat().st_mode
    assert {"manufacture.db", "session.json", "bot.lock", "store"} <= set(entries)
    assert any(name.startswith("store/") for name in entries), "nio's encryption store"
    loose = {
        name: oct(stat.S_IMODE(mode))
        for name, mode in entries.items()
        if stat.S_IMODE(mode) != (0o700 if stat.S_ISDIR(mode) else 0o600)
    }
    assert loose == {}
