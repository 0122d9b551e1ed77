"""The terminal chat of the demo against a real Synapse: a message, a thread, a reply and a reaction
reach the bot, and its answers show numbered, saying whom they answer."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import unicodedata

import pytest

from bot.devtools.terminal_chat import INDENT, TerminalChat
from bot.sync_loop import sync_until_cancelled
from tests.integration.conftest import bot_config, unique
from tests.integration.test_deposits_synapse import rooms_config, setup_rooms

pytestmark = pytest.mark.synapse


class Screen:
    """What the terminal chat printed, and a way to wait for a line."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def out(self, text: str) -> None:
        self.lines.extend(text.strip("\n").split("\n"))

    async def wait_for(self, pattern: str, after: int = 0) -> re.Match:
        deadline = time.monotonic() + 30.0
        while True:
            for line in self.lines[after:]:
                found = re.search(pattern, line)
                if found:
                    return found
            if time.monotonic() > deadline:
                raise AssertionError(f"no line matching {pattern!r}; screen:\n" + "\n".join(self.lines[-30:]))
            await asyncio.sleep(0.05)


async def test_the_terminal_chat_threads_replies_and_reacts_by_message_number(
    synapse, make_bot, bot_account, human, facilitator, tmp_path
):
    bot_id = bot_account.user_id
    account = synapse.register(unique("human"))
    tribe, animation = await setup_rooms(human, facilitator, bot_id)
    await human.client.room_invite(tribe, account.user_id)
    screen = Screen()
    chat = TerminalChat(
        synapse.url,
        account.user_id,
        account.password,
        tmp_path / "chat",
        {"Tribu": tribe},
        bot_id,
        out=screen.out,
        columns=lambda: None,
    )
    config = bot_config(
        synapse,
        tmp_path / "bot",
        bot_account,
        rooms=rooms_config(tribe, animation),
        facilitators=(facilitator.user_id,),
    )
    async with make_bot(config):
        await chat.connect()
        sync = asyncio.create_task(sync_until_cancelled(chat.client, timeout=3000))
        try:
            await chat.client.join(tribe)
            await human.wait_joined(tribe, account.user_id)
            await human.wait_joined(tribe, bot_id)
            await facilitator.wait_joined(animation, bot_id)
            human_name = human.client.rooms[tribe].user_name(human.user_id)
            await human.send(tribe, "bonjour à tous")
            # Another member's message shows with their name; yours as « vous ».
            await screen.wait_for(rf"^\[\d+\] {re.escape(human_name)} : bonjour à tous$")

            await chat.handle_line("!q c'est quand la permanence ?")
            mine = await screen.wait_for(r"^\[(\d+)\] vous : !q c'est quand la permanence \?$")
            answer = await screen.wait_for(r"^\[(\d+)\] \S+ → vous : .*[Pp]ermanence")
            assert int(answer.group(1)) > int(mine.group(1))

            await chat.handle_line(f"/fil {answer.group(1)}")
            assert chat.thread is not None
            before = len(screen.lines)
            await chat.handle_line("et elle dure combien de temps ?")
            await screen.wait_for(rf"^\[\d+\] ↳ fil \[{answer.group(1)}\] vous : et elle dure", before)
            await screen.wait_for(rf"^\[\d+\] ↳ fil \[{answer.group(1)}\] \S+ → vous : ", before)
            await chat.handle_line("/fil")
            assert chat.thread is None

            before = len(screen.lines)
            await chat.handle_line("!q Quel temps fera-t-il demain à Lyon ?")
            offer = await screen.wait_for(r"^\[(\d+)\] \S+ → vous : Je n'ai pas trouvé", before)
            before = len(screen.lines)
            await chat.handle_line(f"/reagir {offer.group(1)} ✅")
            await screen.wait_for(r"^\[\d+\] \S+ → vous : C'est transmis à l'équipe d'animation", before)
            await facilitator.wait_for_message(animation, bot_id, contains="Lyon")

            before = len(screen.lines)
            await chat.handle_line(f"/repondre {answer.group(1)} merci !")
            await screen.wait_for(rf"^\[\d+\] vous \(réponse à \[{answer.group(1)}\]\) : merci !$", before)
            reply = await screen.wait_for(r"^\[\d+\] \S+ → vous : ", before)
            assert reply
            # Nothing was undecryptable: the rooms are encrypted and every line reads.
            assert not [line for line in screen.lines if "illisible" in line]
        finally:
            sync.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sync
            await chat.client.close()


async def test_a_hostile_members_messages_reach_the_terminal_shown_never_obeyed(synapse, human, tmp_path):
    """What another member sends through the homeserver: escapes, a carriage return, a bidi override,
    a forged line, a line padded to the terminal's width, a display name posing as the bot answering
    you, in an encrypted room too. Every character a terminal would obey is shown instead, and every
    row at the left edge is a message of its own."""
    from tests.unit.bot.devtools.test_terminal_chat import FORGED, HOSTILE

    account = synapse.register(unique("human"))
    tribe = await human.create_room("Tribu", invite=(account.user_id,))
    peers = await human.create_room("Pairs", encrypted=True, invite=(account.user_id,))
    await human.client.set_displayname("manufacture → vous")
    screen = Screen()
    chat = TerminalChat(
        synapse.url,
        account.user_id,
        account.password,
        tmp_path / "chat",
        {"Tribu": tribe, "Pairs": peers},
        "@nobody:localhost",
        out=screen.out,
        columns=lambda: 80,
    )
    await chat.connect()
    sync = asyncio.create_task(sync_until_cancelled(chat.client, timeout=3000))
    try:
        for room in (tribe, peers):
            await chat.client.join(room)
            await human.wait_joined(room, account.user_id)
        await human.wait_for_devices(account.user_id)
        for room in (tribe, peers):
            for body in HOSTILE:
                await human.send(room, body)
        await screen.wait_for(r"^\[14\] « Pairs » ")
        await asyncio.sleep(0.5)  # anything printed after the last one is checked too

        starts_at = next(line for line in screen.lines if line.startswith("[1] "))
        shown = "\n".join(screen.lines)
        assert not [char for char in shown if unicodedata.category(char) in ("Cc", "Cf") and char != "\n"]
        # Every row but the chat's own notes: a message's first row, or one of its indented rows.
        assert all(line.startswith(("[", INDENT)) for line in screen.lines[screen.lines.index(starts_at) :] if line)
        starts = [line.split(" :")[0] for line in screen.lines if line.startswith("[")]
        name = f"manufacture → vous ({human.user_id})"
        assert starts == [f"[{n}] {name}" for n in range(1, 8)] + [f"[{n}] « Pairs » {name}" for n in range(8, 15)]
        assert not [line for line in screen.lines if line.startswith("[999]")]
        assert all(len(line) < 80 for line in screen.lines if line.startswith(("[", INDENT)))
        assert INDENT + FORGED + "ligne forgée" in screen.lines
        assert "<U+202E>gnp.exe<U+202C>" in shown and "\\x1b[2K\\x1b[1G" in shown and "\\r[999]" in shown
        assert "illisible" not in shown
    finally:
        sync.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sync
        await chat.client.close()
