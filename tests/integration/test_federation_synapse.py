"""Members on another homeserver, as they live it: two Synapses federating on loopback, the bot and one
member on the first (home), another member on the second (remote). In an encrypted tribe room the remote
member asks and reads the answer (the bot fetched their device keys over federation: nothing undecryptable),
then starts a deposit, which the bot carries on in a direct chat it opens across servers, and the local
member sitting in the same room reads none of it."""

from __future__ import annotations

import pytest
from nio import MegolmEvent

from bot.devtools.local_synapse import LocalSynapse
from bot.devtools.person import ScriptedPerson
from tests.integration.conftest import bot_config, person, unique
from tests.integration.silence import said_before_sentinel

pytestmark = pytest.mark.synapse

# Seconds: generous, every step crosses two homeservers on a loaded machine.
ACROSS = 60.0
QUESTION = "comment garder nos bénévoles motivés dans la durée ?"
TITLE = "Verger partagé des Hauts-de-Diois"


@pytest.fixture
def home(federating_pair) -> LocalSynapse:
    return federating_pair[0]


@pytest.fixture
def remote_server(federating_pair) -> LocalSynapse:
    return federating_pair[1]


@pytest.fixture
def home_bot_account(home):
    return home.register(unique("bot"))


@pytest.fixture
async def local(home, tmp_path):
    """A member on the bot's homeserver: makes the tribe room and sits in it, the third seat."""
    async with person(home, tmp_path / "local-store", "human") as user:
        yield user


@pytest.fixture
async def remote(remote_server, tmp_path):
    """A member whose account lives on the other homeserver."""
    async with person(remote_server, tmp_path / "remote-store", "human") as user:
        yield user


def undecryptable(user: ScriptedPerson, room_id: str) -> list[str]:
    return [e.event_id for e in user.messages(room_id) if isinstance(e, MegolmEvent)]


def read_by(user: ScriptedPerson, room_id: str) -> str:
    return "\n".join(getattr(e, "body", "") for e in user.messages(room_id))


async def tribe_with_remote_member(local: ScriptedPerson, remote: ScriptedPerson, bot_id: str) -> str:
    """An encrypted tribe room on the home server, made by the local member, the bot and the remote
    member invited."""
    return await local.create_room("Tribu Alimentation", encrypted=True, invite=(bot_id, remote.user_id))


async def seated(tribe: str, local: ScriptedPerson, remote: ScriptedPerson, bot_id: str) -> None:
    """The three seats taken and every device known on both sides, as a member's client has it before
    they type."""
    await local.wait_joined(tribe, bot_id, ACROSS)
    await local.wait_joined(tribe, remote.user_id, ACROSS)
    await remote.wait_joined(tribe, bot_id, ACROSS)
    await remote.wait_joined(tribe, local.user_id, ACROSS)


def configured(home: LocalSynapse, tmp_path, bot_account, tribe: str):
    return bot_config(
        home,
        tmp_path / "bot",
        bot_account,
        rooms=[{"id": tribe, "kind": "tribe", "name": "Alimentation"}],
        extra={"access": {"allowed_inviters": [f"@human*:{home.server_name}"]}},
    )


async def test_a_remote_member_asks_in_an_encrypted_tribe_room_and_reads_the_answer(
    home, remote_server, make_bot, home_bot_account, local, remote, tmp_path
):
    bot_id = home_bot_account.user_id
    assert remote.user_id.endswith(f":{remote_server.server_name}") and bot_id.endswith(f":{home.server_name}")
    tribe = await tribe_with_remote_member(local, remote, bot_id)
    async with make_bot(configured(home, tmp_path, home_bot_account, tribe)):
        await seated(tribe, local, remote, bot_id)
        await remote.send(tribe, f"!question {QUESTION}")
        answer = await remote.wait_for_message(tribe, bot_id, contains="Source :", timeout=ACROSS)
        assert answer.decrypted and "›" in answer.body
        # The local member reads the same answer, and the remote member's question.
        seen = await local.wait_for_message(tribe, bot_id, contains="Source :", timeout=ACROSS)
        assert seen.body == answer.body
        asked = await local.wait_for_message(tribe, remote.user_id, contains=QUESTION, timeout=ACROSS)
        assert asked.decrypted
        assert undecryptable(remote, tribe) == [] and undecryptable(local, tribe) == []


async def test_a_remote_member_fills_a_deposit_in_a_direct_chat_the_local_member_never_reads(
    home, make_bot, home_bot_account, local, remote, tmp_path
):
    bot_id = home_bot_account.user_id
    tribe = await tribe_with_remote_member(local, remote, bot_id)
    async with make_bot(configured(home, tmp_path, home_bot_account, tribe)):
        await seated(tribe, local, remote, bot_id)
        await remote.send(tribe, "!deposer")
        told = await remote.wait_for_message(tribe, bot_id, contains="message privé", timeout=ACROSS)
        # The bot opens the direct chat on its homeserver; the invitation crosses to the remote one.
        direct = await remote.wait_direct_room(bot_id, ACROSS)
        assert remote.client.rooms[direct].encrypted
        first = await remote.wait_for_message(direct, bot_id, contains="Question 1 —", timeout=ACROSS)
        await remote.send(direct, TITLE)
        await remote.wait_for_message(direct, bot_id, contains="Question 2 — Tribu", after=1, timeout=ACROSS)
        await remote.send(direct, "Alimentation")
        await remote.wait_for_message(direct, bot_id, contains="Question 3 — Porteur", after=2, timeout=ACROSS)
        assert undecryptable(remote, direct) == []

        # The third seat: in the tribe room the local member read the bot's pointer to the private
        # chat and nothing else, and no word of the exchange reached them anywhere.
        said = await said_before_sentinel(local, tribe, bot_id)
        assert [e.body for e in said] == [told.body]
        assert direct not in local.client.rooms and local.invites == []
        everything = "\n".join(getattr(e, "body", "") for e in local.received)
        assert TITLE not in everything and first.body not in everything
