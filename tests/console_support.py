"""Helpers for the console's tests: a running HotlineApp served by aiohttp's test server."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from bot.app import HotlineApp
from bot.config import Config, StorageConfig
from bot.domain import accounts, tickets
from bot.domain.tickets import Reporter
from storage.models import Ticket
from tests.harness import FakeClock
from tests.test_tickets import decision

PASSWORD = "mat-khau-rat-dai-2026"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@asynccontextmanager
async def console_app(
    base: Config, database_url: str, clock: FakeClock | None = None
) -> AsyncIterator[tuple[HotlineApp, TestServer]]:
    """Start the whole app (no chat channel) and serve its web routes on a free port."""
    config = replace(base, storage=StorageConfig(url=database_url))
    app = HotlineApp(config, clock=clock or FakeClock(), serve_web=False)
    async with app:
        server = TestServer(app.web_app)
        await server.start_server()
        try:
            yield app, server
        finally:
            await server.close()


async def add_user(app: HotlineApp, name: str, role: str, password: str = PASSWORD) -> None:
    """Create a console user."""
    async with app.db.transaction() as session:
        await accounts.add_user(
            session=session,
            config=app.config,
            name=name,
            role=role,
            password=password,
            now=app.clock(),
        )


async def seed_ticket(
    app: HotlineApp,
    *,
    text: str = "Đường vào xóm 3 có ổ gà rất nguy hiểm, nhờ tổng đài xem giúp",
    category: str = "khac",
    chat: str = "501",
    agency: str | None = None,
) -> Ticket:
    """File a ticket (into the triage queue, or routed to `agency`)."""
    async with app.db.transaction() as session:
        ticket = await tickets.open_ticket(
            session=session,
            config=app.config,
            reporter=Reporter("telegram", chat, chat, "vi", "Nguyễn Văn An", "0912345678"),
            text=text,
            decision=decision(category, "triage"),
            category_id=category,
            now=app.clock(),
        )
        if agency is not None:
            await tickets.route_ticket(
                session=session,
                config=app.config,
                ticket=ticket,
                agency_id=agency,
                user_id="seed",
                now=app.clock(),
            )
    return ticket


def csrf_of(html: str) -> str:
    """Return the first CSRF token of a page."""
    match = CSRF.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


async def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> ClientResponse:
    """Fill and send the sign-in form as a browser would."""
    page = await client.get("/console/signin")
    token = csrf_of(await page.text())
    return await client.post(
        "/console/signin",
        data={"csrf": token, "name": name, "password": password, "next": "/console/queue"},
        allow_redirects=False,
    )
