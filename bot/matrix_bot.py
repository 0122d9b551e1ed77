"""The Matrix side of the bot: session, sync loop, and turning nio events into handler input."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from nio import (
    ErrorResponse,
    Event,
    ForwardedRoomKeyEvent,
    InviteMemberEvent,
    JoinError,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    PowerLevelsEvent,
    ReactionEvent,
    RedactionEvent,
    RoomKeyEvent,
    RoomMemberEvent,
    RoomMessageText,
    SyncError,
    SyncResponse,
    UnknownEvent,
)
from sqlmodel import Session

from bot.addressing import Addressing, strip_call
from bot.direct_chats import DirectChats
from bot.dispatcher import Dispatcher
from bot.inbox import Arrival, Inbox, is_poll_response
from bot.late_keys import LateKeys
from bot.matrix_client import BotClient, EventT, on_event, on_response, on_to_device
from bot.polls import read_response
from bot.relations import relations, without_reply_fallback
from bot.room_directory import RoomDirectory, inviter_allowed
from bot.sender import Sender
from bot.session import (
    TOKEN_ADVICE,
    SessionProblem,
    StoredSession,
    device_has_other_keys,
    forget_session,
    kept_session_fits,
    load_session,
    save_session,
    session_from_token,
)
from bot.sync_loop import sync_until_cancelled
from bot.timeline_gaps import TimelineGaps
from config import Config
from handlers.context import Message, RoomInfo
from handlers.metrics import Metrics
from handlers.replies import Post, Reply
from handlers.rooms import INTRODUCTION_TAG, introduction
from handlers.text import normalise_input
from storage.messages import bot_in_thread, is_bot_message, sent_in_room_with_tag
from storage.rooms import RoomRecord
from storage.unit_of_work import UnitOfWork, UnitsOfWork

log = logging.getLogger(__name__)

# Enough history to catch up on what was said while the bot was down.
SYNC_FILTER = {"room": {"timeline": {"limit": 100}, "state": {"lazy_load_members": False}}}


class StartupError(Exception):
    """A problem that prevents start-up, worded for the person running the bot."""


class SessionRevoked(StartupError):
    """The homeserver refuses the stored access token (logged out, device deleted): no retry helps."""


class SyncFailed(Exception):
    """The homeserver answered a sync with an error; the sync loop tries again, waiting longer."""


def sync_failure(answer: SyncError, data_dir: Path, *, with_token: bool = False) -> Exception:
    """The exception for a refused sync. A revoked session is forgotten, so that the next start
    logs in again with the password (as a new device) instead of failing the same way forever;
    a bot given an access token needs a new one."""
    if answer.status_code == "M_UNKNOWN_TOKEN":
        forget_session(data_dir)
        then = (
            f"il faut au bot un nouveau jeton d'accès. {TOKEN_ADVICE}"
            if with_token
            else "au prochain démarrage, le bot se reconnecte avec son mot de passe, comme un nouvel appareil."
        )
        return SessionRevoked(
            "Le serveur Matrix ne reconnaît plus la session du bot (déconnectée ou appareil "
            f"supprimé). Elle est oubliée : {then}"
        )
    return SyncFailed(f"Synchronisation refusée : {answer.status_code} {answer.message}")


# A remote inviter's homeserver may take a moment to store its invitation (see MatrixBot._join).
JOIN_RETRY_SECONDS = 30.0
JOIN_FIRST_WAIT = 0.5
JOIN_LONGEST_WAIT = 8.0


class MatrixBot:
    def __init__(
        self,
        config: Config,
        client: BotClient,
        directory: RoomDirectory,
        dispatcher: Dispatcher,
        sender: Sender,
        direct_chats: DirectChats,
        late_keys: LateKeys,
        inbox: Inbox,
        gaps: TimelineGaps,
        metrics: Metrics | None = None,
        *,
        units: UnitsOfWork,
    ) -> None:
        self.config, self.client, self.directory, self.dispatcher = config, client, directory, dispatcher
        self.units = units
        self.sender, self.direct_chats, self.late_keys, self.inbox = sender, direct_chats, late_keys, inbox
        self.gaps = gaps
        self.metrics = metrics or Metrics()
        # Called when the facilitators' room's members or power levels change (rights may be lost).
        self.rights_changed: list[Callable[[], Awaitable[object]]] = []
        # nio runs response callbacks on each M_LIMIT_EXCEEDED it waits out before retrying.
        on_response(self.client, self._count_rate_limit, ErrorResponse)
        self.post = sender.post
        self.addressing = Addressing(config.matrix.user_id, config.bot.command_prefix)
        self._invites_seen: set[str] = set()
        # Rooms whose confidentiality was checked since start: a room joined later is checked on arrival.
        self._rooms_checked: set[str] = set()
        self._introductions: set[asyncio.Task] = set()
        self._joins: set[asyncio.Task] = set()
        self._room_checks: set[asyncio.Task] = set()

    # --- session -------------------------------------------------------------------------

    async def log_in(self) -> None:
        data_dir: Path = self.config.data_dir
        matrix = self.config.matrix
        (data_dir / "store").mkdir(parents=True, exist_ok=True)
        stored = load_session(data_dir)
        if kept_session_fits(stored, matrix):
            assert stored is not None
            self.client.restore_login(stored.user_id, stored.device_id, stored.access_token)
            log.info("Session restored for %s (device %s)", stored.user_id, stored.device_id)
        elif matrix.uses_access_token:
            await self._adopt_access_token()
        else:
            if not matrix.password:
                raise StartupError(
                    "Première connexion : il faut un mot de passe (clé matrix.password du fichier "
                    f"{self.config.path}, ou la variable MANUFACTURE_PASSWORD), ou un jeton d'accès "
                    "(variable MANUFACTURE_ACCESS_TOKEN)."
                )
            answer = await self.client.login(matrix.password, device_name=matrix.device_name)
            if not isinstance(answer, LoginResponse):
                raise StartupError(f"Connexion refusée par {matrix.homeserver} : {getattr(answer, 'message', answer)}")
            save_session(
                data_dir, StoredSession(matrix.homeserver, answer.user_id, answer.device_id, answer.access_token)
            )
            log.info("Logged in as %s, new device %s", answer.user_id, answer.device_id)
        if self.client.should_upload_keys:
            await self.client.keys_upload()

    async def _adopt_access_token(self) -> None:
        """A token the operator made for the bot (no password kept anywhere): checked, then kept in
        data_dir as the session. Its device gets its own encryption store (nio names the store after
        the device), so a new token for a new device never mixes two identities."""
        try:
            session = await session_from_token(self.client, self.config.matrix)
        except SessionProblem as problem:
            raise StartupError(str(problem)) from None
        self.client.restore_login(session.user_id, session.device_id, session.access_token)
        if self.client.should_upload_keys and await device_has_other_keys(self.client):
            raise StartupError(
                f"L'appareil {session.device_id} de ce jeton a déjà ses propres clés de chiffrement sur le "
                "serveur (jeton pris dans Element ou un autre client, ou dossier data_dir/store perdu) : le bot "
                f"ne peut pas s'en servir. {TOKEN_ADVICE}"
            )
        save_session(self.config.data_dir, session)
        log.info("Access token adopted for %s (device %s)", session.user_id, session.device_id)

    async def first_sync(self) -> None:
        """Catch up on state. With no stored token, history is skipped: the bot never answers the past.
        What the catch-up brings, and what the previous run left pending, waits in the inbox until
        start_handling()."""
        on_event(self.client, self._guarded(self._on_invite), InviteMemberEvent)
        # First: the events this sync brought are recorded before anything else reacts to it.
        on_response(self.client, self._end_of_sync, SyncResponse)
        on_response(self.client, self._check_new_rooms, SyncResponse)
        on_response(self.client, self._watch_rights, SyncResponse)
        # Before any sync: a key arriving in the catch-up sync may be the one a kept event waits for.
        on_to_device(self.client, self._on_room_key, (RoomKeyEvent, ForwardedRoomKeyEvent))
        fresh = self.client.loaded_sync_token is None
        if fresh:
            answer = await self.client.sync(timeout=0, full_state=True, sync_filter=SYNC_FILTER)
            if isinstance(answer, SyncError):
                raise self._startup_sync_error(answer)
            self.metrics.sync_succeeded()
            self.inbox.end_of_sync(answer.next_batch)
            log.info("First start: %d rooms, history skipped", len(self.client.rooms))
        # Memberships go through the inbox too, in order with messages: a member refusing the direct
        # chat a command is opening is handled once that command's messages wait for them. From here
        # on only: a first start neither answers nor introduces itself for the account's past.
        # UnknownEvent: poll responses (bot/polls.py), in encrypted rooms too once decrypted; _receive
        # lets no other unknown event in.
        on_event(
            self.client,
            self._receive,
            (RoomMessageText, ReactionEvent, RedactionEvent, MegolmEvent, RoomMemberEvent, UnknownEvent),
        )
        if not fresh:
            # Resume from the stored token: what was said while the bot was down is handled now, once;
            # a join it missed (an invitation accepted just before a stop) is introduced.
            answer = await self.client.sync(
                timeout=0, full_state=True, sync_filter=SYNC_FILTER, since=self.client.loaded_sync_token
            )
            if isinstance(answer, SyncError):
                raise self._startup_sync_error(answer)
            self.metrics.sync_succeeded()
            await self._end_of_sync(answer)
        await self.directory.apply_config()
        self._check_soon(list(self.client.rooms))

    async def start_handling(self) -> None:
        """Handles what the previous run left pending, what the catch-up brought, then what comes."""
        await self.inbox.recover()
        self.inbox.start(self._handle)

    async def stop_handling(self) -> None:
        """Lets the event in hand finish (bounded); the rest stays pending for the next start. A join
        still being asked again is given up (the inviter can invite again)."""
        for task in list(self._joins):
            task.cancel()
        await self.inbox.stop()

    def _startup_sync_error(self, answer: SyncError) -> StartupError:
        failure = sync_failure(answer, self.config.data_dir, with_token=self.config.matrix.uses_access_token)
        return failure if isinstance(failure, StartupError) else StartupError(str(failure))

    async def sync_forever(self) -> None:
        # nio's loop asks again at once after an error answer, forever: raising hands the error to
        # sync_until_cancelled, which waits longer each time, and gives up on a revoked session.
        on_response(self.client, self._on_sync_error, SyncError)
        on_response(self.client, self._on_sync, SyncResponse)
        await sync_until_cancelled(
            self.client, give_up_on=(SessionRevoked,), timeout=30000, sync_filter=SYNC_FILTER, full_state=False
        )

    async def _on_sync_error(self, answer: SyncError) -> None:
        self.metrics.sync_failures.inc()
        raise sync_failure(answer, self.config.data_dir, with_token=self.config.matrix.uses_access_token)

    async def _on_sync(self, answer: SyncResponse) -> None:
        self.metrics.sync_succeeded()
        self.inbox.homeserver_back()

    async def _end_of_sync(self, answer: SyncResponse) -> None:
        self.inbox.end_of_sync(answer.next_batch, await self.gaps.missed(answer))

    async def _watch_rights(self, response: SyncResponse) -> None:
        """A member or power-level change in the facilitators' room may take someone's rights away:
        those who lost them are told to whoever holds their sessions (the board closes them)."""
        if not self.rights_changed:
            return
        touched = [
            room_id
            for room_id, info in response.rooms.join.items()
            if any(
                isinstance(event, (RoomMemberEvent, PowerLevelsEvent)) for event in (*info.state, *info.timeline.events)
            )
        ]
        touched += list(response.rooms.leave)
        try:
            if touched and self.directory.facilitators_room() in touched:
                for callback in self.rights_changed:
                    await callback()
        except Exception:
            log.exception("Checking facilitators' rights after a change failed")

    async def _count_rate_limit(self, answer: ErrorResponse) -> None:
        if answer.status_code in ("M_LIMIT_EXCEEDED", 429):
            self.metrics.rate_limited.inc()

    # --- callbacks -----------------------------------------------------------------------

    def _guarded(
        self, callback: Callable[[MatrixRoom, EventT], Awaitable[None]]
    ) -> Callable[[MatrixRoom, EventT], Awaitable[None]]:
        # An exception escaping a nio callback stops sync_forever: nothing may escape.
        async def run(room: MatrixRoom, event: EventT) -> None:
            try:
                await callback(room, event)
            except Exception:
                log.exception("Callback %s failed on %s", callback.__name__, getattr(event, "event_id", "?"))

        run.__name__ = callback.__name__
        return run

    async def _on_invite(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key != self.client.user_id or event.membership != "invite":
            return
        if room.room_id in self._invites_seen:
            return
        self._invites_seen.add(room.room_id)
        if inviter_allowed(self.config, event.sender):
            if event.content.get("is_direct"):
                await self.direct_chats.adopt(room.room_id, event.sender)
            # Off the sync: a join may be tried again for a while, and the sync goes on meanwhile.
            _run_kept(self._joins, self._join(room.room_id, event.sender))
        else:
            log.info("Declined invite to %s from %s (not in access.allowed_inviters)", room.room_id, event.sender)
            await self.client.room_leave(room.room_id)

    async def _join(self, room_id: str, inviter: str) -> None:
        """Joins on an invitation. From another homeserver, ours may show the invitation before the
        inviter's has stored it, and the join is refused (403) for a moment: asked again for a while."""
        remote = inviter.partition(":")[2] != self.client.user_id.partition(":")[2]
        loop = asyncio.get_running_loop()
        deadline, wait = loop.time() + JOIN_RETRY_SECONDS, JOIN_FIRST_WAIT
        while True:
            answer = await self.client.join(room_id)
            if not isinstance(answer, JoinError):
                log.info("Joined %s on invite from %s", room_id, inviter)
                return
            if not (remote and answer.status_code == "M_FORBIDDEN") or loop.time() + wait > deadline:
                log.warning("Could not join %s: %s", room_id, answer.message)
                return
            await asyncio.sleep(wait)
            wait = min(2 * wait, JOIN_LONGEST_WAIT)

    async def _message(self, room: MatrixRoom, event: RoomMessageText, work: UnitOfWork) -> Message:
        content = event.source.get("content", {})
        where = relations(content)
        # The one place member text comes in: every handler reads it normalised.
        body = without_reply_fallback(normalise_input(event.body or ""), content).strip()
        # The room is looked up once per message, with what tells whether it is meant for the bot.
        record, replies_to_bot, in_bot_thread = await work(
            _message_context, room.room_id, where.in_reply_to, where.thread_root
        )
        info = self.directory.info_from(room.room_id, record)
        display_name = room.user_name(self.client.user_id)
        addressed = self.addressing.is_addressed(
            body,
            content,
            display_name=display_name,
            is_direct=info.is_direct,
            replies_to_bot=replies_to_bot,
            in_bot_thread=in_bot_thread,
        )
        if addressed:
            body = strip_call(body, self.addressing.names(display_name))
        return Message(
            room=info,
            event_id=event.event_id,
            sender=event.sender,
            body=body,
            thread_root=where.thread_root,
            in_reply_to=where.in_reply_to,
            addressed=addressed,
        )

    async def _receive(self, room: MatrixRoom, event: Event) -> None:
        """From the sync: into the inbox, to be handled once recorded (bot/inbox.py). The bot's own
        events are not, but its own joins (its introduction follows one)."""
        if isinstance(event, UnknownEvent) and not is_poll_response(event):
            return
        if isinstance(event, RoomMemberEvent) or event.sender != self.client.user_id:
            self.inbox.receive(room, event)

    async def _handle(self, arrival: Arrival, work: UnitOfWork) -> None:
        """One event from the inbox, in its unit of work. A database or homeserver that does not answer
        raises: the inbox tries it again later."""
        room, event = arrival.room, arrival.event
        if isinstance(event, RoomMessageText):
            message = await self._message(room, event, work)
            await self.warn_if_unencrypted(room.room_id, message.room, work)
            # From the sender's homeserver to us: how far behind the sync (or a restart's catch-up) runs.
            self.metrics.event_lag.observe(max(0.0, self.metrics.clock() - event.server_timestamp / 1000))
            # Only a facilitator's !salon can name another facilitators' room, which rights are read from:
            # read again after a facilitator's message only, not after every member's.
            facilitator = self.directory.is_facilitator(message.sender)
            await self.dispatcher.on_message(message, work)
            if facilitator:
                await self.directory.refresh(work)
        elif isinstance(event, ReactionEvent):
            info = await self.directory.info(room.room_id, work)
            await self.dispatcher.on_reaction(info, event.event_id, event.sender, event.key, event.reacts_to, work)
        elif isinstance(event, RedactionEvent):
            info = await self.directory.info(room.room_id, work)
            await self.dispatcher.on_redaction(info, event.event_id, event.sender, event.redacts, work)
        elif isinstance(event, RoomMemberEvent):
            await self._on_membership(room, event)
        elif isinstance(event, UnknownEvent):
            response = read_response(event.type, event.source.get("content", {}))
            if response is not None:
                info = await self.directory.info(room.room_id, work)
                await self.dispatcher.on_poll_vote(
                    info, event.event_id, event.sender, response.answers, response.poll_event_id, work
                )
        elif isinstance(event, MegolmEvent):
            await self.late_keys.on_undecryptable(room, event, work)

    async def _on_membership(self, room: MatrixRoom, event: RoomMemberEvent) -> None:
        """A member joining the direct chat the bot opened gets what waited for them; refusing it is said.
        The bot's own join on an invitation is when it introduces itself."""
        if event.state_key == self.client.user_id:
            # Only an accepted invitation: a room the bot created (a direct chat it opens to say
            # something) is joined from no invitation, and its first message is that something.
            if event.membership == "join" and event.prev_membership == "invite":
                _run_kept(self._introductions, self._introduce(room.room_id))
            return
        member = self.direct_chats.member_of(room.room_id)
        if member is None or event.state_key != member:
            return
        if event.membership == "join":
            self.sender.flush_soon(room.room_id)
        elif event.membership in ("leave", "ban") and event.prev_membership in ("invite", "join"):
            await self.sender.member_declined(room.room_id)

    async def _introduce(self, room_id: str) -> None:
        """Once per room, ever: the database knows every message the bot sent, its introduction too.
        Off the sync callback, since the members' device keys may take a moment to come."""
        try:
            if await self.units.run(sent_in_room_with_tag, room_id, INTRODUCTION_TAG):
                return
            room = self.client.rooms.get(room_id)
            name = room.user_name(self.client.user_id) if room else None
            await self.sender.know_devices(room_id)
            await self.post(introduction(await self.directory.info(room_id), name or self.client.user_id))
        except Exception:
            log.exception("Introduction in %s failed", room_id)

    async def _on_undecryptable(self, room: MatrixRoom, event: MegolmEvent) -> None:
        await self.late_keys.on_undecryptable(room, event)

    async def _on_room_key(self, event: RoomKeyEvent | ForwardedRoomKeyEvent) -> None:
        # A to-device callback, outside _guarded's (room, event) shape: nothing may escape it either.
        try:
            await self.late_keys.on_room_key(event)
        except Exception:
            log.exception("Room key callback failed for session %s", event.session_id)

    # --- confidentiality -------------------------------------------------------------------

    async def _check_new_rooms(self, response: SyncResponse) -> None:
        self._check_soon([r for r in response.rooms.join if r not in self._rooms_checked])

    def _check_soon(self, room_ids: list[str]) -> None:
        """Checks these rooms off the sync: a peer group's alert goes to the facilitators' room, which a
        later sync may bring (two invitations accepted a moment apart); awaited in a sync's callback, the
        wait held that very sync, and the alert was dropped after ROOM_APPEAR_SECONDS."""
        if not room_ids:
            return
        self._rooms_checked.update(room_ids)
        _run_kept(self._room_checks, self._check_rooms(room_ids))

    async def rooms_checked(self, timeout: float) -> None:
        """Waits (at most `timeout`) for the room checks under way: for tests, which read what they said."""
        if self._room_checks:
            await asyncio.wait(set(self._room_checks), timeout=timeout)

    async def _check_rooms(self, room_ids: list[str]) -> None:
        for room_id in room_ids:
            try:
                await self.directory.remember_creator(room_id)
                await self.warn_if_unencrypted(room_id)
            except Exception:
                log.exception("Checking room %s failed", room_id)

    async def warn_if_unencrypted(
        self, room_id: str, info: RoomInfo | None = None, work: UnitOfWork | None = None
    ) -> None:
        """`info`: the room as already looked up for the event in hand, `work` its unit."""
        info = info or await self.directory.info(room_id, work)
        if info.kind != "peer_group" or info.encrypted or room_id not in self.client.rooms:
            return
        if not await self.directory.mark_warned_unencrypted(room_id, work):
            return
        await self.post(
            Reply(
                to=Post(room_id),
                template="rooms/unencrypted_warning.md.j2",
                context={"name": info.name},
                txn_key=f"unencrypted-{room_id}",
            )
        )
        facilitators = self.directory.facilitators_room()
        if facilitators:
            await self.post(
                Reply(
                    to=Post(facilitators),
                    template="rooms/unencrypted_alert.md.j2",
                    context={"name": info.name},
                    txn_key=f"unencrypted-alert-{room_id}",
                )
            )


def _run_kept(tasks: set[asyncio.Task], work: Coroutine[Any, Any, None]) -> None:
    """Runs `work` off the caller, kept in `tasks` while it runs (asyncio holds only a weak reference
    to a task, and the set tells what is still under way)."""
    task = asyncio.create_task(work)
    tasks.add(task)
    task.add_done_callback(tasks.discard)


def _message_context(
    session: Session, room_id: str, in_reply_to: str | None, thread_root: str | None
) -> tuple[RoomRecord | None, bool, bool]:
    """The room's record, whether the message replies to the bot, whether it is in a thread the bot is in."""
    return (
        session.get(RoomRecord, room_id),
        bool(in_reply_to and is_bot_message(session, in_reply_to)),
        bool(thread_root and bot_in_thread(session, room_id, thread_root)),
    )
