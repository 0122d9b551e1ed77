"""Talk to the bot from a terminal, as the demo user, on a machine with no Matrix client."""
from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from nio import (AsyncClient, AsyncClientConfig, InviteMemberEvent, LoginResponse, MatrixRoom, MegolmEvent,
                 RoomMessage, RoomSendResponse)
from nio.store import SqliteStore

from bot.session import StoredSession, load_session, save_session
from bot.sync_loop import sync_until_cancelled

PRIVATE = "Conversation privée avec le bot"
# A private message from the bot this soon after yours answers it.
ANSWER_SECONDS = 10.0
HELP = ("Tapez un message et Entrée pour l'envoyer dans le salon courant.\n"
        "Quand le bot vous écrit en privé (un dépôt de projet, !mes-depots…), vos messages vont dans\n"
        f"la « {PRIVATE} » ; quand il ouvre un fil, vos messages y vont.\n"
        "  /salons      liste les salons\n"
        "  /salon N     change de salon\n"
        "  /fil         sort du fil et revient au salon\n"
        "  /repondre TEXTE   répond au dernier message du bot dans ce salon (« Répondre »)\n"
        "  /reagir EMOJI     réagit au dernier message du bot dans ce salon (par exemple /reagir ✅)\n"
        "  /quitter     termine la conversation")


class TerminalChat:
    def __init__(self, homeserver: str, user_id: str, password: str, state_dir: Path, rooms: dict[str, str],
                 bot_user_id: str) -> None:
        self.homeserver, self.user_id, self.password = homeserver, user_id, password
        self.state_dir, self.rooms, self.bot_user_id = state_dir, rooms, bot_user_id
        self.current = next(iter(rooms.values()))
        # The thread the bot last answered in, in the current room: where the next message goes.
        self.thread: str | None = None
        # The bot's last message in each room: what /repondre and /reagir answer.
        self.last_from_bot: dict[str, str] = {}
        # When you last sent something: the bot's private answer to it takes you to the private chat.
        self.last_sent_at = 0.0
        self.client: AsyncClient | None = None

    async def connect(self) -> None:
        store = self.state_dir / "store"
        store.mkdir(parents=True, exist_ok=True)
        self.client = AsyncClient(self.homeserver, self.user_id, store_path=str(store),
                                  config=AsyncClientConfig(store=SqliteStore, store_sync_tokens=True))
        stored = load_session(self.state_dir)
        if stored:
            self.client.restore_login(stored.user_id, stored.device_id, stored.access_token)
        else:
            answer = await self.client.login(self.password, device_name="terminal")
            if not isinstance(answer, LoginResponse):
                raise RuntimeError(f"connexion impossible : {answer}")
            save_session(self.state_dir, StoredSession(self.homeserver, answer.user_id, answer.device_id,
                                                       answer.access_token))
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        await self.client.sync(timeout=0, full_state=True)
        for room_id, room in self.client.rooms.items():
            if room_id not in self.rooms.values() and set(room.users) == {self.user_id, self.bot_user_id}:
                self.rooms[PRIVATE] = room_id  # opened by the bot in an earlier session
        self.client.add_event_callback(self._show, (RoomMessage, MegolmEvent))
        self.client.add_event_callback(self._on_invite, InviteMemberEvent)

    async def _on_invite(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        """The bot's invitation to a direct chat is accepted, and the conversation moves there."""
        if event.state_key != self.user_id or event.membership != "invite" or event.sender != self.bot_user_id:
            return
        if room.room_id in self.rooms.values():
            return
        await self.client.join(room.room_id)
        self.rooms[PRIVATE] = room.room_id
        self.current, self.thread = room.room_id, None
        print("\n(Le bot vous a ouvert une conversation privée : vos messages y vont maintenant. "
              "/salons pour changer de salon.)\n", flush=True)

    def _room_name(self, room_id: str) -> str:
        return next((name for name, rid in self.rooms.items() if rid == room_id), room_id)

    async def _show(self, room: MatrixRoom, event) -> None:
        if event.sender != self.bot_user_id:
            return
        body = getattr(event, "body", "(message illisible : clé de chiffrement manquante)")
        self.last_from_bot[room.room_id] = event.event_id
        relation = event.source.get("content", {}).get("m.relates_to") or {}
        in_thread = relation.get("rel_type") == "m.thread"
        if room.room_id == self.current and in_thread:
            self.thread = relation.get("event_id")
        moved = (room.room_id == self.rooms.get(PRIVATE) and room.room_id != self.current
                 and time.monotonic() - self.last_sent_at < ANSWER_SECONDS)
        if moved:
            # The bot answered what you just typed privately: the conversation goes on there.
            self.current, self.thread = room.room_id, None
        where = "" if room.room_id == self.current else f"[{self._room_name(room.room_id)}] "
        marker = "🧵 " if in_thread else ""
        print(f"\n🤖 {where}{marker}{body}\n", flush=True)
        if moved:
            print(f"(Vous écrivez maintenant dans la « {PRIVATE} » ; /salons pour changer.)\n", flush=True)

    async def send(self, text: str, *, reply_to: str | None = None) -> None:
        content = {"msgtype": "m.text", "body": text}
        if self.thread:
            content["m.relates_to"] = {"rel_type": "m.thread", "event_id": self.thread,
                                       "is_falling_back": reply_to is None,
                                       "m.in_reply_to": {"event_id": reply_to or self.thread}}
        elif reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        await self._send_event("m.room.message", content)

    async def _send_event(self, event_type: str, content: dict) -> None:
        self.last_sent_at = time.monotonic()
        answer = await self.client.room_send(self.current, event_type, content, ignore_unverified_devices=True)
        if not isinstance(answer, RoomSendResponse):
            print(f"(non envoyé : {getattr(answer, 'message', answer)})")

    async def answer_bot(self, command: str, argument: str) -> None:
        """/repondre and /reagir: on the bot's last message in the current room."""
        target = self.last_from_bot.get(self.current)
        if target is None:
            print("Le bot n'a encore rien écrit dans ce salon depuis le lancement du chat.")
        elif not argument:
            print(f"Écrivez ce qui suit la commande, par exemple « {command} {'✅' if command == '/reagir' else 'oui'} ».")
        elif command == "/reagir":
            await self._send_event("m.reaction", {"m.relates_to": {"rel_type": "m.annotation", "event_id": target,
                                                                   "key": argument}})
        else:
            await self.send(argument, reply_to=target)

    async def run(self) -> None:
        await self.connect()
        sync = asyncio.create_task(sync_until_cancelled(self.client, timeout=30000))
        print(HELP)
        self._list_rooms()
        loop = asyncio.get_running_loop()
        try:
            while True:
                # input() blocks: it runs in a thread so replies keep printing while you type.
                line = await loop.run_in_executor(None, sys.stdin.readline)
                if not line:
                    break
                line = line.strip()
                if not line:
                    continue
                if line in ("/quitter", "/quit"):
                    break
                if line == "/salons":
                    self._list_rooms()
                elif line == "/fil":
                    self.thread = None
                    print("Vous écrivez de nouveau dans le salon.")
                elif line.startswith("/salon"):
                    self._switch(line.partition(" ")[2].strip())
                elif line.split(" ", 1)[0] in ("/repondre", "/reagir"):
                    command, _, argument = line.partition(" ")
                    await self.answer_bot(command, argument.strip())
                else:
                    await self.send(line)
        finally:
            sync.cancel()
            await self.client.close()

    def _list_rooms(self) -> None:
        for number, (name, room_id) in enumerate(self.rooms.items(), start=1):
            marker = "→" if room_id == self.current else " "
            print(f" {marker} {number}. {name}")

    def _switch(self, choice: str) -> None:
        names = list(self.rooms)
        if choice.isdigit() and 1 <= int(choice) <= len(names):
            self.current = self.rooms[names[int(choice) - 1]]
            self.thread = None
            print(f"Salon courant : {names[int(choice) - 1]}")
        else:
            print("Donnez le numéro du salon (voir /salons).")
