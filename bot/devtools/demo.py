"""`manufacture-bot demo`: a throwaway Synapse on 127.0.0.1, the bot, a demo person and three rooms.

Everything lives in one folder (demo-data/ by default) and is reused on the next run, so the
demo person keeps their rooms and history. Delete the folder to start afresh. The folder is
owner-only, like the bot's data_dir: it holds the bot's password and the local Synapse's keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import socket
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nio import AsyncClient, JoinResponse, LoginResponse, RoomCreateResponse, RoomInviteResponse

from bot.app import build_app
from bot.devtools.local_synapse import LocalSynapse, RegisteredUser
from bot.devtools.person import ScriptedPerson
from bot.devtools.terminal_chat import TerminalChat
from bot.instance_lock import AlreadyRunning
from bot.log_setup import setup_logging
from bot.matrix_bot import StartupError
from config import Config, load_config
from storage.database import DatabaseUnavailable, UnknownSchema
from storage.files import secure_data_dir, write_owner_only

DEMO_PASSWORD = "demo-manufacture"
# Two ordinary members, to try the bot with several people (`make chat USER=alice`): invited to the
# tribe and the peer group; the facilitators' room stays the demo account's.
MEMBERS = ("alice", "bob")
MEMBER_ROOM_KINDS = ("tribe", "peer_group")
# The account that checks, at each start, that the bot answers before the demo says it runs.
CHECK_ACCOUNT = "verification"
CHECK_SECONDS = 120
PREFERRED_PORT = 8008
# The facilitators' web board of the demo (`!tableau` in the chat gives the login link).
BOARD_PORT = 8470
ROOMS = (
    ("Tribu Alimentation", "tribe", False, None),
    ("Pairs — agents", "peer_group", True, "agents"),
    ("Animation", "facilitators", False, None),
)


class DemoError(Exception):
    """What stops the demo before it starts, in French, saying what to change."""


def _listen_error(host: str, port: int) -> OSError | None:
    """Why a server could not listen on host:port, None if it could. Bound the way servers bind
    (SO_REUSEADDR): a closed connection still in TIME_WAIT is no conflict, a listening or merely
    bound socket is."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            return error
    return None


def _free_port_after(host: str, port: int) -> int | None:
    """A port near `port` free right now, to suggest one that works."""
    return next(
        (candidate for candidate in range(port + 1, min(port + 50, 65536)) if _listen_error(host, candidate) is None),
        None,
    )


def _synapse_port_error(port: int, directory: Path, error: OSError) -> DemoError:
    if error.errno != errno.EADDRINUSE:
        return DemoError(
            f"le serveur Matrix local de la démo ne peut pas écouter sur le port {port} : {error.strerror or error}."
        )
    # The port is written in the demo's accounts and sessions: moving it would log the bot in again
    # as a new device. A new folder gets a free port.
    return DemoError(
        f"le port {port} du serveur Matrix local de cette démo est déjà pris par un autre programme "
        f"(une autre démo tourne-t-elle déjà sur {directory} ?). Arrêtez ce programme, ou lancez une démo "
        f'neuve dans un autre dossier, qui prendra un port libre : make demo DEMO_ARGS="--dir autre-dossier" '
        f"(ou manufacture-bot demo --dir autre-dossier)."
    )


def check_listeners(config: Config) -> None:
    """The ports the bot will listen on ([board] and [metrics]) are free, or DemoError says which key
    of which file to change: found now, before the bot loads its model and logs in, and before a
    chat starts talking to a bot that is about to stop."""
    for key, listener, what in (
        ("board.listen", config.board, "le tableau de bord web"),
        ("metrics.listen", config.metrics, "les métriques"),
    ):
        if not listener.enabled:
            continue
        error = _listen_error(listener.host, listener.port)
        if error is None:
            continue
        if error.errno != errno.EADDRINUSE:
            raise DemoError(
                f"impossible d'écouter sur {listener.listen} pour {what} : {error.strerror or error}. "
                f"Changez la clé {key} du fichier {config.path}."
            )
        free = _free_port_after(listener.host, listener.port)
        example = f" (par exemple « {listener.listen.rsplit(':', 1)[0]}:{free} », libre en ce moment)" if free else ""
        raise DemoError(
            f"le port {listener.port} ({listener.listen}), où la démo sert {what}, est déjà pris par "
            f"un autre programme (une autre démo ?). Choisissez-en un autre dans la clé {key} du "
            f"fichier {config.path}{example}, ou arrêtez ce programme, puis relancez la démo."
        )


def _sample_calendar(now: datetime) -> str:
    """A small ICS feed with events in the coming weeks, so `!agenda` has something to show."""

    def stamp(days: int, hour: int) -> str:
        return (now + timedelta(days=days)).strftime(f"%Y%m%dT{hour:02d}0000")

    events = [
        ("session-initiation", "Session d'initiation au référentiel", 9, 14, "Sessions"),
        ("journee-pairs", "Journée entre pairs — agents", 16, 9, "Pairs"),
        ("agora", "Agora des territoires pilotes", 17, 9, "Agora"),
    ]
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//manufacture-bot//demo//FR", "X-WR-TIMEZONE:Europe/Paris"]
    for uid, title, days, hour, category in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid}@demo",
            f"DTSTAMP:{now.strftime('%Y%m%dT%H%M%SZ')}",
            f"DTSTART;TZID=Europe/Paris:{stamp(days, hour)}",
            f"DTEND;TZID=Europe/Paris:{stamp(days, hour + 3)}",
            f"SUMMARY:{title}",
            f"CATEGORIES:{category}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def _config_text(state: dict, directory: Path) -> str:
    rooms = "\n".join(
        f'''
[[rooms]]
id = "{room["id"]}"
kind = "{room["kind"]}"
name = "{room["name"]}"'''
        + (f'\nrole = "{room["role"]}"' if room["role"] else "")
        for room in state["rooms"]
    )
    return f'''# Generated by `manufacture-bot demo`; see config.example.toml for every key.
[matrix]
homeserver = "{state["homeserver"]}"
user_id = "{state["bot"]["user_id"]}"
password = "{state["bot"]["password"]}"

[bot]
data_dir = "bot"
timezone = "Europe/Paris"

[access]
allowed_inviters = ["@*:localhost"]
facilitators = ["{state["demo"]["user_id"]}"]
{rooms}

[[agenda.recurring]]
title = "Permanence"
rrule = "FREQ=MONTHLY;BYDAY=1TU"
time = "10:00"
duration_minutes = 90
link = "https://visio.example.org/permanence"
rooms = ["tous"]
reminders = ["1d", "15m"]

[[agenda.feeds]]
url = "agenda.ics"
rooms = ["tous"]

[board]
listen = "127.0.0.1:{BOARD_PORT}"
'''


async def _create_rooms(synapse: LocalSynapse, demo, bot_user_id: str) -> list[dict]:
    client = AsyncClient(synapse.url, demo.user_id)
    client.restore_login(demo.user_id, demo.device_id, demo.access_token)
    rooms = []
    try:
        for name, kind, encrypted, role in ROOMS:
            state = (
                [{"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}]
                if encrypted
                else []
            )
            answer = await client.room_create(name=name, invite=[bot_user_id], initial_state=state)
            if not isinstance(answer, RoomCreateResponse):
                raise RuntimeError(f"création du salon {name} impossible : {answer}")
            rooms.append({"id": answer.room_id, "name": name, "kind": kind, "role": role})
    finally:
        await client.close()
    return rooms


async def _add_members(synapse: LocalSynapse, demo_account: dict, rooms: list[dict]) -> dict:
    """The member accounts, invited by the demo account (the rooms' creator) to the members' rooms."""
    members = {}
    client = AsyncClient(synapse.url, demo_account["user_id"])
    try:
        # A session of its own, logged out after: the demo account's devices stay the person's.
        login = await client.login(demo_account["password"], device_name="demo-setup")
        if not isinstance(login, LoginResponse):
            raise RuntimeError(f"connexion du compte de démo impossible : {login}")
        for name in MEMBERS:
            account = synapse.register(name, f"{name}-manufacture")
            # Invited, then joined at once through the registration's session (logged out after): a
            # member is in the rooms from the start, as they would be after a click on the invitation.
            member = AsyncClient(synapse.url, account.user_id)
            member.restore_login(account.user_id, account.device_id, account.access_token)
            try:
                for room in rooms:
                    if room["kind"] in MEMBER_ROOM_KINDS:
                        answer = await client.room_invite(room["id"], account.user_id)
                        if not isinstance(answer, RoomInviteResponse):
                            raise RuntimeError(f"invitation de {account.user_id} impossible : {answer}")
                        joined = await member.join(room["id"])
                        if not isinstance(joined, JoinResponse):
                            raise RuntimeError(f"{account.user_id} ne peut pas rejoindre {room['name']} : {joined}")
                await member.logout()
            finally:
                await member.close()
            members[name] = {"user_id": account.user_id, "password": account.password}
        await client.logout()
    finally:
        await client.close()
    return members


def _prepare(directory: Path) -> tuple[LocalSynapse, dict]:
    state_path = directory / "demo.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else None
    if state is not None:
        error = _listen_error("127.0.0.1", state["port"])
        if error is not None:
            raise _synapse_port_error(state["port"], directory, error)
    port = state["port"] if state else (PREFERRED_PORT if _listen_error("127.0.0.1", PREFERRED_PORT) is None else None)
    try:
        synapse = LocalSynapse(directory / "synapse", port=port).start()
    except RuntimeError as error:
        raise DemoError(
            f"le serveur Matrix local n'a pas démarré ({error}) ; son journal : "
            f"{directory / 'synapse' / 'synapse.log'}."
        ) from None
    if state is None:
        bot = synapse.register("manufacture")
        demo = synapse.register("demo", DEMO_PASSWORD, admin=True)
        rooms = asyncio.run(_create_rooms(synapse, demo, bot.user_id))
        state = {
            "port": synapse.port,
            "homeserver": synapse.url,
            "bot": {"user_id": bot.user_id, "password": bot.password},
            "demo": {"user_id": demo.user_id, "password": DEMO_PASSWORD},
            "rooms": rooms,
        }
        write_owner_only(state_path, json.dumps(state, indent=2))
        write_owner_only(directory / "config.toml", _config_text(state, directory))
        write_owner_only(directory / "agenda.ics", _sample_calendar(datetime.now(UTC)))
    if "members" not in state:  # a new folder, or one made before the demo had members
        state["members"] = asyncio.run(_add_members(synapse, state["demo"], state["rooms"]))
        write_owner_only(state_path, json.dumps(state, indent=2))
    if "check" not in state:
        check = synapse.register(CHECK_ACCOUNT)
        state["check"] = {
            "user_id": check.user_id,
            "password": check.password,
            "access_token": check.access_token,
            "device_id": check.device_id,
        }
        write_owner_only(state_path, json.dumps(state, indent=2))
    return synapse, state


def _instructions(state: dict, directory: Path, config: Config) -> str:
    rooms = "\n".join(f"   - {room['name']}" for room in state["rooms"])
    members = "\n".join(
        f"   {member['user_id']} / mot de passe : {member['password']}" for member in state.get("members", {}).values()
    )
    if config.board.enabled:
        board = f""" Tableau de bord web de l'équipe d'animation : écrivez !tableau dans le
 salon Animation, le bot vous envoie en privé un lien vers
 {config.board.base_url}/ (valable 10 minutes, une seule fois)."""
    else:  # a demo folder made before the board existed
        board = f""" Tableau de bord web : éteint ; pour l'allumer, ajoutez [board] et
 listen = "127.0.0.1:{BOARD_PORT}" dans {config.path}."""
    return f"""
────────────────────────────────────────────────────────────────────
 La démo de manufacture-bot tourne.

 Serveur Matrix local : {state["homeserver"]}
 Connectez-vous avec n'importe quel client Matrix (Element, etc.) :
   identifiant : {state["demo"]["user_id"]}
   mot de passe : {state["demo"]["password"]}
 Salons déjà créés (acceptez les invitations si besoin) :
{rooms}
 Deux membres ordinaires, pour essayer à plusieurs (invités dans les
 salons de la tribu et des pairs) :
{members}
 Ou, sans client Matrix, dans un autre terminal :
   .venv/bin/manufacture-bot chat --dir {directory}                (en tant que demo)
   .venv/bin/manufacture-bot chat --dir {directory} --user alice   (ou bob)
   (avec le dossier demo-data : make chat, make chat USER=alice)

 Essayez : !aide, !permanence, !agenda, !deposer, ou une question.
{board}
 Ctrl+C pour arrêter. Configuration : {config.path}
────────────────────────────────────────────────────────────────────
"""


def _chat(state: dict, directory: Path, user: str | None = None) -> TerminalChat:
    """The terminal chat as the demo account, or as one of the members (its own session folder)."""
    if user is None:
        account, rooms, state_dir = state["demo"], state["rooms"], directory / "chat"
    else:
        account, state_dir = state["members"][user], directory / f"chat-{user}"
        rooms = [room for room in state["rooms"] if room["kind"] in MEMBER_ROOM_KINDS]
    return TerminalChat(
        state["homeserver"],
        account["user_id"],
        account["password"],
        state_dir,
        {room["name"]: room["id"] for room in rooms},
        state["bot"]["user_id"],
    )


def _answers(homeserver: str) -> bool:
    try:
        with urllib.request.urlopen(f"{homeserver}/_matrix/client/versions", timeout=5):
            return True
    except (OSError, ValueError):
        return False


def _own_folder(directory: Path) -> None:
    """The demo folder holds the bot's password (config.toml), the demo account's (demo.json), the
    local Synapse's registration secret, signing key and database, the terminal chat's session: all
    of it is born owner-only whatever the shell's umask, and what an older demo left readable is
    taken back (one log line says so)."""
    os.umask(0o077)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    secure_data_dir(directory)


async def _self_check(state: dict, directory: Path) -> None:
    """As the check account, in its direct chat with the bot (made once): `!aide`, and the bot's
    answer awaited. Raises if none comes in CHECK_SECONDS."""
    bot_user_id, check = state["bot"]["user_id"], state["check"]
    account = RegisteredUser(check["user_id"], check["password"], check["access_token"], check["device_id"])
    person = await ScriptedPerson(state["homeserver"], account, directory / "check").start()
    try:
        room_id = check.get("room")
        if room_id is None:
            room_id = await person.create_room("Vérification de la démo", invite=(bot_user_id,), is_direct=True)
            check["room"] = room_id
            write_owner_only(directory / "demo.json", json.dumps(state, indent=2))
        await person.wait_joined(room_id, bot_user_id, timeout=CHECK_SECONDS)
        await person.send(room_id, "!aide")
        await person.wait_for_message(room_id, bot_user_id, timeout=CHECK_SECONDS)
    finally:
        await person.stop()


async def _until_answering(app, bot: asyncio.Task, state: dict, directory: Path) -> bool:
    """Waits until the bot has answered the demo's check; False if the bot stopped meanwhile. The bot
    tells no one of its first sync, and gains no hook for a dev tool: its client is polled, for the
    start only, then a real message goes to it."""
    while not bot.done() and not app.client.next_batch:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    if bot.done():
        return False
    check = asyncio.create_task(_self_check(state, directory))
    await asyncio.wait({bot, check}, return_when=asyncio.FIRST_COMPLETED)
    if not check.done():
        check.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await check
        return False
    if not check.cancelled() and check.exception() is not None:
        print(
            f"(Attention : le bot n'a pas répondu à la vérification de la démo en {CHECK_SECONDS} s "
            f"({check.exception()}) ; son journal dira pourquoi.)",
            file=sys.stderr,
            flush=True,
        )
    return True


async def _serve(config: Config, state: dict, directory: Path, chat: bool) -> None:
    app = build_app(config)
    bot = asyncio.create_task(app.run())
    # The banner (and the chat) come once the bot answers: printed while the model loads, the demo
    # would say it runs while nobody answers yet, and the chat would tangle with the indexing's
    # progress bar. A bot that could not start leaves nobody to talk to.
    if await _until_answering(app, bot, state, directory):
        print(_instructions(state, directory, config), flush=True)
    if not chat:
        await bot
        return
    if not bot.done():
        talk = asyncio.create_task(_chat(state, directory).run())
        await asyncio.wait({bot, talk}, return_when=asyncio.FIRST_COMPLETED)
        if talk.done():
            app.stopping.set()
            await bot
            talk.result()
            return
        # The bot stopped (Ctrl+C, or an error told below): the chat ends with it.
        talk.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await talk
    await bot


def run_demo(directory: Path, chat: bool = False) -> int:
    # The demo is for trying: warnings only, so the login instructions stay on screen.
    setup_logging("ERROR" if chat else "WARNING")
    # nio warns « Missing session for device … » for every device it is about to open a session
    # with: routine in a fresh demo, and noise under the instructions.
    logging.getLogger("nio.crypto").setLevel(logging.ERROR)
    _own_folder(directory)
    try:
        synapse, state = _prepare(directory)
    except DemoError as error:
        print(f"Erreur : {error}", file=sys.stderr)
        return 2
    ran = False
    try:
        config = load_config(directory / "config.toml")
        check_listeners(config)
        print(
            "Démarrage du bot… (la première fois, l'indexation du référentiel prend quelques minutes ; "
            "les informations de connexion s'affichent dès que le bot répond.)",
            flush=True,
        )
        ran = True
        asyncio.run(_serve(config, state, directory, chat))
    # The words say what to change (a port, a running demo): a traceback would hide them.
    except (DemoError, StartupError, AlreadyRunning, UnknownSchema, DatabaseUnavailable) as error:
        print(f"Erreur : {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    finally:
        if ran:
            print("\nArrêt de la démo…", flush=True)
        synapse.stop()
    print(
        f"Démo arrêtée (le bot et le serveur Matrix local). Tout est gardé dans {directory} : "
        "relancez-la pour reprendre là où vous en étiez, ou supprimez ce dossier pour repartir de zéro."
    )
    return 0


def run_chat_only(directory: Path, user: str | None = None) -> int:
    state_path = directory / "demo.json"
    if not state_path.exists():
        print(f"Pas de démo dans {directory} : lancez d'abord `manufacture-bot demo`.")
        return 2
    members = json.loads(state_path.read_text()).get("members", {})
    if user in ("demo", ""):
        user = None
    if user is not None and user not in members:
        known = ", ".join(["demo", *members]) if members else "demo (relancez la démo pour créer alice et bob)"
        print(f"Pas de compte « {user} » dans la démo : choisissez parmi {known}.", file=sys.stderr)
        return 2
    # The person reads the conversation here: nio's retry warnings (a restarted demo server, say)
    # would break it up, and a message that cannot be sent is reported on its own.
    logging.basicConfig(level="ERROR")
    # The chat's session and encryption store go in the demo folder: owner-only like the rest.
    _own_folder(directory)
    state = json.loads(state_path.read_text())
    if not _answers(state["homeserver"]):
        # nio would retry in silence for ever: the person would stare at an empty terminal.
        print(
            f"Le serveur Matrix de la démo ne répond pas sur {state['homeserver']} : lancez d'abord la démo "
            f"dans un autre terminal (make demo, ou manufacture-bot demo --dir {directory}).",
            file=sys.stderr,
        )
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_chat(state, directory, user).run())
    return 0
