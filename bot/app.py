"""The one place that wires: database, classifier, inbox, outbox, channels, web server."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import mimetypes
from datetime import timedelta
from types import TracebackType
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.channels import telegram as telegram_channel
from bot.channels import zalo as zalo_channel
from bot.channels import zalo_oa as zalo_oa_channel
from bot.config import Config
from bot.domain.triage import Classifier
from bot.evidence import (
    Downloader,
    EvidenceLinks,
    EvidenceRef,
    EvidenceTooLarge,
    EvidenceUnavailable,
    is_url,
)
from bot.inbox import Clock, Inbox, system_clock
from bot.learned_store import LearnedRefresher
from bot.metrics import Metrics
from bot.outbox import OutboxWorker, Sender
from bot.sole_poller import SolePoller
from bot.sweeper import Sweeper
from bot.web.server import build_web_app
from storage.db import Database
from storage.directory import sync_directory
from storage.poller_lock import PollerLock

log = logging.getLogger(__name__)
# Telegram's most (its default is 40): the webhook requests in flight at once are what the
# intake takes in one transaction, so more of them at once is more updates per commit.
WEBHOOK_MAX_CONNECTIONS = 100


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
        # --- Zalo Official Account and evidence across channels (issue 11) ---
        self.zalo_oa: zalo_oa_channel.ZaloOAChannel | None = None
        self.evidence_links = evidence_links(config)
        self.downloader = Downloader(config.evidence.max_bytes)
        self.outbox.on_held = self._record_held
        # --- metrics (issue 9): counters on the hot path, gauges read at scrape time ---
        self.metrics = Metrics()
        self.inbox.metrics = self.outbox.metrics = self.metrics
        self.web_app = web_app if web_app is not None else web.Application()
        self.serve_web = serve_web
        self._runner: web.AppRunner | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.telegram_intake: telegram_channel.TelegramIntake | None = None
        self._intake_task: asyncio.Task[None] | None = None
        self.telegram_poller: SolePoller | None = None
        self._stopping: asyncio.Task[None] | None = None
        self.started = False  # every part is running (`start()` returned)

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
            # Requests in flight get a few seconds to finish when stopping.
            self._runner = web.AppRunner(self.web_app, access_log=None, shutdown_timeout=5.0)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.config.web.host, self.config.web.port)
            await site.start()
            log.info("web server on http://%s:%s/", self.config.web.host, self.config.web.port)
        if self.config.telegram.enabled:
            await self._start_telegram()
        if self.config.zalo.enabled:
            await self._start_zalo()
        if self.config.zalo_oa.enabled:
            await self._start_zalo_oa()
        self._tasks.append(asyncio.create_task(self.outbox.run(self._stop), name="outbox"))
        self._tasks.append(asyncio.create_task(self.sweeper.run(self._stop), name="sweeper"))
        self.started = True

    async def _start_telegram(self) -> None:
        application = telegram_channel.build_application(self.config.telegram)
        try:
            await application.initialize()
        except BaseException:  # a Bot API error, or a signal cancelling the start
            await telegram_channel.close_transports(application)
            raise
        self.telegram = application
        intake = telegram_channel.TelegramIntake(application, self.inbox.handle_batch)
        self.telegram_intake = intake
        self.senders["telegram"] = telegram_channel.TelegramSender(application, self.downloader)
        with contextlib.suppress(Exception):
            await telegram_channel.set_commands(
                application, telegram_channel.TelegramChats.of(self.config)
            )
        if self.config.telegram.mode == "webhook":
            await application.bot.set_webhook(
                self.config.telegram.webhook_url,
                secret_token=self.config.telegram.secret_token or None,
                max_connections=WEBHOOK_MAX_CONNECTIONS,
                allowed_updates=Update.ALL_TYPES,
            )
        else:
            await application.bot.delete_webhook()
            # Of several instances on one database, one polls; the others stand by.
            self.telegram_poller = SolePoller(PollerLock(self.db, "telegram"), intake.poll)
            self._intake_task = asyncio.create_task(
                self.telegram_poller.run(self._stop), name="telegram-poll"
            )
        log.info("telegram channel started (%s)", self.config.telegram.mode)

    async def _start_zalo(self) -> None:
        channel = zalo_channel.ZaloChannel(
            self.config.zalo,
            db=self.db,
            handle=self.inbox.handle,
            clock=self.clock,
            links=self.evidence_links,
        )
        try:
            await channel.start()
        except BaseException:
            await channel.stop()
            raise
        self.zalo = channel
        self.senders["zalo"] = channel.sender

    async def stop(self) -> None:
        """Stop every part; queued messages stay in the outbox for the next start.

        In order: take no new update (the batch in hand and the webhook requests in flight
        finish), let the sends on the wire finish and give the other claims back, then close
        the transports and the database. Safe to call more than once, and from a signal.
        """
        if self._stopping is None:
            self._stopping = asyncio.create_task(self._stop_everything(), name="stop")
        await asyncio.shield(self._stopping)

    async def _stop_everything(self) -> None:
        self._stop.set()
        if self._intake_task is not None:
            await _bounded(self._intake_task, "telegram intake", 8.0)
            self._intake_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.zalo is not None:
            await self.zalo.stop()
            self.zalo = None
        if self.zalo_oa is not None:
            await self.zalo_oa.stop()
            self.zalo_oa = None
        self.outbox.stop_sending()
        for task in self._tasks:
            await _bounded(task, task.get_name(), 8.0)
        self._tasks.clear()
        if self.telegram is not None:
            await self.telegram.shutdown()
            self.telegram = None
        await self.downloader.close()
        await self.db.dispose()

    # --- Zalo Official Account and evidence across channels (issue 11) ---
    async def _start_zalo_oa(self) -> None:
        channel = zalo_oa_channel.ZaloOAChannel(
            self.config,
            db=self.db,
            handle=self.inbox.handle,
            clock=self.clock,
            links=self.evidence_links,
            on_released=self.outbox.wake,
        )
        await channel.start()
        self.zalo_oa = channel
        self.senders[zalo_oa_channel.CHANNEL] = channel.sender

    async def _record_held(self, session: Any, row: Any, now: Any) -> None:
        await zalo_oa_channel.record_held(session, row, now, self.config)

    async def fetch_evidence(self, ref: EvidenceRef) -> tuple[bytes, str]:
        """Fetch the file a signed link points at: from Telegram, or by its URL."""
        if is_url(ref.file_id):
            download = await self.downloader.fetch(ref.file_id, ref.file_name)
            return download.data, download.content_type
        if ref.channel != "telegram" or self.telegram is None:
            raise EvidenceUnavailable(f"no {ref.channel} channel to fetch the file from")
        file = await self.telegram.bot.get_file(ref.file_id)
        if (file.file_size or 0) > self.config.evidence.max_bytes:
            raise EvidenceTooLarge(f"{file.file_size} bytes")
        data = bytes(await file.download_as_bytearray())
        guessed = mimetypes.guess_type(ref.file_name or file.file_path or "")[0]
        return data, guessed or (
            "image/jpeg" if ref.kind == "photo" else "application/octet-stream"
        )

    def pollers(self) -> dict[str, SolePoller]:
        """The channels this instance serves by polling, each with its turn-taking poller."""
        found = {"telegram": self.telegram_poller}
        if self.zalo is not None:
            found[zalo_channel.CHANNEL] = self.zalo.poller
        return {channel: poller for channel, poller in found.items() if poller is not None}

    async def wait_until_stopped(self) -> None:
        """Block until `stop()` is called (or the task is cancelled)."""
        await self._stop.wait()


# --- Zalo Official Account and evidence across channels (issue 11) ---
def evidence_links(config: Config) -> EvidenceLinks:
    """Build the signer of file links from the config (a key derived if none is set)."""
    key = config.evidence.signing_key
    if not key:
        # Stable across instances that share the config; changes when the secrets do.
        seed = "\0".join(
            (
                "hotline-evidence",
                config.telegram.token,
                config.zalo.token,
                config.zalo_oa.secret_key,
            )
        )
        key = hashlib.sha256(seed.encode()).hexdigest()
    host = config.web.host if config.web.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
    public = config.evidence.public_url or f"http://{host}:{config.web.port}"
    return EvidenceLinks(key.encode(), public, timedelta(hours=config.evidence.link_hours))


async def _bounded(task: asyncio.Task[None], name: str, seconds: float) -> None:
    """Wait for a part to finish on its own; cancel it if it takes longer than `seconds`."""
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=seconds)
    except TimeoutError:
        log.warning("%s did not stop within %.0f s; cancelled", name, seconds)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    except Exception:
        log.exception("%s failed while stopping", name)
