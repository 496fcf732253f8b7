"""The one place that wires: database, classifier, inbox, outbox, channels, web server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from types import TracebackType
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot.channels import telegram as telegram_channel
from bot.channels import zalo as zalo_channel
from bot.config import Config
from bot.domain.triage import Classifier
from bot.inbox import Clock, Inbox, system_clock
from bot.learned_store import LearnedRefresher
from bot.outbox import OutboxWorker, Sender
from bot.sweeper import Sweeper
from bot.web.server import build_web_app
from storage.db import Database
from storage.directory import sync_directory

log = logging.getLogger(__name__)


def quiet_noisy_loggers() -> None:
    """Silence HTTP client logs that would print URLs carrying the bot token."""
    for name in ("httpx", "httpcore", "aiohttp.access", "telegram.ext.Updater"):
        logging.getLogger(name).setLevel(logging.WARNING)


class HotlineApp:
    """Everything `hotline run` serves, started and stopped together.

    `async with HotlineApp(config) as app:` migrates the database, syncs the directory, and
    starts the outbox, the configured channels and the web server; leaving stops them.
    """

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock = system_clock,
        web_app: web.Application | None = None,
        serve_web: bool = True,
    ) -> None:
        self.config = config
        self.clock = clock
        self.db = Database(config.storage.url)
        self.classifier = Classifier.from_config(config)
        # --- triage learning (issue 7): learned phrases reloaded without a restart ---
        self.learned = LearnedRefresher(self.classifier)
        self.senders: dict[str, Sender] = {}
        self.outbox = OutboxWorker(
            db=self.db,
            senders=self.senders,
            clock=clock,
            lease=timedelta(seconds=config.delivery.lease_seconds),
            max_attempts=config.delivery.max_attempts,
        )
        self.inbox = Inbox(
            db=self.db,
            config=config,
            classifier=self.classifier,
            clock=clock,
            on_queued=self.outbox.wake,
            learned=self.learned,
        )
        # The deadline sweeper (bot/sweeper.py): runs beside the outbox and wakes it.
        self.sweeper = Sweeper(db=self.db, config=config, clock=clock, on_queued=self.outbox.wake)
        self.telegram: Application[Any, Any, Any, Any, Any, Any] | None = None
        self.zalo: zalo_channel.ZaloChannel | None = None
        self.web_app = web_app if web_app is not None else web.Application()
        self.serve_web = serve_web
        self._runner: web.AppRunner | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> HotlineApp:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Prepare storage, then start every part (whatever started is stopped on failure)."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        quiet_noisy_loggers()
        await self.db.upgrade()
        async with self.db.transaction() as session:
            await sync_directory(session=session, config=self.config)
        build_web_app(self.web_app, self)
        if self.serve_web:
            # Serving first: a webhook must be reachable before Telegram is told about it.
            self._runner = web.AppRunner(self.web_app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.config.web.host, self.config.web.port)
            await site.start()
            log.info("web server on http://%s:%s/", self.config.web.host, self.config.web.port)
        if self.config.telegram.enabled:
            await self._start_telegram()
        if self.config.zalo.enabled:
            await self._start_zalo()
        self._tasks.append(asyncio.create_task(self.outbox.run(self._stop), name="outbox"))
        self._tasks.append(asyncio.create_task(self.sweeper.run(self._stop), name="sweeper"))

    async def _start_telegram(self) -> None:
        application = telegram_channel.build_application(self.config.telegram, self.inbox.handle)
        try:
            await application.initialize()
        except TelegramError:
            await telegram_channel.close_transports(application)
            raise
        await application.start()
        self.telegram = application
        self.senders["telegram"] = telegram_channel.TelegramSender(application)
        with contextlib.suppress(Exception):
            await telegram_channel.set_commands(application)
        if self.config.telegram.mode == "webhook":
            await application.bot.set_webhook(
                self.config.telegram.webhook_url,
                secret_token=self.config.telegram.secret_token or None,
                allowed_updates=Update.ALL_TYPES,
            )
        elif application.updater is not None:
            await application.updater.start_polling(
                poll_interval=0.0, timeout=20, allowed_updates=Update.ALL_TYPES
            )
        log.info("telegram channel started (%s)", self.config.telegram.mode)

    async def _start_zalo(self) -> None:
        channel = zalo_channel.ZaloChannel(
            self.config.zalo, db=self.db, handle=self.inbox.handle, clock=self.clock
        )
        try:
            await channel.start()
        except BaseException:
            await channel.stop()
            raise
        self.zalo = channel
        self.senders["zalo"] = channel.sender

    async def stop(self) -> None:
        """Stop every part; queued messages stay in the outbox for the next start."""
        self._stop.set()
        self.outbox.wake()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=10)
        self._tasks.clear()
        if self.telegram is not None:
            if self.telegram.updater is not None and self.telegram.updater.running:
                await self.telegram.updater.stop()
            await self.telegram.stop()
            await self.telegram.shutdown()
            self.telegram = None
        if self.zalo is not None:
            await self.zalo.stop()
            self.zalo = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.db.dispose()

    async def wait_until_stopped(self) -> None:
        """Block until `stop()` is called (or the task is cancelled)."""
        await self._stop.wait()
