"""`hotline sandbox`: the real bot against the built-in Telegram emulator, with a web chat page.

Everything runs in one process on one port: the Bot API emulator (under `/bot…`, `/file/bot…`
and `/_emulator/…`), the sandbox page (`/`, `/sandbox/…`) and the service routes of `hotline run`
(`/healthz`, …). The bot polls the emulator over loopback HTTP exactly as it polls Telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import logging
import signal
import socket
import sys
import time
from datetime import datetime
from types import TracebackType
from typing import Any

from aiohttp import web

from bot.app import HotlineApp
from bot.channels.emulator import MAX_UPLOAD_BYTES, TelegramEmulator
from bot.channels.zalo_emulator import ZaloEmulator
from bot.config import Config, StorageConfig, TelegramConfig, WebConfig, ZaloConfig, ZaloOAConfig
from bot.demo_data import DEMO_DOSSIERS, demo_rows, seed_demo
from bot.inbox import Clock, system_clock
from bot.web import sandbox_page
from bot.web.console import add_console
from bot.web.sandbox_page import ZALO_API, DemoHint, SandboxChat, ZaloSandboxChats
from bot.web.server import HOTLINE_APP
from storage.db import Database

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILURE = 0, 1
SANDBOX_TOKEN = "1022000000:sandbox-offline-token"
BOT_USERNAME = "hotline_sandbox_bot"
# At stop, open pages still hold history long-polls: cut them short rather than wait them out.
SHUTDOWN_GRACE_SECONDS = 0.25

# Fixed ids, so tickets filed in one run still belong to the same chats after a restart.
CITIZEN_USER_ID = 10_001
CITIZEN_NAME = "Nguyễn Văn An"
CITIZEN_PHONE = "0912345678"
OPERATORS_CHAT_ID = -100_001
OPERATOR_USER_ID = 20_001
OPERATOR_NAME = "Trần Thị Bình"
LEADERS_CHAT_ID = -100_002
LEADER_USER_ID = 20_002
LEADER_NAME = "Lê Minh Châu"
AGENCY_CHAT_BASE = -100_100
AGENCY_USER_BASE = 30_000
# --- a citizen on Zalo, through the Official Account (issue 11) ---
ZALO_CITIZEN_USER_ID = 8_400_000_001
ZALO_CITIZEN_NAME = "Trần Thị Hoa"
ZALO_CITIZEN_PHONE = "0987654321"

# --- console (issue 8): the demo's console sign-ins (the sandbox answers on loopback only) ---
DEMO_CONSOLE_USERS = (
    ("tongdai", "operator", "tongdai-1022"),
    ("xaydung", "agency:xay-dung", "xaydung-1022"),
)

# Biên Hòa, Đồng Nai: the "share my location" button sends this point.
DEMO_LOCATION = (10.9574, 106.8427)
DEMO_LOCATION_LABEL = "Phường Trấn Biên, Biên Hòa"


def agency_chat_id(index: int) -> int:
    """Return the sandbox group id of the index-th agency of the directory."""
    return AGENCY_CHAT_BASE - index


def sandbox_chats(config: Config) -> tuple[SandboxChat, ...]:
    """Return the chats of the demo: the citizen, the operators, the leaders, every agency."""
    chats = [
        SandboxChat(
            chat_id=CITIZEN_USER_ID,
            title=CITIZEN_NAME,
            role="citizen",
            user_id=CITIZEN_USER_ID,
            user_name=CITIZEN_NAME,
            phone=CITIZEN_PHONE,
        ),
        SandboxChat(
            chat_id=ZALO_CITIZEN_USER_ID,
            title=f"{ZALO_CITIZEN_NAME} (Zalo)",
            role="citizen",
            user_id=ZALO_CITIZEN_USER_ID,
            user_name=ZALO_CITIZEN_NAME,
            phone=ZALO_CITIZEN_PHONE,
            channel="zalo_oa",
            api=ZALO_API,
        ),
        SandboxChat(
            chat_id=OPERATORS_CHAT_ID,
            title="Tổng đài viên",
            role="operators",
            user_id=OPERATOR_USER_ID,
            user_name=OPERATOR_NAME,
        ),
        SandboxChat(
            chat_id=LEADERS_CHAT_ID,
            title="Lãnh đạo UBND tỉnh",
            role="leaders",
            user_id=LEADER_USER_ID,
            user_name=LEADER_NAME,
        ),
    ]
    for index, agency in enumerate(config.agencies):
        chats.append(
            SandboxChat(
                chat_id=agency_chat_id(index),
                title=agency.name,
                role="agency",
                user_id=AGENCY_USER_BASE + index,
                user_name=f"Cán bộ {agency.name}",
                agency_id=agency.id,
            )
        )
    return tuple(chats)


def connect_host(host: str) -> str:
    """Return the host part of a URL that reaches a server listening on `host` from here."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    return f"[{address}]" if address.version == 6 else host


def sandbox_config(config: Config, *, host: str, port: int, database: str) -> Config:
    """Wire `config` to the emulator served at host:port and to the demo's SQLite file."""
    server = f"http://{connect_host(host)}:{port}"
    telegram = TelegramConfig(
        token=SANDBOX_TOKEN,
        base_url=server + "/bot",
        base_file_url=server + "/file/bot",
        mode="polling",
        operators_chat_id=OPERATORS_CHAT_ID,
        leaders_chat_id=LEADERS_CHAT_ID,
    )
    agencies = tuple(
        dataclasses.replace(agency, telegram_chat_id=agency_chat_id(index), zalo_chat_id=None)
        for index, agency in enumerate(config.agencies)
    )
    return dataclasses.replace(
        config,
        storage=StorageConfig(url=f"sqlite+aiosqlite:///{database}"),
        telegram=telegram,
        zalo=ZaloConfig(),  # the sandbox is offline: no Zalo
        web=WebConfig(host=host, port=port),
        agencies=agencies,
    )


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind a listening TCP socket (port 0 picks a free port) before anything needs its URL."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host or "0.0.0.0", port))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def is_loopback(host: str) -> bool:
    """Tell whether `host` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class PortUnavailable(OSError):
    """The sandbox's port cannot be bound."""


def situation_label(template: dict[str, Any]) -> str:
    """Describe in Vietnamese what a demo dossier shows (late, on time, done, apology)."""
    if template.get("completed_at") is not None:
        return "đã có kết quả"
    if template.get("apology_reason"):
        return "có phiếu xin lỗi, hẹn lại"
    if (template.get("due_at") or 0) < 0:
        return "trễ hạn"
    return "đang xử lý, đúng hạn"


async def seed_demo_dossiers(*, db: Database, config: Config, now: datetime) -> list[DemoHint]:
    """Upsert the demo dossiers; return how to look each one up (code, LAST4, situation)."""
    codes = set(await seed_demo(db=db, config=config, now=now))
    hints = []
    for template, row in zip(DEMO_DOSSIERS, demo_rows(config=config, now=now), strict=True):
        if row["code"] in codes:
            hints.append(
                DemoHint(
                    code=row["code"],
                    last4=row["applicant_id"][-4:],
                    label=situation_label(template),
                )
            )
    return hints


async def seed_console_users(*, db: Database, config: Config, now: datetime) -> None:
    """Create the demo's console users once (a later run keeps them as they are)."""
    from bot.domain import accounts
    from storage import console as console_store

    async with db.transaction() as session:
        for name, role, password in DEMO_CONSOLE_USERS:
            if config.agency(role.partition(":")[2]) is None and role.startswith("agency:"):
                continue  # a directory without that agency: no demo agency user
            if await console_store.get_user_by_name(session=session, name=name) is None:
                await accounts.add_user(
                    session=session,
                    config=config,
                    name=name,
                    role=role,
                    password=password,
                    now=now,
                )


class Sandbox:
    """The running demo: emulator, bot, database and page on one port.

    `async with Sandbox(config, host=..., port=0, database=...) as sandbox:` then open
    `sandbox.url`. Port 0 picks a free port.
    """

    def __init__(
        self,
        config: Config,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        database: str = "sandbox.db",
        clock: Clock = system_clock,
    ) -> None:
        self.base_config = config
        self.host = host
        self.requested_port = port
        self.database = database
        self.clock = clock
        self.port = port
        self.config: Config | None = None
        self.emulator: TelegramEmulator | None = None
        self.zalo: ZaloEmulator | None = None
        self.hotline: HotlineApp | None = None
        self.chats: tuple[SandboxChat, ...] = ()
        self.hints: list[DemoHint] = []
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> Sandbox:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """Return the address of the sandbox page."""
        return f"http://{connect_host(self.host)}:{self.port}/"

    async def start(self) -> None:
        """Bind the port, start the emulator and the page, then the bot, then seed the demo."""
        try:
            sock = bind_socket(self.host, self.requested_port)
        except OSError as exc:
            raise PortUnavailable(exc.errno, exc.strerror) from exc
        try:
            page = await self._serve(sock)
        except BaseException:
            sock.close()
            raise
        hotline = self.hotline
        config = self.config
        assert hotline is not None and config is not None
        await hotline.start()
        self.hints = await seed_demo_dossiers(db=hotline.db, config=config, now=self.clock())
        await seed_console_users(db=hotline.db, config=config, now=self.clock())
        page.set_hints(self.hints)
        log.info("sandbox ready at %s (database %s)", self.url, self.database)

    async def _serve(self, sock: socket.socket) -> sandbox_page.SandboxPage:
        """Register the demo chats and serve the page and the emulator on `sock`."""
        self.port = int(sock.getsockname()[1])
        config = sandbox_config(
            self.base_config, host=self.host, port=self.port, database=self.database
        )
        self.config = config
        self.chats = sandbox_chats(config)
        # Update ids only grow across runs: the inbox skips ids it has already processed.
        emulator = TelegramEmulator(
            SANDBOX_TOKEN,
            bot_username=BOT_USERNAME,
            bot_first_name=f"Tổng đài {config.hotline.phone}",
            first_update_id=int(time.time() * 1000),
        )
        self.emulator = emulator
        await self._register_chats(emulator)
        config = self.config = await self._start_zalo(config)

        hotline = HotlineApp(config, clock=self.clock, web_app=web.Application(), serve_web=False)
        self.hotline = hotline
        page = sandbox_page.SandboxPage(
            emulator=emulator,
            chats=self.chats,
            bot_name=emulator.bot_first_name,
            hotline_name=config.hotline.name,
            demo_location=DEMO_LOCATION,
            demo_location_label=DEMO_LOCATION_LABEL,
            zalo=ZaloSandboxChats(self.zalo, self.chats) if self.zalo is not None else None,
        )
        app = web.Application(
            client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024,
            middlewares=[sandbox_page.make_guard(loopback_only=is_loopback(self.host))],
        )
        app[HOTLINE_APP] = hotline
        page.add_routes(app)
        # The console on the page's own app: the fallback below passes no route parameters.
        add_console(app, hotline)  # console (issue 8)
        emulator.attach_to(app, server_url=config.telegram.base_url.removesuffix("/bot"))
        # Last: anything else goes to the service routes `hotline run` serves (/healthz, …).
        page.add_fallback(app, hotline.web_app)

        # The web server must answer before the bot starts: PTB calls getMe on start.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE_SECONDS)
        self._runner = runner
        await runner.setup()
        await web.SockSite(runner, sock).start()
        return page

    async def _register_chats(self, emulator: TelegramEmulator) -> None:
        for chat in self.chats:
            if chat.channel != "telegram":
                continue  # the Zalo citizen lives in the Zalo emulator (issue 11)
            if chat.role == "citizen":
                await emulator.register_private_chat(
                    chat.user_id, chat.user_name, username="nguyenvanan", language_code="vi"
                )
            else:
                await emulator.register_private_chat(
                    chat.user_id, chat.user_name, language_code="vi", started=False
                )
                await emulator.register_group(chat.chat_id, chat.title, members=[chat.user_id])

    async def _start_zalo(self, config: Config) -> Config:
        """Start the Zalo emulator (its own loopback port) and wire the bot's OA channel to it."""
        zalo = ZaloEmulator()
        await zalo.start()
        self.zalo = zalo
        for chat in self.chats:
            if chat.channel == "zalo_oa":
                zalo.register_follower(str(chat.chat_id), chat.user_name)
        zalo.oa_webhook_url = f"http://{connect_host(self.host)}:{self.port}/zalo-oa/webhook"
        oa = ZaloOAConfig(**zalo.oa_settings())
        return dataclasses.replace(config, zalo_oa=oa)

    async def stop(self) -> None:
        """Stop the bot first (its last getUpdates needs the emulator), then the server."""
        hotline, self.hotline = self.hotline, None
        if hotline is not None:
            await hotline.stop()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        zalo, self.zalo = self.zalo, None
        if zalo is not None:
            await zalo.stop()


def _banner(sandbox: Sandbox) -> str:
    lines = [
        "",
        "  Hotline sandbox: the bot, a Telegram emulator and demo data, offline.",
        f"  Open {sandbox.url} in a browser.",
        f"  Database: {sandbox.database}  ·  Press Ctrl+C to stop.",
        f"  Web console: {sandbox.url}console/ ; sign in as:",
        *(f"    {name} / {password}  ({role})" for name, role, password in DEMO_CONSOLE_USERS),
        "",
    ]
    if not is_loopback(sandbox.host):
        lines.insert(
            -1,
            "  Warning: listening beyond this machine; the demo page has no login.",
        )
    return "\n".join(lines) + "\n"


async def run_sandbox(config: Config, *, host: str, port: int, database: str) -> int:
    """Run the sandbox until SIGINT or SIGTERM; return the exit status."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        try:
            sandbox = Sandbox(config, host=host, port=port, database=database)
            async with sandbox:
                sys.stdout.write(_banner(sandbox))
                sys.stdout.flush()
                await stop.wait()
                sys.stdout.write("  Stopping…\n")
                sys.stdout.flush()
        except PortUnavailable as exc:
            sys.stderr.write(
                f"hotline sandbox: cannot listen on {host}:{port}: {exc.strerror or exc}"
                " (try another --port)\n"
            )
            return EXIT_FAILURE
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
    return EXIT_OK
