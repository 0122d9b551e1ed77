"""A message's thread and reply, read from m.relates_to alone, and the relation the bot's clients write."""

import pytest

from bot.relations import Relations, relates_to, relations, without_html_reply_fallback, without_reply_fallback


def thread(root: str, reply_to: str, *, falling_back: bool) -> dict:
    return {
        "m.relates_to": {
            "rel_type": "m.thread",
            "event_id": root,
            "is_falling_back": falling_back,
            "m.in_reply_to": {"event_id": reply_to},
        }
    }


REPLY = {"m.relates_to": {"m.in_reply_to": {"event_id": "$offer"}}}


def test_a_reply_without_a_fallback_is_read_as_a_reply():
    assert relations(REPLY) == Relations(thread_root=None, in_reply_to="$offer")
    assert without_reply_fallback("oui, je prends", REPLY) == "oui, je prends"


def test_a_threads_fallback_reply_is_no_reply_but_a_reply_in_a_thread_is():
    assert relations(thread("$root", "$last", falling_back=True)) == Relations(thread_root="$root", in_reply_to=None)
    assert relations(thread("$root", "$offer", falling_back=False)) == Relations("$root", "$offer")
    # Without is_falling_back, a thread's m.in_reply_to is a real reply (the spec's default is false).
    no_flag = {"m.relates_to": {"rel_type": "m.thread", "event_id": "$root", "m.in_reply_to": {"event_id": "$a"}}}
    assert relations(no_flag) == Relations("$root", "$a")


@pytest.mark.parametrize(
    "content",
    [
        {},
        {"m.relates_to": None},
        {"m.relates_to": "$x"},
        {"m.relates_to": {"m.in_reply_to": "$x"}},
        {"m.relates_to": {"m.in_reply_to": {"event_id": 12}}},
        {"m.relates_to": {"rel_type": "m.thread", "event_id": ["$x"]}},
        # An edit or a reaction relates to an event without being in a thread or replying to it.
        {"m.relates_to": {"rel_type": "m.replace", "event_id": "$x"}},
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$x", "key": "👍"}},
    ],
)
def test_no_relation_or_a_malformed_one_is_read_as_none(content):
    assert relations(content) == Relations(thread_root=None, in_reply_to=None)


def test_a_reply_with_an_older_clients_fallback_has_it_removed():
    body = "> <@ana:example.org> c'est quand ?\n> la réunion\n\n!aide"
    assert without_reply_fallback(body, REPLY) == "!aide"
    emote = "> * <@ana:example.org> part en vacances\n\nbonnes vacances"
    assert without_reply_fallback(emote, REPLY) == "bonnes vacances"
    # A thread's fallback reply names an event too: an older client quoted it the same way.
    assert without_reply_fallback(body, thread("$root", "$last", falling_back=True)) == "!aide"


def test_a_message_quoting_text_keeps_it():
    quoting = "> Le compost, c'est le jeudi\n\nQuelqu'un confirme ?"
    # Not a reply: the quote is the member's own text, whatever it looks like.
    assert without_reply_fallback(quoting, {}) == quoting
    assert without_reply_fallback("> <@ana:example.org> a dit\n\nvrai ?", {}) == "> <@ana:example.org> a dit\n\nvrai ?"
    # A reply (sent without a fallback, as clients now do) that starts by quoting text keeps it too.
    assert without_reply_fallback(quoting, REPLY) == quoting


def test_an_mx_reply_is_removed_from_the_html_and_nothing_else():
    html = (
        '<mx-reply><blockquote><a href="https://matrix.to/#/!r:h/$e">In reply to</a> '
        '<a href="https://matrix.to/#/@bot:h">@bot:h</a><br>question</blockquote></mx-reply>merci'
    )
    assert without_html_reply_fallback(html) == "merci"
    assert without_html_reply_fallback("<blockquote>cité</blockquote>merci") == "<blockquote>cité</blockquote>merci"


@pytest.mark.parametrize(
    ("thread_root", "reply_to", "expected"),
    [
        (None, None, None),
        (None, "$q", {"m.in_reply_to": {"event_id": "$q"}}),
        (
            "$root",
            None,
            {
                "rel_type": "m.thread",
                "event_id": "$root",
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": "$root"},
            },
        ),
        (
            "$root",
            "$q",
            {
                "rel_type": "m.thread",
                "event_id": "$root",
                "is_falling_back": False,
                "m.in_reply_to": {"event_id": "$q"},
            },
        ),
    ],
)
def test_the_relation_written_is_read_back_the_same(thread_root, reply_to, expected):
    relation = relates_to(thread_root=thread_root, reply_to=reply_to)
    assert relation == expected
    content = {"m.relates_to": relation} if relation else {}
    assert relations(content) == Relations(thread_root=thread_root, in_reply_to=reply_to)
