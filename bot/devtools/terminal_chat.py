"""Talk to the bot from a terminal, as the demo user, on a machine with no Matrix client.

Every message shown gets a short number, so that a thread, a reply or a reaction can name it
(« /fil 9 », « /repondre 12 oui », « /reagir 13 ✅ »). Parsing a typed line and formatting a
shown one are pure functions, tested without a server; the rest is a small nio client.

Whatever a member wrote (a body, a display name, a reaction) reaches the terminal through
`visible()` and `screen_text()`: a control character, an ANSI escape or a bidi override is shown,
never obeyed, and no line a member wrote can start where the chat starts its own lines.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nio import (
    AsyncClient,
    AsyncClientConfig,
    ForwardedRoomKeyEvent,
    InviteMemberEvent,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    ReactionEvent,
    RoomInviteResponse,
    RoomKeyEvent,
    RoomMessage,
    RoomMessagesResponse,
    RoomSendResponse,
)
from nio.store import SqliteStore

from bot.relations import relates_to, relations, without_reply_fallback
from bot.session import StoredSession, load_session, save_session
from bot.sync_loop import sync_until_cancelled

PRIVATE = "Conversation privée avec le bot"
# A private message from the bot this soon after yours answers it.
ANSWER_SECONDS = 10.0
# After a restart, what the first sync brings back is history: only its last few are shown.
OLD_SHOWN = 3
UNREADABLE = "(message illisible pour l'instant : sa clé de chiffrement n'est pas encore arrivée)"
UNREADABLE_OLD = "(message chiffré illisible ici : écrit avant la première connexion de ce terminal)"
HELP = f"""Tapez un message et Entrée pour l'envoyer dans le salon courant (ou le fil courant).
Chaque message affiché a un numéro entre crochets, [12] : les commandes ci-dessous le désignent.
Quand le bot vous écrit en privé (un dépôt de projet, !mes-depots…), vos messages vont dans
la « {PRIVATE} ».
  /salons               liste les salons
  /salon N              change de salon
  /fil N                entre dans le fil du message N : vos messages y vont
  /fil                  sort du fil et revient au salon
  /repondre N TEXTE     répond au message N (« Répondre »)
  /repondre TEXTE       répond au dernier message du bot dans ce salon
  /reagir N EMOJI       réagit au message N (par exemple /reagir 13 ✅)
  /reagir EMOJI         réagit au dernier message du bot dans ce salon
  /inviter NOM          invite quelqu'un dans le salon courant (alice, ou @alice:localhost)
  /aide                 affiche cette aide
  /quitter              termine la conversation
Les commandes du bot commencent par « ! » : essayez !aide."""

# Continuation lines of a shown message start here: only the chat's own lines start at the left
# edge, so a member's « \n[999] manufacture → vous : … » can never pass for another message.
INDENT = " " * 8
# Letters that draw nothing (Hangul fillers): a blank-looking name or message, made visible too.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
_ZERO_WIDTH_JOINER = "\u200d"
_SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
# What the chat writes around names: a member named « vous » or « manufacture → vous » would sign a
# line as you, or as the bot answering you.
_LAYOUT_MARKS = ("→", "↳", "[", "]", "«", "»", " : ")

COMMANDS = {
    "/salons": "rooms",
    "/salon": "room",
    "/fil": "thread",
    "/repondre": "reply",
    "/répondre": "reply",
    "/reagir": "react",
    "/réagir": "react",
    "/inviter": "invite",
    "/invite": "invite",
    "/aide": "help",
    "/help": "help",
    "/quitter": "quit",
    "/quit": "quit",
}


@dataclass(frozen=True)
class ChatCommand:
    """A typed line: `kind` is send, rooms, room, thread, reply, react, invite, help, quit or unknown."""

    kind: str
    text: str = ""
    number: int | None = None


def parse_line(line: str) -> ChatCommand | None:
    """What a typed line asks for; None for an empty line. A number right after /fil, /salon,
    /repondre or /reagir names a message (or a room); /repondre and /reagir without one mean
    the bot's last message."""
    line = line.strip()
    if not line:
        return None
    if not line.startswith("/"):
        return ChatCommand("send", line)
    word, _, rest = line.partition(" ")
    kind = COMMANDS.get(word.lower())
    rest = rest.strip()
    if kind is None:
        return ChatCommand("unknown", word)
    if kind in ("rooms", "help", "quit"):
        return ChatCommand(kind)
    if kind == "invite":
        return ChatCommand(kind, rest)
    first, _, after = rest.partition(" ")
    if kind in ("room", "thread"):
        return ChatCommand(kind, rest, int(rest) if rest.isdigit() else None)
    if first.isdigit() and after.strip():
        return ChatCommand(kind, after.strip(), int(first))
    if first.isdigit() and kind == "react":
        return ChatCommand(kind, "", int(first))
    return ChatCommand(kind, rest)


def visible(text: str) -> str:
    """`text` safe to print: what a terminal would obey instead of showing is written as an escape.

    C0 and C1 control characters and DEL (so every ANSI escape: erase, cursor moves, colours, OSC 8
    links, the bell, a carriage return overwriting the line) become `\\x1b`, `\\r`, `\\n`, `\\t`,
    `\\x9b`…; bidi controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C), zero-width and
    other invisible format characters, line and paragraph separators and lone surrogates become
    `<U+202E>`. A zero-width joiner between two emoji stays: it draws 👨‍👩‍👧, and hides nothing."""
    shown = []
    for index, char in enumerate(text):
        if not _acts_or_hides(char) or (char == _ZERO_WIDTH_JOINER and _joins_emoji(text, index)):
            shown.append(char)
        elif ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F:
            shown.append(_SHORT_ESCAPES.get(char, f"\\x{ord(char):02x}"))
        else:
            shown.append(f"<U+{ord(char):04X}>")
    return "".join(shown)


def _acts_or_hides(char: str) -> bool:
    # Cs: a lone surrogate (JSON lets a member send one) would also stop print() with an error.
    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp") or char in _BLANK_LETTERS


def _joins_emoji(text: str, index: int) -> bool:
    def emoji(char: str) -> bool:
        return unicodedata.category(char) in ("So", "Sk") or char == "\ufe0f"

    return 0 < index < len(text) - 1 and emoji(text[index - 1]) and emoji(text[index + 1])


def _cells(char: str) -> int:
    """How many columns `char` may take, never fewer than the terminal gives it: ambiguous and
    symbol characters count two (a wide-ambiguous terminal, an emoji), combining marks one."""
    if char.isascii():
        return 1
    if unicodedata.east_asian_width(char) in ("W", "F", "A") or unicodedata.category(char) in ("So", "Sk", "Co", "Cn"):
        return 2
    return 1


def _fit(text: str, width: int) -> int:
    """Where to cut `text` so that its first part fits in `width` columns: after a space when one
    is in the second half, else at the last character that fits (at least one)."""
    used = 0
    for index, char in enumerate(text):
        used += _cells(char)
        if used > width:
            space = text.rfind(" ", 0, index + 1)
            return space + 1 if space > index // 2 else max(index, 1)
    return len(text)


def screen_text(first: str, more: tuple[str, ...] | list[str] = (), width: int | None = None) -> str:
    """Lines for the terminal: `first` at the left edge, every other line (`more`, and with a `width`,
    what the terminal would wrap) after INDENT. The terminal's own wrapping would bring the rest of a
    long line back to the left edge, where a member's padded « [999] manufacture → vous : » would
    then pass for a message: lines are cut here first, one column short of the width."""
    if width is None:
        return first + "".join(f"\n{INDENT}{line}" for line in more)
    room = max(width - 1, len(INDENT) + 10)
    cut = _fit(first, room)
    rows, rest = [first[:cut].rstrip(" ")], first[cut:]
    for line in ([rest] if rest else []) + list(more):
        while True:
            cut = _fit(line, room - len(INDENT))
            rows.append(INDENT + line[:cut].rstrip(" "))
            line = line[cut:]
            if not line:
                break
    return "\n".join(rows)


def format_message(
    number: int,
    sender: str,
    body: str,
    *,
    to: tuple[str, ...] = (),
    thread: int | bool | None = None,
    room: str | None = None,
    old: bool = False,
    reply_to: int | None = None,
    width: int | None = None,
    note: str = "",
) -> str:
    """« [12] eve : … », « [13] Manufacture → eve : … », « [14] ↳ fil [9] eve : … ».

    `thread`: the number of the thread's first message, True for a thread whose start is not
    shown, None outside a thread. `room`: the room's name when it is not the current one.
    `reply_to`: the number of the message a member's message replies to. `width`: the terminal's,
    None where nothing wraps. `note`: the chat's own words after the body, cut with it. Names, room
    and body are shown through visible(); a body's own line breaks stay, its following lines indented."""
    parts = [f"[{number}]"]
    if old:
        parts.append("(ancien)")
    if room:
        parts.append(f"« {visible(room)} »")
    if thread is True:
        parts.append("↳ fil")
    elif thread is not None and thread is not False:
        parts.append(f"↳ fil [{thread}]")
    parts.append(
        visible(sender)
        + (f" → {', '.join(visible(name) for name in to)}" if to else "")
        + (f" (réponse à [{reply_to}])" if reply_to else "")
    )
    head = " ".join(parts) + " : "
    # Only \n (or \r\n) breaks a line: a lone \r, a vertical tab, U+2028… are shown, not obeyed.
    lines = [visible(line) for line in body.replace("\r\n", "\n").strip().split("\n")]
    lines[-1] += note
    return screen_text(head + lines[0], lines[1:], width)


def terminal_columns() -> int | None:
    """The width of the terminal the chat prints to; None when it prints elsewhere (nothing wraps)."""
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return None


@dataclass
class Shown:
    number: int
    room_id: str
    event_id: str
    sender: str
    thread_root: str | None
    # Whom a bot message answers (user ids): shown after its sender, « Manufacture → eve ».
    to: tuple[str, ...] = ()


class TerminalChat:
    def __init__(
        self,
        homeserver: str,
        user_id: str,
        password: str,
        state_dir: Path,
        rooms: dict[str, str],
        bot_user_id: str,
        out: Callable[[str], None] | None = None,
        columns: Callable[[], int | None] = terminal_columns,
    ) -> None:
        self.homeserver, self.user_id, self.password = homeserver, user_id, password
        self.state_dir, self.rooms, self.bot_user_id = state_dir, rooms, bot_user_id
        self.out = out or (lambda text: print(text, flush=True))
        # Asked at every line: a terminal resized meanwhile is cut at its new width.
        self.columns = columns
        self.current = next(iter(rooms.values()))
        # The thread your messages go to in the current room, if any.
        self.thread: str | None = None
        # The bot's last message in each room: what /repondre and /reagir without a number answer.
        self.last_from_bot: dict[str, str] = {}
        # When you last sent something: the bot's private answer to it takes you to the private chat.
        self.last_sent_at = 0.0
        self.shown: dict[int, Shown] = {}
        self.by_event: dict[str, Shown] = {}
        # Encrypted messages whose key has not come yet: shown when it does.
        self.unreadable: dict[str, tuple[MatrixRoom, MegolmEvent]] = {}
        # While the first sync brings history back: numbered, kept quiet, summed up after.
        self.catching_up = False
        self.caught_up: list[tuple[MatrixRoom, RoomMessage | MegolmEvent]] = []
        self._client: AsyncClient | None = None

    @property
    def client(self) -> AsyncClient:
        """The chat's nio client, made by connect()."""
        if self._client is None:
            raise RuntimeError("TerminalChat.connect() has not run")
        return self._client

    async def connect(self) -> None:
        store = self.state_dir / "store"
        store.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._client = AsyncClient(
            self.homeserver,
            self.user_id,
            store_path=str(store),
            config=AsyncClientConfig(store=SqliteStore, store_sync_tokens=True),
        )
        stored = load_session(self.state_dir)
        if stored:
            self.client.restore_login(stored.user_id, stored.device_id, stored.access_token)
        else:
            answer = await self.client.login(self.password, device_name="terminal")
            if not isinstance(answer, LoginResponse):
                raise RuntimeError(f"connexion impossible : {visible(str(answer))}")
            save_session(
                self.state_dir, StoredSession(self.homeserver, answer.user_id, answer.device_id, answer.access_token)
            )
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        # nio's annotations of these are wrong: a tuple of kinds is typed `tuple[type[Event], None]`,
        # invite events are no Event subclasses, a callback is typed as taking any Event though nio
        # calls it only with the kinds it was registered for, and to-device callbacks may be coroutines.
        self.client.add_event_callback(self._on_message, (RoomMessage, MegolmEvent))  # type: ignore[arg-type]
        self.client.add_event_callback(self._on_reaction, ReactionEvent)  # type: ignore[arg-type]
        self.client.add_event_callback(self._on_invite, InviteMemberEvent)  # type: ignore[arg-type]
        self.client.add_to_device_callback(self._on_room_key, (RoomKeyEvent, ForwardedRoomKeyEvent))  # type: ignore[arg-type]
        self.catching_up = True
        try:
            await self.client.sync(timeout=0, full_state=True)
        finally:
            self.catching_up = False
        # A demo member's invitations to the demo rooms: accepted, as their client would on a click.
        for room_id in list(self.client.invited_rooms):
            if room_id in self.rooms.values():
                await self.client.join(room_id)
        for room_id, room in self.client.rooms.items():
            if room_id not in self.rooms.values() and set(room.users) == {self.user_id, self.bot_user_id}:
                self.rooms[PRIVATE] = room_id  # opened by the bot in an earlier session
        if not self.caught_up:
            await self._recall()
        self._show_history()

    async def _recall(self) -> None:
        """A restart resumes from the stored sync token, which brings nothing back: the current
        room's last few messages are fetched, to be shown as old (and answered by number)."""
        answer = await self.client.room_messages(self.current, limit=20)
        room = self.client.rooms.get(self.current)
        if not isinstance(answer, RoomMessagesResponse) or room is None:
            return
        recent = [e for e in answer.chunk if isinstance(e, (RoomMessage, MegolmEvent))][:OLD_SHOWN]
        for event in reversed(recent):  # the answer comes newest first
            self._number(room, event)
            self.caught_up.append((room, event))
        if recent:
            self.out(f"(Les derniers messages de « {self._room_name(self.current)} » :)")

    def _show_history(self) -> None:
        """What the first sync brought back: the last few, marked as old, and how many more."""
        if not self.caught_up:
            return
        hidden = len(self.caught_up) - OLD_SHOWN
        if hidden > 0:
            self.out(f"({hidden} messages précédents non affichés ; les {OLD_SHOWN} derniers :)")
        for room, event in self.caught_up[-OLD_SHOWN:]:
            if event.sender == self.bot_user_id:
                self.last_from_bot[room.room_id] = event.event_id
            self.out(self._line(room, event, old=True))
        self.caught_up = []

    # --- what arrives -----------------------------------------------------------------------

    def _name(self, room: MatrixRoom | None, user_id: str) -> str:
        """How a member is named on screen (made visible by format_message). A display name that
        reads as the chat's own words, « vous » or « manufacture → vous », is followed by the user id,
        as nio already does for two members of one name."""
        if user_id == self.user_id:
            return "vous"
        name = room.user_name(user_id) if room is not None else None
        if not name:
            return user_id
        posing = name.strip().casefold() == "vous" or any(mark in name for mark in _LAYOUT_MARKS)
        if posing and not name.endswith(f"({user_id})"):
            return f"{name} ({user_id})"
        return name

    def _room_name(self, room_id: str) -> str:
        return visible(next((name for name, rid in self.rooms.items() if rid == room_id), room_id))

    def _number(self, room: MatrixRoom, event) -> Shown:
        known = self.by_event.get(event.event_id)
        if known is not None:
            return known
        content = event.source.get("content", {})
        thread = relations(content).thread_root
        shown = Shown(
            len(self.shown) + 1,
            room.room_id,
            event.event_id,
            event.sender,
            thread,
            self._addressees(event.sender, content),
        )
        self.shown[shown.number] = self.by_event[event.event_id] = shown
        return shown

    def _addressees(self, sender: str, content: dict) -> tuple[str, ...]:
        """Whom a bot message answers: the author of the message it replies to; for a reply to the
        bot's own message (the answer to a ✅ on an offer), whom it mentions or that one answered."""
        if sender != self.bot_user_id:
            return ()
        reply = relations(content).in_reply_to
        target = self.by_event.get(reply) if reply else None
        if target is not None and target.sender != self.bot_user_id:
            return (target.sender,)
        mentioned = tuple(
            user for user in (content.get("m.mentions") or {}).get("user_ids", []) if user != self.bot_user_id
        )
        return mentioned or (target.to if target is not None else ())

    def _line(self, room: MatrixRoom, event, *, old: bool = False, note: str = "") -> str:
        shown = self.by_event[event.event_id]
        content = event.source.get("content", {})
        relation = relations(content)
        thread, reply = relation.thread_root, relation.in_reply_to
        to = tuple(self._name(room, user) for user in shown.to)
        thread_mark: int | bool | None = None
        if thread:
            root = self.by_event.get(thread)
            thread_mark = root.number if root else True
        body = getattr(event, "body", None)
        body = (UNREADABLE_OLD if old else UNREADABLE) if body is None else without_reply_fallback(body, content)
        where = None if room.room_id == self.current else self._room_name(room.room_id)
        replied = self.by_event.get(reply) if reply and event.sender != self.bot_user_id else None
        return format_message(
            shown.number,
            self._name(room, event.sender),
            body,
            to=to,
            thread=thread_mark,
            room=where,
            old=old,
            reply_to=replied.number if replied else None,
            width=self.columns(),
            note=note,
        )

    async def _on_message(self, room: MatrixRoom, event: RoomMessage | MegolmEvent) -> None:
        if event.event_id in self.by_event and event.event_id not in self.unreadable:
            return  # already shown (a sync retried, say)
        self._number(room, event)
        if isinstance(event, MegolmEvent):
            self.unreadable[event.event_id] = (room, event)
        if self.catching_up:
            self.caught_up.append((room, event))
            return
        self._arrived(room, event)

    def _arrived(self, room: MatrixRoom, event) -> None:
        content = event.source.get("content", {})
        relation = relations(content)
        thread, reply = relation.thread_root, relation.in_reply_to
        from_bot = event.sender == self.bot_user_id
        if from_bot:
            self.last_from_bot[room.room_id] = event.event_id
        moved = (
            from_bot
            and room.room_id == self.rooms.get(PRIVATE)
            and room.room_id != self.current
            and time.monotonic() - self.last_sent_at < ANSWER_SECONDS
        )
        if moved:
            # The bot answered what you just typed privately: the conversation goes on there.
            self.current, self.thread = room.room_id, None
        self.out("\n" + self._line(room, event))
        answered_you = reply in self.by_event and self.by_event[reply].sender == self.user_id
        if from_bot and thread and room.room_id == self.current and thread != self.thread and answered_you:
            # The bot answered you in a thread: what you write next goes there, as in Element.
            self.thread = thread
            self.out(
                f"(Vous écrivez maintenant dans le fil [{self.by_event[thread].number if thread in self.by_event else '?'}]"
                " ; /fil pour en sortir.)"
            )
        if moved:
            self.out(f"(Vous écrivez maintenant dans la « {PRIVATE} » ; /salons pour changer.)")

    async def _on_room_key(self, event: RoomKeyEvent | ForwardedRoomKeyEvent) -> None:
        """A late key: the messages it opens are shown now, under the number they already had."""
        for event_id, (room, encrypted) in list(self.unreadable.items()):
            if encrypted.session_id != event.session_id:
                continue
            try:
                decrypted = self.client.decrypt_event(encrypted)
            except Exception:
                continue
            del self.unreadable[event_id]
            decrypted.event_id = event_id
            content = decrypted.source.get("content", {})
            shown = self.by_event[event_id]
            shown.thread_root, shown.to = relations(content).thread_root, self._addressees(decrypted.sender, content)
            self.out("\n" + self._line(room, decrypted, note="  (déchiffré)"))

    async def _on_reaction(self, room: MatrixRoom, event: ReactionEvent) -> None:
        target = self.by_event.get(event.reacts_to)
        if target is None or self.catching_up or event.sender == self.user_id:
            return
        self.out(
            screen_text(
                f"({visible(self._name(room, event.sender))} a réagi {visible(event.key)} "
                f"au message [{target.number}])",
                width=self.columns(),
            )
        )

    async def _on_invite(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        """The bot's invitation to a direct chat is accepted, and the conversation moves there."""
        if event.state_key != self.user_id or event.membership != "invite" or event.sender != self.bot_user_id:
            return
        if room.room_id in self.rooms.values():
            return
        await self.client.join(room.room_id)
        self.rooms[PRIVATE] = room.room_id
        self.current, self.thread = room.room_id, None
        self.out(
            "\n(Le bot vous a ouvert une conversation privée : vos messages y vont maintenant. "
            "/salons pour changer de salon.)\n"
        )

    # --- what you type ----------------------------------------------------------------------

    async def handle_line(self, line: str) -> bool:
        """Acts on one typed line; False once you asked to quit."""
        command = parse_line(line)
        if command is None:
            return True
        if command.kind == "quit":
            return False
        if command.kind == "send":
            await self._send(self.current, command.text, thread=self.thread)
        elif command.kind == "rooms":
            self._list_rooms()
        elif command.kind == "room":
            self._switch(command.number)
        elif command.kind == "thread":
            self._enter_thread(command)
        elif command.kind in ("reply", "react"):
            await self._answer(command)
        elif command.kind == "invite":
            await self._invite(command.text)
        elif command.kind == "help":
            self.out(HELP)
        else:
            self.out(
                f"Commande « {visible(command.text)} » inconnue : /aide liste les commandes du chat "
                "(les commandes du bot commencent par « ! »)."
            )
        return True

    def _target(self, command: ChatCommand) -> Shown | None:
        if command.number is not None:
            shown = self.shown.get(command.number)
            if shown is None:
                self.out(f"Pas de message [{command.number}] : donnez un numéro affiché entre crochets.")
            return shown
        event_id = self.last_from_bot.get(self.current)
        if event_id is None:
            self.out(
                "Le bot n'a encore rien écrit dans ce salon depuis le lancement du chat : "
                "donnez le numéro du message, par exemple /repondre 12 oui."
            )
            return None
        return self.by_event[event_id]

    def _enter_thread(self, command: ChatCommand) -> None:
        if not command.text:
            self.thread = None
            self.out("Vous écrivez de nouveau dans le salon.")
            return
        if command.number is None:
            self.out("Donnez le numéro du message dont vous voulez suivre le fil, par exemple /fil 9.")
            return
        shown = self._target(command)
        if shown is None:
            return
        self.current, self.thread = shown.room_id, shown.thread_root or shown.event_id
        root = self.by_event.get(self.thread)
        self.out(
            f"Vous écrivez dans le fil [{root.number if root else shown.number}] "
            f"de « {self._room_name(shown.room_id)} » ; /fil pour en sortir."
        )

    async def _answer(self, command: ChatCommand) -> None:
        shown = self._target(command)
        if shown is None:
            return
        if not command.text:
            example = "✅" if command.kind == "react" else "oui"
            self.out(
                f"Écrivez ce qui suit, par exemple /{'reagir' if command.kind == 'react' else 'repondre'} "
                f"{shown.number} {example}."
            )
        elif command.kind == "react":
            await self._send_event(
                shown.room_id,
                "m.reaction",
                {"m.relates_to": {"rel_type": "m.annotation", "event_id": shown.event_id, "key": command.text}},
            )
        else:
            await self._send(shown.room_id, command.text, thread=shown.thread_root, reply_to=shown.event_id)

    async def _invite(self, who: str) -> None:
        """Invites someone to the current room: a bare name is an account of this homeserver."""
        if not who or " " in who:
            self.out("Donnez qui inviter, par exemple /inviter bob (ou /inviter @bob:localhost).")
            return
        user_id = who if who.startswith("@") else f"@{who}:{self.user_id.split(':', 1)[1]}"
        answer = await self.client.room_invite(self.current, user_id)
        where = visible(self._room_name(self.current))
        if isinstance(answer, RoomInviteResponse):
            self.out(f"({visible(user_id)} est invité dans « {where} ».)")
        else:
            self.out(
                screen_text(
                    f"(invitation de {visible(user_id)} refusée : {visible(str(getattr(answer, 'message', answer)))})",
                    width=self.columns(),
                )
            )

    async def _send(self, room_id: str, text: str, *, thread: str | None = None, reply_to: str | None = None) -> None:
        content: dict = {"msgtype": "m.text", "body": text}
        relation = relates_to(thread_root=thread, reply_to=reply_to)
        if relation:
            content["m.relates_to"] = relation
        await self._send_event(room_id, "m.room.message", content)

    async def _send_event(self, room_id: str, event_type: str, content: dict) -> None:
        self.last_sent_at = time.monotonic()
        answer = await self.client.room_send(room_id, event_type, content, ignore_unverified_devices=True)
        if not isinstance(answer, RoomSendResponse):
            self.out(
                screen_text(f"(non envoyé : {visible(str(getattr(answer, 'message', answer)))})", width=self.columns())
            )

    async def run(self) -> None:
        await self.connect()
        sync = asyncio.create_task(sync_until_cancelled(self.client, timeout=30000))
        self.out(HELP)
        self._list_rooms()
        typed = _typed_lines(asyncio.get_running_loop())
        try:
            while True:
                line = await typed.get()
                if not line or not await self.handle_line(line):
                    break
        finally:
            sync.cancel()
            await self.client.close()

    def _list_rooms(self) -> None:
        for number, (name, room_id) in enumerate(self.rooms.items(), start=1):
            marker = "→" if room_id == self.current else " "
            self.out(f" {marker} {number}. {visible(name)}")

    def _switch(self, number: int | None) -> None:
        names = list(self.rooms)
        if number is not None and 1 <= number <= len(names):
            self.current = self.rooms[names[number - 1]]
            self.thread = None
            self.out(f"Salon courant : {visible(names[number - 1])}")
        else:
            self.out("Donnez le numéro du salon (voir /salons).")


def _typed_lines(loop: asyncio.AbstractEventLoop) -> asyncio.Queue:
    """The lines typed on stdin ("" at its end). readline() blocks: it runs in a daemon thread so
    replies keep printing while you type, and so that a chat cancelled under it (the demo's bot
    stopping) ends the process without waiting for one more Enter."""
    lines: asyncio.Queue = asyncio.Queue()

    def read() -> None:
        while True:
            line = sys.stdin.readline()
            try:
                loop.call_soon_threadsafe(lines.put_nowait, line)
            except RuntimeError:  # the loop is closed: the chat has ended
                return
            if not line:
                return

    threading.Thread(target=read, name="terminal-chat-input", daemon=True).start()
    return lines
