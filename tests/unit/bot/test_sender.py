"""The one way out: the confidentiality guard on every path, and direct chats that wait for their member.

The homeserver is stood in for by a recorder of room_send calls (the Synapse tests do the real
thing); the directory, the direct chats and the database are the bot's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from nio import AsyncClient, LocalProtocolError, RoomSendError, RoomSendResponse, UploadError
from nio.crypto import decrypt_attachment
from sqlmodel import select

from bot.devtools.fake_homeserver import FakeHomeserver
from bot.direct_chats import DirectChats
from bot.dispatcher import Dispatcher
from bot.rendering import Renderer, build_template_environment
from bot.room_directory import RoomDirectory
from bot.sender import Sender
from handlers.context import Message, RoomInfo
from handlers.metrics import Metrics
from handlers.registry import CommandRegistry
from handlers.replies import Attachment, Beside, Post, Reply
from storage.direct_chats import DirectChat, PendingMessage
from storage.messages import SentMessage
from storage.rooms import RoomRecord

BOT, ANA = "@bot:h", "@ana:h"
TRIBE, PEERS, FAC, DM = "!tribe:h", "!peers:h", "!fac:h", "!dm-ana:h"


@dataclass
class Room:
    users: dict = field(default_factory=dict)
    invited_users: dict = field(default_factory=dict)
    encrypted: bool = False
    display_name: str = ""


class Homeserver:
    """Records what the sender asks nio to send."""

    def __init__(self) -> None:
        self.user_id = BOT
        self.rooms = {room: Room(users={BOT: None, ANA: None}) for room in (TRIBE, PEERS, FAC)}
        self.sent: list[tuple[str, dict, str]] = []
        self.olm = None

    async def room_send(self, room_id, message_type, content, tx_id=None, ignore_unverified_devices=False):
        self.sent.append((room_id, content, tx_id))
        return RoomSendResponse(event_id=f"$sent{len(self.sent)}", room_id=room_id)

    def bodies(self, room_id: str) -> list[str]:
        return [content["body"] for room, content, _ in self.sent if room == room_id]


@pytest.fixture
def bot(make_config, db, units):
    config = make_config()
    with db.session() as session:
        session.add(RoomRecord(room_id=TRIBE, kind="tribe", name="Alimentation"))
        session.add(RoomRecord(room_id=PEERS, kind="peer_group", name="Pairs élus"))
        session.add(RoomRecord(room_id=FAC, kind="facilitators", name="Animation"))
    server = Homeserver()
    directory = RoomDirectory(config, units, server)
    direct_chats = DirectChats(server, units, directory)
    sender = Sender(server, Renderer(build_template_environment()), units, directory, direct_chats)
    return sender, server, db, directory, direct_chats, config


def message(room: RoomInfo, body: str, event_id: str = "$in") -> Message:
    return Message(room=room, event_id=event_id, sender=ANA, body=body, addressed=True)


async def test_the_guard_holds_on_replies_reactions_and_posts(bot, make_services):
    sender, server, db, directory, _, config = bot
    peers = await directory.info(PEERS)
    assert peers.confidential
    # A reply to a message of the peer group: only what its author agreed to, or what says nothing, goes out.
    await sender.send_all(
        [
            Reply(text="ici"),
            Reply(text="secret des pairs", to=Post(FAC)),
            Reply(text="avec accord", to=Post(FAC), author_consented=True),
            Reply(text="DEP-2027-0001", to=Post(FAC), contains_room_content=False),
        ],
        message(peers, "!x"),
    )
    assert server.bodies(PEERS) == ["ici"]
    assert server.bodies(FAC) == ["avec accord", "DEP-2027-0001"]
    # A post (reminders, notices, broadcasts) carrying a peer group's words is held back the same way…
    assert await sender.post(Reply(text="secret posté", to=Post(FAC), origin_room_id=PEERS)) is None
    # …and so is what a reaction in the peer group leads to (the dispatcher names the reaction's room).
    services = make_services(config, post=sender.post)
    registry = CommandRegistry()

    async def on_vote(reaction, _services):
        return Reply(text="secret par réaction", to=Post(FAC))

    registry.add_reaction_handler("vote:", on_vote)
    with db.session() as session:
        session.add(SentMessage(event_id="$tagged", room_id=PEERS, tag="vote:1"))
    dispatcher = Dispatcher(services, registry, sender.send_all, is_facilitator=lambda user: False)
    await dispatcher.on_reaction(peers, "$reaction", ANA, "👍", "$tagged")
    assert "secret posté" not in server.bodies(FAC) and "secret par réaction" not in server.bodies(FAC)
    # From a tribe room, the same replies go out: a tribe is no confidential room.
    await sender.send_all(
        [Reply(text="question publique", to=Post(FAC))], message(await directory.info(TRIBE), "!x", "$t")
    )
    assert "question publique" in server.bodies(FAC)


async def test_replies_carry_their_relation_and_no_reply_fallback(bot):
    sender, server, _db, directory, _, _ = bot
    tribe = await directory.info(TRIBE)
    in_thread = Message(room=tribe, event_id="$q", sender=ANA, body="!x", thread_root="$root", addressed=True)
    await sender.send_all([Reply(text="réponse"), Reply(text="à côté", to=Beside())], in_thread)
    await sender.send_all([Reply(text="hors fil")], message(tribe, "!x", "$plain"))
    await sender.post(Reply(text="rappel", to=Post(TRIBE, thread_root="$root")))
    assert [content.get("m.relates_to") for _, content, _ in server.sent] == [
        {"rel_type": "m.thread", "event_id": "$root", "is_falling_back": False, "m.in_reply_to": {"event_id": "$q"}},
        {"rel_type": "m.thread", "event_id": "$root", "is_falling_back": True, "m.in_reply_to": {"event_id": "$root"}},
        {"m.in_reply_to": {"event_id": "$plain"}},
        {"rel_type": "m.thread", "event_id": "$root", "is_falling_back": True, "m.in_reply_to": {"event_id": "$root"}},
    ]
    # The spec has dropped reply fallbacks (v1.13): neither body quotes the message replied to.
    assert [content["body"] for _, content, _ in server.sent] == ["réponse", "à côté", "hors fil", "rappel"]
    assert not any("mx-reply" in content["formatted_body"] for _, content, _ in server.sent)


async def test_every_sent_message_is_kept_so_replies_to_it_are_recognised(bot):
    sender, _server, db, directory, _, _ = bot
    await sender.send_all(
        [Reply(text="sans étiquette"), Reply(text="étiquetée", tag="answer:3")],
        message(await directory.info(TRIBE), "!x"),
    )
    with db.session() as session:
        kept = {row.event_id: row.tag for row in session.exec(select(SentMessage))}
    assert kept == {"$sent1": "", "$sent2": "answer:3"}


async def test_a_direct_chat_waits_for_its_member_then_gets_everything_in_order(bot):
    sender, server, db, directory, direct_chats, _ = bot
    await direct_chats.adopt(DM, ANA)
    server.rooms[DM] = Room(users={BOT: None, ANA: None}, invited_users={ANA: None})  # invited, not joined
    trigger = message(await directory.info(TRIBE), "!deposer")
    await sender.send_all(
        [
            Reply(text="Je vous écris en privé."),
            Reply(text="Question 1", to=Post(DM)),
            Reply(text="Récap", to=Post(DM), tag="recap:1"),
        ],
        trigger,
    )
    assert server.bodies(TRIBE) == ["Je vous écris en privé."] and server.bodies(DM) == []
    with db.session() as session:
        assert len(session.exec(select(PendingMessage)).all()) == 2
    assert await sender.flush_pending(DM) == 0  # still only invited

    # Not joined after the wait: told once, in the room where they asked, without the content.
    later = datetime.now(UTC) + timedelta(minutes=11)
    await sender.service_pending(timedelta(minutes=10), later)
    await sender.service_pending(timedelta(minutes=10), later)
    [notice] = server.bodies(TRIBE)[1:]
    assert "pas encore rejoint" in notice and "Question 1" not in notice
    assert server.sent[-1][1]["m.mentions"] == {"user_ids": [ANA]}

    server.rooms[DM].invited_users.clear()  # the member joins
    assert await sender.flush_pending(DM) == 2
    assert server.bodies(DM) == ["Question 1", "Récap"]
    with db.session() as session:
        assert session.exec(select(PendingMessage)).all() == []
        assert session.get(SentMessage, "$sent4").tag == "recap:1"
    assert await sender.flush_pending(DM) == 0  # nothing is sent twice


async def test_a_declined_invitation_is_said_and_the_next_chat_gets_what_waited(bot):
    sender, server, db, directory, direct_chats, _ = bot
    await direct_chats.adopt(DM, ANA)
    server.rooms[DM] = Room(users={BOT: None, ANA: None}, invited_users={ANA: None})
    await sender.send_all([Reply(text="Votre liste", to=Post(DM))], message(await directory.info(TRIBE), "!mes-depots"))
    del server.rooms[DM].users[ANA]
    await sender.member_declined(DM)
    [notice] = server.bodies(TRIBE)
    assert "refusée" in notice and "Votre liste" not in notice
    with db.session() as session:
        assert session.get(DirectChat, DM).state == "closed"
    # A chat the member opens later (or the bot's next invitation) receives what waited.
    await direct_chats.adopt("!dm2:h", ANA)
    server.rooms["!dm2:h"] = Room(users={BOT: None, ANA: None})
    assert await sender.flush_pending("!dm2:h") == 1 and server.bodies("!dm2:h") == ["Votre liste"]


class FailingHomeserver(Homeserver):
    """Refuses what goes to the facilitators' room, cannot encrypt for the peers' room, refuses uploads."""

    async def room_send(self, room_id, message_type, content, tx_id=None, ignore_unverified_devices=False):
        if room_id == PEERS:
            raise LocalProtocolError("no session with the room's devices")
        if room_id == FAC:
            return RoomSendError("forbidden", "M_FORBIDDEN")
        return await super().room_send(room_id, message_type, content, tx_id, ignore_unverified_devices)

    async def upload(self, *args, **kwargs):
        return UploadError("too large", "M_TOO_LARGE"), None


def sample(metrics: Metrics, name: str, **labels) -> float:
    value = metrics.registry.get_sample_value(name, labels or None)
    assert value is not None, f"no sample {name} {labels}"
    return value


async def test_sends_and_each_kind_of_send_failure_are_counted(make_config, db, units):
    config = make_config()
    with db.session() as session:
        session.add(RoomRecord(room_id=TRIBE, kind="tribe", name="Alimentation"))
        session.add(RoomRecord(room_id=PEERS, kind="peer_group", name="Pairs élus"))
        session.add(RoomRecord(room_id=FAC, kind="facilitators", name="Animation"))
    server, metrics = FailingHomeserver(), Metrics()
    directory = RoomDirectory(config, units, server)
    sender = Sender(
        server, Renderer(build_template_environment()), units, directory, DirectChats(server, units, directory), metrics
    )
    assert await sender.post(Reply(text="bonjour", to=Post(TRIBE), contains_room_content=False)) == "$sent1"
    assert await sender.post(Reply(text="refusé", to=Post(FAC), contains_room_content=False)) is None
    assert await sender.post(Reply(text="chiffrement", to=Post(PEERS), contains_room_content=False)) is None
    assert (
        await sender.post(
            Reply(
                text="export",
                to=Post(TRIBE),
                contains_room_content=False,
                attachment=Attachment("export.csv", b"a;b\n"),
            )
        )
        is None
    )
    assert sample(metrics, "manufacture_sends_total") == 1
    assert sample(metrics, "manufacture_send_failures_total", reason="refused") == 1
    assert sample(metrics, "manufacture_send_failures_total", reason="local_error") == 1
    assert sample(metrics, "manufacture_send_failures_total", reason="upload") == 1


async def test_a_file_for_an_encrypted_room_is_uploaded_encrypted_and_its_keys_go_in_the_event(bot, tmp_path):
    """As `!mes-donnees` sends its JSON file to a direct chat: the homeserver keeps only ciphertext, and
    the m.file event carries what decrypts it (the `file` field), never a plain `url`."""
    sender, server, *_ = bot
    server.rooms[DM] = Room(users={BOT: None, ANA: None}, encrypted=True)
    homeserver, client = FakeHomeserver(BOT), AsyncClient("http://h", BOT, store_path=str(tmp_path))
    client.access_token = "token"  # as after a login: nio uploads only then
    server.upload = client.upload
    data = b'{"membre": "@ana:h"}\n'
    with homeserver.serving(client):
        await sender.post(
            Reply(text="Vos données", to=Post(DM), attachment=Attachment("mes-donnees.json", data, "application/json"))
        )
    await client.close()
    caption, (room, file_event, _) = server.sent[-2][1], server.sent[-1]
    assert room == DM and caption["body"] == "Vos données" and file_event["msgtype"] == "m.file"
    assert "url" not in file_event
    stored = homeserver.media[file_event["file"]["url"]]
    assert data not in stored
    keys = file_event["file"]
    assert decrypt_attachment(stored, keys["key"]["k"], keys["hashes"]["sha256"], keys["iv"]) == data
