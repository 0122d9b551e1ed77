"""The one place that builds everything: config → database → Matrix client → handlers → scheduler.

Nothing else creates long-lived objects; they are passed in from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiohttp import ClientError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from prometheus_client import CollectorRegistry

from bot.board.auth import Auth
from bot.board.context import BoardContext
from bot.board.server import BoardServer
from bot.cross_signing import CrossSigning, CrossSigningError
from bot.direct_chats import DirectChats
from bot.dispatcher import Dispatcher
from bot.inbox import Inbox
from bot.instance_lock import InstanceLock
from bot.late_keys import SWEEP_SECONDS, LateKeys
from bot.matrix_bot import MatrixBot, StartupError
from bot.matrix_client import BotClient, build_client
from bot.metrics_server import MetricsServer
from bot.rendering import Renderer, build_template_environment
from bot.room_directory import RoomDirectory
from bot.sender import Sender
from bot.throttle import Throttle
from bot.timeline_gaps import TimelineGaps
from config import Config
from handlers import agenda, board, deposits, personal_data, questions
from handlers import help as help_handlers
from handlers import rooms as room_handlers
from handlers.agenda import ReminderService
from handlers.board import LoginLinks
from handlers.context import Services, system_clock
from handlers.deposits import check_idle_drafts
from handlers.deposits.form import load_form
from handlers.metrics import Metrics
from handlers.registry import CommandRegistry
from handlers.retention import RetentionJob
from knowledge.embedders import Embedder, configured_embedder
from knowledge.search import INDEX_FOLDER, SearchService
from storage.database import Database
from storage.files import owner_only_secret, secure_data_dir
from storage.unit_of_work import UnitsOfWork

log = logging.getLogger(__name__)


# How often unfinished deposit forms are checked for a reminder or abandonment.
IDLE_DRAFTS_MINUTES = 5
# The key that signs the board's login links, made once, owner-only in data_dir.
BOARD_SECRET_FILE = "board-secret"
# How often direct chats whose member has not joined are looked at (a join normally sends at once).
WAITING_DIRECT_SECONDS = 30


def build_registry(reminders: ReminderService, board_links: LoginLinks | None = None) -> CommandRegistry:
    registry = CommandRegistry()
    # Order matters for listeners: a form in progress owns its member's messages before anything else.
    help_handlers.register(registry)
    room_handlers.register(registry)
    # Its listener takes only answers to its own question, which a form in progress must not swallow.
    personal_data.register(registry)
    deposits.register(registry)
    agenda.register(registry, reminders)
    questions.register(registry, reminders)
    if board_links is not None:
        board.register(registry, board_links)
    return registry


@dataclass
class BotApp:
    config: Config
    db: Database
    # The one way the bot's event-loop code reaches the database (storage/unit_of_work.py).
    units: UnitsOfWork
    client: BotClient
    sender: Sender
    directory: RoomDirectory
    services: Services
    registry: CommandRegistry
    matrix: MatrixBot
    scheduler: AsyncIOScheduler
    lock: InstanceLock
    reminders: ReminderService
    cross_signing: CrossSigning
    late_keys: LateKeys
    metrics: Metrics
    # The daily retention purge ([retention]).
    retention: RetentionJob
    # None unless [metrics] listen is set.
    metrics_server: MetricsServer | None = None
    # None unless [board] listen is set.
    board_server: BoardServer | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        """Log in and catch up; after this the bot is ready to serve (used by run() and by tests)."""
        self.lock.acquire()
        # First: while the bot logs in and catches up, /healthz already answers (503, no sync yet).
        await self.start_metrics_server()
        self.db.create_all()
        await self.matrix.direct_chats.load()
        await self.start_search()
        await self.matrix.log_in()
        await self.sign_own_device()
        await self.matrix.first_sync()
        # Events kept unreadable before a stop whose key came meanwhile are handled now.
        await self.late_keys.sweep()
        await self.matrix.start_handling()
        await self.start_board_server()
        self.scheduler.start()
        self.scheduler.add_job(
            self.late_keys.sweep,
            "interval",
            seconds=SWEEP_SECONDS,
            id="late-keys",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
        await self.reminders.start(self.scheduler)
        await self.retention.start(self.scheduler)
        self.scheduler.add_job(
            self.post_idle_draft_reminders,
            "interval",
            minutes=IDLE_DRAFTS_MINUTES,
            id="idle-drafts",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
        wait = timedelta(minutes=self.config.bot.direct_chat_wait_minutes)
        self.scheduler.add_job(
            self.sender.service_pending,
            "interval",
            args=(wait,),
            seconds=min(WAITING_DIRECT_SECONDS, wait.total_seconds() / 2),
            id="waiting-direct-chats",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )

    async def start_metrics_server(self) -> None:
        if self.metrics_server is None:
            return
        try:
            await self.metrics_server.start()
        except OSError as error:
            raise StartupError(
                f"Impossible d'écouter sur {self.config.metrics.listen} (clé metrics.listen du "
                f"fichier {self.config.path}) : {error.strerror or error}"
            ) from None

    async def start_board_server(self) -> None:
        if self.board_server is None:
            return
        try:
            await self.board_server.start()
        except OSError as error:
            raise StartupError(
                f"Impossible d'écouter sur {self.config.board.listen} (clé board.listen du "
                f"fichier {self.config.path}) : {error.strerror or error}"
            ) from None

    async def sign_own_device(self) -> None:
        try:
            await self.cross_signing.ensure()
        except (TimeoutError, CrossSigningError, ClientError) as error:
            # The bot still serves; only members whose clients exclude unsigned devices cannot reach it.
            log.warning("Cross-signing not set up, the bot's device stays unsigned: %s", error)

    async def start_search(self) -> None:
        search = self.services.search
        if search is None:
            log.info("Search disabled (knowledge.enabled = false): no model loaded")
            return
        # Loading the model and indexing the pack are slow: they run off the event loop.
        report = await search.start(self.config.knowledge.paths)
        log.info("Search index ready: %s", report)

    async def post_idle_draft_reminders(self) -> None:
        for reply in await check_idle_drafts(self.services):
            await self.services.post(reply)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.stopping.set)
        try:
            await self.start()
            log.info("Ready as %s in %d rooms", self.config.matrix.user_id, len(self.client.rooms))
            sync = asyncio.create_task(self.matrix.sync_forever())
            stop = asyncio.create_task(self.stopping.wait())
            done, _ = await asyncio.wait({sync, stop}, return_when=asyncio.FIRST_COMPLETED)
            if sync in done:
                sync.result()  # surfaces why the sync loop ended
            log.info("Stopping: finishing the event in hand and pending sends")
            sync.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sync
        finally:
            await self.close()

    async def close(self) -> None:
        await self.matrix.stop_handling()
        await self.late_keys.drain()
        await self.sender.drain()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.board_server is not None:
            await self.board_server.stop()
        await self.client.close()
        if self.metrics_server is not None:
            await self.metrics_server.stop()
        # Every unit is closed by now (the handling, the sends and the board are stopped).
        self.units.close()
        self.db.close()
        self.lock.release()


def build_app(
    config: Config, *, embedder: Embedder | None = None, clock: Callable[[], datetime] = system_clock
) -> BotApp:
    """Everything the bot is made of, built once. `embedder`: one already loaded (tests share one);
    by default the configured one, loaded at start off the event loop. `clock`: the handlers' (tests
    move their own). A broken deposit form file
    raises FormError here, before anything starts."""
    # The bot keeps confidential deposits and its encryption keys in files it creates as it runs
    # (SQLite's -wal and -shm, nio's store, the session): born owner-only, none is readable by
    # others even for a moment, whatever umask the service manager or shell started us with.
    os.umask(0o077)
    # Before anything in the folder is opened: an older release left it readable by others.
    secure_data_dir(config.data_dir)
    db = Database.from_config(config)
    units = UnitsOfWork(db)
    client = build_client(config)
    metrics = Metrics(CollectorRegistry())
    renderer = Renderer(build_template_environment(config.bot.templates_dir), config.bot.command_prefix)
    directory = RoomDirectory(config, units, client)
    direct_chats = DirectChats(client, units, directory, Throttle(config.matrix.invite_interval_seconds))
    sender = Sender(client, renderer, units, directory, direct_chats, metrics)
    scheduler = AsyncIOScheduler(timezone=config.bot.tz)
    search = None
    if config.knowledge.enabled:
        search = SearchService(
            db,
            embedder or configured_embedder(config.knowledge),
            threshold=config.knowledge.threshold,
            top_k=config.knowledge.top_k,
            index_dir=config.data_dir / INDEX_FOLDER,
        )
    services = Services(
        config=config,
        units=units,
        bot_user_id=config.matrix.user_id,
        post=sender.post,
        clock=clock,
        scheduler=scheduler,
        direct_chats=direct_chats,
        search=search,
        deposit_form=load_form(config.deposits.form_path),
        metrics=metrics,
    )
    reminders = ReminderService(
        services, is_facilitator=directory.is_facilitator, resolve_alias=directory.resolve_alias
    )
    board_links = None
    if config.board.enabled:
        board_links = LoginLinks(
            owner_only_secret(config.data_dir / BOARD_SECRET_FILE), config.board.base_url, services.clock
        )
    registry = build_registry(reminders, board_links)
    dispatcher = Dispatcher(services, registry, sender.send_all, is_facilitator=directory.is_facilitator)
    inbox = Inbox(client, units, metrics)
    metrics.events_pending.set_function(lambda: inbox.pending)
    late_keys = LateKeys(client, units, sender.post, deliver=inbox.take, metrics=metrics)
    matrix = MatrixBot(
        config,
        client,
        directory,
        dispatcher,
        sender,
        direct_chats,
        late_keys,
        inbox,
        TimelineGaps(client, units, remembers=timedelta(days=config.retention.handled_events_days)),
        metrics,
        units=units,
    )
    app = BotApp(
        config=config,
        db=db,
        units=units,
        client=client,
        sender=sender,
        directory=directory,
        services=services,
        registry=registry,
        matrix=matrix,
        scheduler=scheduler,
        lock=InstanceLock(config.data_dir),
        reminders=reminders,
        cross_signing=CrossSigning(client, config.data_dir, config.matrix.password),
        late_keys=late_keys,
        metrics=metrics,
        retention=RetentionJob(services),
        metrics_server=MetricsServer(metrics, config.metrics, db) if config.metrics.enabled else None,
    )
    if board_links is not None:
        auth = Auth(units, board_links, config.board, directory.is_facilitator, services.clock)
        matrix.rights_changed.append(auth.close_lost_sessions)
        app.board_server = BoardServer(BoardContext(services, reminders, auth, renderer.env, renderer), config.board)
    return app
