"""Which messages are meant for the bot: a table of bodies and events, and the call stripped from the body."""

import pytest

from bot.addressing import Addressing, mentions_user, strip_call

BOT = "@manufacture:example.org"
NAME = "Manufacture"
ADDRESSING = Addressing(BOT, "!")
PILL = f'<a href="https://matrix.to/#/{BOT}">{NAME}</a> : c\'est quand ?'


def addressed(body, content=None, *, direct=False, reply=False, thread=False, name=NAME):
    return ADDRESSING.is_addressed(
        body, content or {"body": body}, display_name=name, is_direct=direct, replies_to_bot=reply, in_bot_thread=thread
    )


@pytest.mark.parametrize(
    ("body", "content", "expected"),
    [
        ("!aide", None, True),
        ("!q c'est quand la permanence ?", None, True),
        ("Manufacture : c'est quand la permanence ?", None, True),
        ("manufacture, une question", None, True),
        ("Manufacture: question", None, True),
        (f"{BOT}: question", None, True),
        ("@manufacture, question", None, True),
        # Its name inside a sentence, or at the start without a call, is conversation.
        ("On se retrouve à la manufacture jeudi ?", None, False),
        ("Manufacture jeudi, on y va ?", None, False),
        ("La Manufacture : quelle aventure !", None, False),
        (f"je crois que {BOT} sait", None, False),
        ("bonjour à tous", None, False),
        # An intentional mention: m.mentions, or a pill in the HTML body (encoded or not, matrix: URI too).
        ("Manufacture c'est quand ?", {"m.mentions": {"user_ids": [BOT]}}, True),
        ("Manufacture : c'est quand ?", {"formatted_body": PILL}, True),
        ("x", {"formatted_body": '<a href="https://matrix.to/#/%40manufacture%3Aexample.org">M</a> x'}, True),
        ("x", {"formatted_body": '<a href="matrix:u/manufacture:example.org">M</a> x'}, True),
        ("x", {"m.mentions": {"user_ids": ["@someone:example.org"]}}, False),
        ("x", {"formatted_body": '<a href="https://matrix.to/#/@someone:example.org">S</a> x'}, False),
        ("x", {"formatted_body": '<a href="https://evil.example/#/@manufacture:example.org">M</a>'}, False),
        ("x", {"m.mentions": {}}, False),
        # An older client's reply quotes the replied message's HTML, its pills too: no call from this member.
        (
            "x",
            {
                "formatted_body": f'<mx-reply><blockquote><a href="https://matrix.to/#/@ana:example.org">Ana</a> '
                f"{PILL}</blockquote></mx-reply>bien vu",
                "m.relates_to": {"m.in_reply_to": {"event_id": "$ana"}},
            },
            False,
        ),
    ],
)
def test_what_is_addressed_to_the_bot(body, content, expected):
    assert addressed(body, {"body": body, **(content or {})}) is expected


def test_direct_chats_replies_and_the_bots_threads_are_addressed():
    assert addressed("bonjour", direct=True)
    assert addressed("et la suivante ?", reply=True)
    assert addressed("et la suivante ?", thread=True)
    assert not addressed("et la suivante ?")


def test_without_a_display_name_the_user_id_still_calls_it():
    assert addressed(f"{BOT} : question", name=None)
    assert not addressed("Manufacture : question", name=None)


def test_the_call_is_stripped_from_the_question():
    names = ADDRESSING.names(NAME)
    assert strip_call("Manufacture : c'est quand ?", names) == "c'est quand ?"
    assert strip_call("manufacture, c'est quand ?", names) == "c'est quand ?"
    assert strip_call(f"{BOT} c'est quand ?", names) == "c'est quand ?"  # a pill's plain body
    assert strip_call("c'est quand ?", names) == "c'est quand ?"
    assert strip_call("Manufactures du coin ?", names) == "Manufactures du coin ?"


def test_mentions_ignore_malformed_content():
    assert not mentions_user({"m.mentions": "nope", "formatted_body": 3}, BOT)
