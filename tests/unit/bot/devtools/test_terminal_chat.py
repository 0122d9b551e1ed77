"""The terminal chat's pure parts: what a typed line asks for, and how a shown message reads, even
one a member wrote to take over the screen."""

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nio import Event, MatrixRoom, RoomMessage

from bot.devtools.terminal_chat import (
    HELP,
    INDENT,
    ChatCommand,
    TerminalChat,
    format_message,
    parse_line,
    screen_text,
    visible,
)


@pytest.mark.parametrize(
    ("line", "command"),
    [
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
        ("/inviter bob", ChatCommand("invite", "bob")),
        ("/inviter", ChatCommand("invite", "")),
        ("/bonjour", ChatCommand("unknown", "/bonjour")),
    ],
)
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


def test_the_help_lists_every_command_in_french():
    for command in (
        "/salons",
        "/salon N",
        "/fil N",
        "/fil ",
        "/repondre N TEXTE",
        "/repondre TEXTE",
        "/reagir N EMOJI",
        "/reagir EMOJI",
        "/aide",
        "/quitter",
        "/inviter NOM",
    ):
        assert command in HELP
    assert "numéro" in HELP


def test_a_members_reply_names_the_message_it_answers():
    assert format_message(11, "vous", "et comment ?", reply_to=8) == "[11] vous (réponse à [8]) : et comment ?"


# --- what a member writes is shown, never obeyed ---------------------------------------------------

FORGED = "[999] manufacture → vous : "


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("effacé\x1b[2K\x1b[1Gfaux", "effacé\\x1b[2K\\x1b[1Gfaux"),  # erase the line, back to column 1
        ("a\x1b[3A\x1b[10Cb\x1b[H", "a\\x1b[3A\\x1b[10Cb\\x1b[H"),  # cursor up, right, home
        (
            "\x1b]8;;https://evil.example/\x1b\\ici\x1b]8;;\x1b\\",  # OSC 8 hyperlink
            "\\x1b]8;;https://evil.example/\\x1b\\ici\\x1b]8;;\\x1b\\",
        ),
        ("\x1b]8;;https://evil.example/\x07ici", "\\x1b]8;;https://evil.example/\\x07ici"),  # ended by BEL
        ("AAAA\rBB", "AAAA\\rBB"),  # CR overwrite
        ("\x9b2J\x9d0;titre\x9c", "\\x9b2J\\x9d0;titre\\x9c"),  # C1 CSI, OSC, ST
        ("a\x08\x08b\x7f\x00c\td", "a\\x08\\x08b\\x7f\\x00c\\td"),  # backspace, DEL, NUL, tab
        ("\u202egnp.exe\u202c", "<U+202E>gnp.exe<U+202C>"),  # bidi override
        (
            "\u2066a\u2067b\u2068c\u2069\u200e\u200f\u061c",
            "<U+2066>a<U+2067>b<U+2068>c<U+2069><U+200E><U+200F><U+061C>",
        ),
        ("zéro\u200blargeur\ufeff\u2060\u00ad", "zéro<U+200B>largeur<U+FEFF><U+2060><U+00AD>"),
        ("un\u2028deux\x85trois\x0bquatre", "un<U+2028>deux\\x85trois\\x0bquatre"),
        ("\u3164", "<U+3164>"),  # a letter that draws nothing
        ("\ud800", "<U+D800>"),  # a lone surrogate
        ("vous\u200d", "vous<U+200D>"),  # a joiner joining nothing
    ],
)
def test_control_bidi_and_invisible_characters_are_shown_as_escapes(text, shown):
    assert visible(text) == shown


def test_ordinary_french_text_and_emoji_are_left_alone():
    text = "« Déjà\u202fvu ? » c’est l’été\u00a0! 👍🏽 🏳️\u200d🌈 👨\u200d👩\u200d👧 ✅ — œuvre…"
    assert visible(text) == text


ACTS_ON_A_TERMINAL = ("Cc", "Cf", "Cs", "Zl", "Zp")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_nothing_a_terminal_obeys_survives_and_showing_twice_changes_nothing(text):
    shown = visible(text)
    left = [
        char
        for index, char in enumerate(shown)
        if unicodedata.category(char) in ACTS_ON_A_TERMINAL and not (char == "\u200d" and 0 < index < len(shown) - 1)
    ]
    assert left == []
    assert visible(shown) == shown


def test_a_forged_line_in_a_message_stays_inside_it():
    shown = format_message(5, "mallory", "salut\n" + FORGED + "donnez votre mot de passe")
    first, *rest = shown.split("\n")
    assert first == "[5] mallory : salut"
    assert rest == [INDENT + FORGED + "donnez votre mot de passe"]


def test_a_line_padded_to_the_terminal_width_is_cut_before_the_terminal_wraps_it():
    # The terminal's own wrapping would put « [999] » at the left edge of the next row.
    for width in (40, 80, 81, 120):
        for padding in range(width - 12, width + 12):
            shown = format_message(7, "mallory", "x" * padding + FORGED + "faux", width=width)
            first, *rest = shown.split("\n")
            assert first.startswith("[7] mallory : ")
            assert rest and all(row.startswith(INDENT) for row in rest)
            assert all(len(row) < width for row in shown.split("\n"))


@pytest.mark.parametrize("text", ["é" * 60, "👍" * 60, "中文" * 30, "e\u0301" * 60])
def test_wide_and_ambiguous_characters_are_counted_wide_enough(text):
    # Never fewer columns than a terminal may give them (two for emoji and CJK, and for é in a
    # wide-ambiguous one): a row that fits by our count fits on screen.
    for row in screen_text("[1] eve : " + text, width=40).split("\n"):
        columns = sum(1 if char.isascii() or unicodedata.combining(char) else 2 for char in row)
        assert columns < 40


def test_long_lines_break_between_words_and_keep_every_word():
    text = "le référentiel dit que la permanence a lieu le premier mardi du mois à dix heures en visio"
    shown = format_message(3, "eve", text, width=40)
    rows = shown.split("\n")
    assert len(rows) > 1
    assert " ".join(row.strip() for row in rows) == "[3] eve : " + text


def test_a_terminal_width_too_small_for_anything_still_shows_everything():
    shown = screen_text("[1] eve : " + "abcdef" * 5, width=3)
    assert "".join(row.strip() for row in shown.split("\n")) == "[1] eve : " + "abcdef" * 5


def test_the_chats_own_note_after_a_body_is_cut_with_it():
    shown = format_message(9, "eve", "x" * 70, width=80, note="  (déchiffré)")
    assert shown.endswith("(déchiffré)") and all(len(row) < 80 for row in shown.split("\n"))
    assert format_message(9, "eve", "a\x1b", note="  (déchiffré)") == "[9] eve : a\\x1b  (déchiffré)"


def test_names_and_the_room_are_shown_through_the_same_escapes():
    shown = format_message(4, "mal\x1b[31mlory\u202e", "x", to=("e\rve",), room="Tri\x07bu")
    assert shown == "[4] « Tri\\x07bu » mal\\x1b[31mlory<U+202E> → e\\rve : x"


# --- the chat itself, fed a hostile member's messages -----------------------------------------------

ME, BOT, MALLORY, ROOM = "@demo:localhost", "@manufacture:localhost", "@mallory:localhost", "!tribu:localhost"
HOSTILE = [
    "effacé\x1b[2K\x1b[1G" + FORGED + "votre mot de passe ?",
    "curseur\x1b[3A\x1b[10Cici\x1b[H\x1b[2J",
    "lien \x1b]8;;https://evil.example/\x1b\\cliquez\x1b]8;;\x1b\\",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r" + FORGED + "faux",
    "bidi \u202egnp.exe\u202c",
    "première ligne\n" + FORGED + "ligne forgée",
    "x" * 53 + FORGED + "à la ligne par le terminal",
]


def event(number: int, sender: str, content: dict) -> Event:
    return Event.parse_event(
        {"event_id": f"${number}", "sender": sender, "origin_server_ts": number, "room_id": ROOM, **content}
    )


def message(number: int, sender: str, body: str) -> RoomMessage:
    parsed = event(number, sender, {"type": "m.room.message", "content": {"msgtype": "m.text", "body": body}})
    assert isinstance(parsed, RoomMessage), parsed
    return parsed


def hostile_room(display_name: str = "mallory") -> MatrixRoom:
    room = MatrixRoom(ROOM, ME)
    for user, name in ((ME, "demo"), (BOT, "manufacture"), (MALLORY, display_name)):
        room.add_member(user, name, None)
    return room


def chat_screen(width: int | None = 80) -> tuple[TerminalChat, list[str]]:
    printed: list[str] = []
    chat = TerminalChat(
        "http://127.0.0.1:8008",
        ME,
        "x",
        Path("unused"),
        {"Tribu": ROOM},
        BOT,
        out=printed.append,
        columns=lambda: width,
    )
    return chat, printed


def screen_rows(printed: list[str]) -> list[str]:
    return "\n".join(printed).split("\n")


async def test_the_chat_shows_a_hostile_members_messages_without_obeying_them():
    chat, printed = chat_screen()
    room = hostile_room()
    for number, body in enumerate(HOSTILE, start=1):
        await chat._on_message(room, message(number, MALLORY, body))

    screen = "\n".join(printed)
    assert not [char for char in screen if unicodedata.category(char) in ("Cc", "Cf") and char != "\n"]
    # Every row at the left edge is one of the messages, under its own number and sender.
    starts = [row for row in screen_rows(printed) if row and not row.startswith(INDENT)]
    assert [row.split(" : ")[0] for row in starts] == [f"[{n}] mallory" for n in range(1, len(HOSTILE) + 1)]
    assert all(len(row) < 80 for row in screen_rows(printed))
    assert "[1] mallory : effacé\\x1b[2K\\x1b[1G[999] manufacture" in screen
    assert "\\x1b]8;;https://evil.example/\\x1b\\cliquez" in screen
    assert "AAAA\\r[999]" in screen and "<U+202E>gnp.exe<U+202C>" in screen
    assert INDENT + FORGED + "ligne forgée" in screen_rows(printed)


@pytest.mark.parametrize("display_name", ["manufacture → vous", "vous", " Vous ", "[999] manufacture", "eve : faux"])
async def test_a_display_name_posing_as_the_chats_own_words_is_followed_by_the_user_id(display_name):
    chat, printed = chat_screen()
    await chat._on_message(hostile_room(display_name), message(1, MALLORY, "bonjour"))
    assert printed[-1].strip() == f"[1] {display_name} ({MALLORY}) : bonjour"


async def test_a_display_name_and_a_reaction_key_are_made_visible():
    chat, printed = chat_screen(width=None)
    room = hostile_room("mal\x1b7lory\u202e")
    await chat._on_message(room, message(1, BOT, "Bonjour !"))
    await chat._on_message(room, message(2, MALLORY, "salut"))
    await chat._on_reaction(
        room,
        event(
            3,
            MALLORY,
            {
                "type": "m.reaction",
                "content": {
                    "m.relates_to": {"rel_type": "m.annotation", "event_id": "$1", "key": "👍\x1b[2J\r" + FORGED}
                },
            },
        ),
    )
    assert printed[-2].strip() == "[2] mal\\x1b7lory<U+202E> : salut"
    assert printed[-1] == ("(mal\\x1b7lory<U+202E> a réagi 👍\\x1b[2J\\r" + FORGED + " au message [1])")


# --- threads and replies, read from m.relates_to ----------------------------------------------------


def related(number: int, sender: str, body: str, relation: dict | None = None) -> RoomMessage:
    content: dict = {"msgtype": "m.text", "body": body}
    if relation:
        content["m.relates_to"] = relation
    parsed = event(number, sender, {"type": "m.room.message", "content": content})
    assert isinstance(parsed, RoomMessage), parsed
    return parsed


async def test_a_reply_names_its_target_without_the_quote_an_older_client_put_before_it():
    chat, printed = chat_screen(width=None)
    room = hostile_room()
    await chat._on_message(room, message(1, BOT, "Qui vient jeudi ?"))
    fallback = "> <@manufacture:h> Qui vient jeudi ?\n\nmoi"
    await chat._on_message(room, related(2, MALLORY, fallback, {"m.in_reply_to": {"event_id": "$1"}}))
    await chat._on_message(room, related(3, MALLORY, "moi aussi", {"m.in_reply_to": {"event_id": "$1"}}))
    assert printed[-2].strip() == "[2] mallory (réponse à [1]) : moi"
    assert printed[-1].strip() == "[3] mallory (réponse à [1]) : moi aussi"


async def test_a_members_quote_is_shown_and_a_threads_fallback_is_no_reply():
    chat, printed = chat_screen(width=None)
    room = hostile_room()
    await chat._on_message(room, message(1, MALLORY, "> <@ana:h> le compost, c'est jeudi\n\nvrai ?"))
    assert printed[-1].strip() == "[1] mallory : > <@ana:h> le compost, c'est jeudi\n        \n        vrai ?"
    in_thread = {"rel_type": "m.thread", "event_id": "$1", "is_falling_back": True, "m.in_reply_to": {"event_id": "$1"}}
    await chat._on_message(room, related(2, MALLORY, "oui", in_thread))
    assert printed[-1].strip() == "[2] ↳ fil [1] mallory : oui"


async def test_what_the_chat_sends_in_a_thread_and_as_a_reply() -> None:
    chat, _ = chat_screen()
    sent: list[dict] = []

    async def send_event(room_id: str, event_type: str, content: dict) -> None:
        sent.append(content)

    chat._send_event = send_event  # type: ignore[method-assign]
    await chat._send(ROOM, "dans le fil", thread="$root")
    await chat._send(ROOM, "réponse", thread="$root", reply_to="$q")
    await chat._send(ROOM, "réponse hors fil", reply_to="$q")
    await chat._send(ROOM, "au salon")
    assert [content.get("m.relates_to") for content in sent] == [
        {"rel_type": "m.thread", "event_id": "$root", "is_falling_back": True, "m.in_reply_to": {"event_id": "$root"}},
        {"rel_type": "m.thread", "event_id": "$root", "is_falling_back": False, "m.in_reply_to": {"event_id": "$q"}},
        {"m.in_reply_to": {"event_id": "$q"}},
        None,
    ]
    # No reply fallback: the body is what was typed.
    assert [content["body"] for content in sent] == ["dans le fil", "réponse", "réponse hors fil", "au salon"]


async def test_inviter_invites_a_bare_name_of_this_homeserver_to_the_current_room_and_says_so() -> None:
    from nio import RoomInviteError, RoomInviteResponse

    chat, printed = chat_screen()
    invited: list[tuple[str, str]] = []

    class Client:
        async def room_invite(self, room_id: str, user_id: str):
            invited.append((room_id, user_id))
            if user_id == "@demo:localhost":
                return RoomInviteError("@demo:localhost is already in the room.")
            return RoomInviteResponse()

    chat._client = Client()  # type: ignore[assignment]
    await chat.handle_line("/inviter bob")
    await chat.handle_line("/inviter @carol:example.org")
    await chat.handle_line("/inviter demo")
    await chat.handle_line("/inviter")
    assert invited == [(ROOM, "@bob:localhost"), (ROOM, "@carol:example.org"), (ROOM, "@demo:localhost")]
    assert printed[-4] == "(@bob:localhost est invité dans « Tribu ».)"
    assert printed[-2].startswith("(invitation de @demo:localhost refusée : @demo:localhost is already")
    assert printed[-1].startswith("Donnez qui inviter")
