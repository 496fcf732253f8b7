"""The public page in a real browser (Chromium through Playwright), from the sandbox's link;
its screenshot is kept in tests/artifacts/thong-ke.png."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Config
from bot.sandbox import Sandbox
from handlers.messages import t
from storage.db import Database
from tests.harness import FakeClock
from tests.test_public_page import NOW, seed
from tests.test_tickets import wired

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    reason = f"{CHROMIUM} is not installed (apt-get install chromium)"
    if os.environ.get("HOTLINE_REQUIRE_BROWSER"):
        pytest.fail(f"{reason}; required because HOTLINE_REQUIRE_BROWSER is set")
    pytest.skip(reason, allow_module_level=True)

from playwright.async_api import Browser, expect  # noqa: E402

# The sandbox tests' Chromium fixture, shared.
from tests.test_sandbox_browser import TIMEOUT_MS, browser  # noqa: E402, F401


@pytest.fixture
async def sandbox(config: Config, tmp_path: Path) -> AsyncIterator[Sandbox]:
    database = tmp_path / "public-browser.db"
    db = Database(f"sqlite+aiosqlite:///{database}")
    await db.upgrade()
    await seed(db, wired(config))
    await db.dispose()
    async with Sandbox(config, port=0, database=str(database), clock=FakeClock(NOW)) as running:
        yield running


async def test_public_page_opens_from_the_sandbox_and_shows_the_tables(
    browser: Browser,  # noqa: F811 - the imported fixture
    sandbox: Sandbox,
) -> None:
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(sandbox.url)
    link = page.locator("#public-stats")
    await expect(link).to_have_attribute("href", "/thong-ke/")

    async with context.expect_page() as opened:
        await link.click()
    public = await opened.value
    errors: list[str] = []
    public.on("pageerror", lambda error: errors.append(str(error)))
    public.on(
        "response",
        lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    await public.reload()
    await expect(public.locator("h1")).to_have_text(t("public.title", "vi"))
    last = public.locator("#thang-2026-11")
    await expect(last.locator("h2")).to_have_text(t("public.month", "vi", month="11/2026"))
    works = last.locator('tr[data-agency="xay-dung"]')
    await expect(works.locator("td")).to_have_text(["2", "2", "50.0%", "0"])
    await expect(last.locator("tfoot tr")).to_contain_text(t("report.totals", "vi"))
    assert await works.locator("meter").get_attribute("value") == "0.5"
    # The sandbox stylesheet applies: the top bar is the sandbox's blue.
    colour = await public.locator(".topbar").evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(42, 122, 184)"

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "thong-ke.png"
    await public.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    await context.close()
    assert errors == [], f"errors on the page: {errors}"
