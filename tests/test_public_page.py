"""The public accountability page over HTTP: the numbers, the JSON, the one-minute cache, and
that nothing personal or written by a citizen shows."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import HotlineApp
from bot.config import Config, StorageConfig, WebConfig
from bot.web.public import PUBLIC_STATS
from handlers.messages import t
from storage.db import Database
from tests.harness import FakeClock
from tests.test_sweeper import change
from tests.test_tickets import at, open_one, reload, wired
from tests.test_webhook import free_port

NOW = at(2, 10, 30, month=12)  # Wednesday 2/12/2026 10:30


@dataclasses.dataclass
class Site:
    """A running `hotline run` (web only) and a client to read it."""

    app: HotlineApp
    http: aiohttp.ClientSession
    base: str
    clock: FakeClock
    codes: list[str]

    async def json(self, path: str = "/thong-ke/data.json") -> Any:
        async with self.http.get(self.base + path) as response:
            assert response.status == 200
            return await response.json()

    async def text(self, path: str = "/thong-ke/") -> str:
        async with self.http.get(self.base + path) as response:
            assert response.status == 200
            assert response.content_type == "text/html"
            return await response.text()


async def seed(db: Database, cfg: Config) -> list[str]:
    """Two tickets of November (one resolved late, one on time) and one of December."""
    codes = []
    for opened, resolved in ((at(2, 8), at(6, 16)), (at(3, 8), at(3, 10))):
        ticket = await open_one(db, cfg, now=opened)
        await change(db, ticket, "accept", opened.replace(hour=9), config=cfg)
        await change(db, await reload(db, ticket), "resolve", resolved, config=cfg, answer="Xong")
        codes.append(ticket.code)
    codes.append((await open_one(db, cfg, now=at(1, 8, month=12))).code)
    return codes


async def serve(config: Config, tmp_path: Path, seeded: bool) -> AsyncIterator[Site]:
    port = free_port()
    cfg = dataclasses.replace(
        wired(config),
        storage=StorageConfig(url=f"sqlite+aiosqlite:///{tmp_path / 'public.db'}"),
        web=WebConfig(host="127.0.0.1", port=port),
    )
    codes: list[str] = []
    if seeded:
        # Seeded before the bot starts, so that its sweeper finds the clocks already settled.
        db = Database(cfg.storage.url)
        await db.upgrade()
        codes = await seed(db, cfg)
        await db.dispose()
    clock = FakeClock(NOW)
    async with HotlineApp(cfg, clock=clock) as app, aiohttp.ClientSession() as http:
        yield Site(app, http, f"http://127.0.0.1:{port}", clock, codes)


@pytest.fixture
async def site(config: Config, tmp_path: Path) -> AsyncIterator[Site]:
    """The site with the seeded tickets."""
    async for running in serve(config, tmp_path, seeded=True):
        yield running


@pytest.fixture
async def empty_site(config: Config, tmp_path: Path) -> AsyncIterator[Site]:
    """The site on an empty database."""
    async for running in serve(config, tmp_path, seeded=False):
        yield running


def agency(month: dict[str, Any], agency_id: str) -> dict[str, Any]:
    return next(row for row in month["agencies"] if row["id"] == agency_id)


async def test_data_json_gives_this_month_and_the_last_per_agency(site: Site) -> None:
    data = await site.json()

    current, last = data["months"]
    assert (current["month"], current["current"]) == ("2026-12", True)
    assert (last["month"], last["current"]) == ("2026-11", False)
    assert agency(last, "xay-dung") == {
        "id": "xay-dung",
        "name": "Sở Xây dựng",
        "received": 2,
        "resolved": 2,
        "on_time_share": 0.5,
        "overdue_now": 0,
    }
    assert agency(current, "xay-dung")["received"] == 1
    assert agency(current, "xay-dung")["on_time_share"] is None
    assert last["totals"] == {"received": 2, "resolved": 2, "on_time_share": 0.5, "overdue_now": 0}
    assert len(current["agencies"]) == len(site.app.config.agencies)
    assert data["as_of"] == "2026-12-02T10:30:00+07:00"


async def test_page_and_json_show_no_personal_data_or_ticket_text(site: Site) -> None:
    codes = site.codes
    page = await site.text()
    raw = await (await site.http.get(site.base + "/thong-ke/data.json")).text()

    for secret in ("Nguyễn Văn An", "0912345678", "ổ gà", "Xong", "501", *codes):
        assert secret not in page
        assert secret not in raw


async def test_page_shows_the_figures_in_vietnamese(site: Site) -> None:
    page = await site.text()

    assert t("public.title", "vi") in page
    assert t("public.month_current", "vi", month="12/2026") in page
    assert t("public.month", "vi", month="11/2026") in page
    assert t("report.col.on_time", "vi") in page
    assert t("report.totals", "vi") in page
    assert "50.0%" in page
    assert 'href="/thong-ke/static/sandbox.css"' in page


async def test_figures_are_cached_for_the_minute(site: Site) -> None:
    stats: Any = site.app.web_app[PUBLIC_STATS]
    first = await site.json()
    await open_one(site.app.db, site.app.config, now=at(2, 9, month=12))
    site.clock.advance(seconds=25)  # 10:30:25, the same minute
    again = await site.json()
    await site.text()
    assert again == first
    assert stats.computed == 1

    site.clock.advance(seconds=40)  # 10:31:05
    fresh = await site.json()
    assert stats.computed == 2
    assert agency(fresh["months"][0], "xay-dung")["received"] == 2


async def test_page_headers_forbid_scripts_and_allow_a_minute_of_caching(site: Site) -> None:
    async with site.http.get(site.base + "/thong-ke/") as response:
        assert response.headers["Cache-Control"] == "public, max-age=60"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    async with site.http.get(site.base + "/thong-ke", allow_redirects=False) as response:
        assert response.status == 308
        assert response.headers["Location"] == "/thong-ke/"


async def test_stylesheets_are_served_and_nothing_else(site: Site) -> None:
    for name in ("sandbox.css", "public.css"):
        async with site.http.get(f"{site.base}/thong-ke/static/{name}") as response:
            assert response.status == 200
            assert response.content_type == "text/css"
    for name in ("sandbox.js", "..%2Fpublic.py", "missing.css"):
        async with site.http.get(f"{site.base}/thong-ke/static/{name}") as response:
            assert response.status == 404


async def test_empty_database_shows_zeros(empty_site: Site) -> None:
    data = await empty_site.json()
    assert [month["totals"]["received"] for month in data["months"]] == [0, 0]
    assert all(row["on_time_share"] is None for row in data["months"][0]["agencies"])
    assert t("report.totals", "vi") in await empty_site.text()
