"""The terminal chat's pure parts: what a typed line asks for, and how a shown message reads."""
import pytest

from bot.terminal_chat import HELP, ChatCommand, format_message, parse_line, relation_of


@pytest.mark.parametrize("line, command", [
    ("c'est quand la permanence ?", ChatCommand("send", "c'est quand la permanence ?")),
    ("  !aide  ", ChatCommand("send", "!aide")),
    ("/fil 9", ChatCommand("thread", "9", 9)),
    ("/fil", ChatCommand("thread", "", None)),
    ("/fil neuf", ChatCommand("thread", "neuf", None)),
    ("/repondre 12 oui", ChatCommand("reply", "oui", 12)),
    ("/répondre 12 oui merci", ChatCommand("reply", "oui merci", 12)),
    ("/repondre oui", ChatCommand("reply", "oui", None)),
    ("/repondre 12", ChatCommand("reply", "12", None)),
    ("/reagir 13 ✅", ChatCommand("react", "✅", 13)),
    ("/reagir ✅", ChatCommand("react", "✅", None)),
    ("/reagir 13", ChatCommand("react", "", 13)),
    ("/salon 2", ChatCommand("room", "2", 2)),
    ("/salons", ChatCommand("rooms")),
    ("/aide", ChatCommand("help")),
    ("/quitter", ChatCommand("quit")),
    ("/bonjour", ChatCommand("unknown", "/bonjour")),
])
def test_a_typed_line_names_its_command_and_message_number(line, command):
    assert parse_line(line) == command


def test_an_empty_line_asks_nothing():
    assert parse_line("   ") is None


def test_a_member_message_shows_its_number_and_sender():
    assert format_message(12, "eve", "c'est quand la permanence ?") == "[12] eve : c'est quand la permanence ?"


def test_a_bot_message_says_whom_it_answers_and_in_which_thread():
    line = format_message(14, "Manufacture", "Elle dure 1 h 30.", to=("eve",), thread=9)
    assert line == "[14] ↳ fil [9] Manufacture → eve : Elle dure 1 h 30."
    assert format_message(3, "Manufacture", "x", thread=True).startswith("[3] ↳ fil Manufacture : ")


def test_old_messages_and_other_rooms_are_marked_and_long_bodies_indented():
    line = format_message(2, "bob", "une\ndeux", room="Pairs — agents", old=True)
    assert line.startswith("[2] (ancien) « Pairs — agents » bob : une\n")
    assert line.endswith("\n        deux")


def test_a_thread_reply_names_its_target_and_a_fallback_does_not():
    in_thread = {"m.relates_to": {"rel_type": "m.thread", "event_id": "$root", "is_falling_back": False,
                                  "m.in_reply_to": {"event_id": "$answer"}}}
    fallback = {"m.relates_to": {"rel_type": "m.thread", "event_id": "$root", "is_falling_back": True,
                                 "m.in_reply_to": {"event_id": "$root"}}}
    assert relation_of(in_thread) == ("$root", "$answer")
    assert relation_of(fallback) == ("$root", None)
    assert relation_of({"m.relates_to": {"m.in_reply_to": {"event_id": "$q"}}}) == (None, "$q")
    assert relation_of({}) == (None, None)


def test_the_help_lists_every_command_in_french():
    for command in ("/salons", "/salon N", "/fil N", "/fil ", "/repondre N TEXTE", "/repondre TEXTE",
                    "/reagir N EMOJI", "/reagir EMOJI", "/aide", "/quitter"):
        assert command in HELP
    assert "numéro" in HELP


def test_a_members_reply_names_the_message_it_answers():
    assert format_message(11, "vous", "et comment ?", reply_to=8) == "[11] vous (réponse à [8]) : et comment ?"
