"""The sandbox page in a real browser (Chromium through Playwright), against the real bot."""

from __future__ import annotations

import os
import re
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Config
from bot.sandbox import CITIZEN_USER_ID, SANDBOX_TOKEN, Sandbox

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 5000

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    reason = f"{CHROMIUM} is not installed (apt-get install chromium)"
    if os.environ.get("HOTLINE_REQUIRE_BROWSER"):
        pytest.fail(f"{reason}; required because HOTLINE_REQUIRE_BROWSER is set")
    pytest.skip(reason, allow_module_level=True)

from playwright.async_api import Browser, FilePayload, Page, async_playwright, expect  # noqa: E402


def tiny_png() -> bytes:
    """A valid 2×2 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x2a\x7a\xb8" * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser: Browser, config: Config, tmp_path: Path) -> AsyncIterator[Page]:
    database = str(tmp_path / "browser.db")
    async with Sandbox(config, port=0, database=database) as sandbox:
        context = await browser.new_context(viewport={"width": 1280, "height": 860})
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(sandbox.url)
        await expect(page.locator("#chat-title")).to_have_text("Nguyễn Văn An")
        yield page
        await context.close()
        assert errors == [], f"JavaScript errors on the page: {errors}"


async def send(page: Page, text: str) -> None:
    await page.fill("#text-input", text)
    await page.press("#text-input", "Enter")


async def test_citizen_types_start_and_presses_a_menu_button(page: Page, tmp_path: Path) -> None:
    await expect(page.locator("#intro")).to_contain_text("Bản chạy thử ngoại tuyến")
    await send(page, "/start")
    menu_button = page.locator(".from-bot .inline-button", has_text="Tra cứu hồ sơ")
    await expect(menu_button).to_be_visible()
    # The bot's <b> arrives as bold text, not as markup.
    await expect(page.locator(".from-bot .text b").first).to_contain_text("Tổng đài")
    await menu_button.click()
    answer = page.locator(".from-bot .text").last
    await expect(answer).to_contain_text("mã hồ sơ")
    await expect(page.locator("#text-input")).to_have_value("")
    await page.screenshot(path=str(tmp_path / "sandbox.png"), full_page=True)
    assert (tmp_path / "sandbox.png").stat().st_size > 10_000


async def test_user_markup_is_shown_as_text_never_as_html(page: Page) -> None:
    hostile = '<img src=x onerror="document.title=1"> <b>đậm?</b>'
    await send(page, hostile)
    mine = page.locator(".from-me .text").last
    await expect(mine).to_have_text(hostile)
    assert await page.locator(".messages img").count() == 0
    assert await page.locator(".from-me b").count() == 0
    # The bot quotes nothing back unescaped either: its answer renders without an image.
    await expect(page.locator(".from-bot").last).to_be_visible()
    assert await page.locator(".messages img").count() == 0
    assert await page.title() != "1"


async def test_hint_lookup_then_complaint_card_lights_the_agency_badge(page: Page) -> None:
    hint = page.locator("#hints .chip", has_text="trễ hạn")
    await hint.click()
    await expect(page.locator("#text-input")).to_have_value(re.compile(r"^/hoso \S+ \d{4}$"))
    await page.press("#text-input", "Enter")
    await expect(page.locator(".from-bot .text").last).to_contain_text("Trễ hạn")

    await page.locator("#examples .chip", has_text="ổ gà").click()
    await page.press("#text-input", "Enter")
    await page.locator(".from-bot .inline-button", has_text="Gửi").last.click()
    await page.locator("#reply-keyboard .reply-button").click()  # share my phone number
    await expect(page.locator(".from-me .text", has_text="0912345678")).to_be_visible()
    await page.locator(".from-bot .inline-button", has_text="Cơ quan xử lý").last.click()
    await expect(page.locator(".from-bot .text", has_text="PA-").last).to_be_visible()
    await expect(page.locator("#reply-keyboard")).to_be_hidden()

    badge = page.locator(".chat-item .badge:visible")
    await expect(badge).to_have_count(1)
    await badge.click()
    card = page.locator(".from-bot .text", has_text="PA-")
    await expect(card).to_contain_text("ổ gà")
    await expect(page.locator(".chat-item .badge:visible")).to_have_count(0)


async def test_photo_and_demo_location_are_sent_from_the_composer(page: Page) -> None:
    upload: FilePayload = {"name": "o-ga.png", "mimeType": "image/png", "buffer": tiny_png()}
    await page.set_input_files("#photo-input", files=[upload])
    photo = page.locator(".from-me img.photo")
    await expect(photo).to_be_visible()
    assert await photo.evaluate("image => image.naturalWidth") == 2
    await page.click("#location-button")
    await page.click("#demo-location")
    await expect(page.locator(".from-me .text", has_text="📍 10.95740, 106.84270")).to_be_visible()
    await expect(page.locator("#location-panel")).to_be_hidden()


async def test_bot_html_keeps_only_the_allowed_tags_and_safe_links(page: Page) -> None:
    sandbox_url = page.url.rstrip("/")
    html = (
        "<b>đậm</b> <i>nghiêng</i> <u>gạch dưới</u> <s>gạch ngang</s> <code>mã</code>\n"
        '<pre><code class="language-text">khối mã</code></pre>\n'
        '<a href="https://dichvucong.gov.vn/">cổng dịch vụ công</a> '
        '<a href="javascript:document.title=1">bẫy</a> '
        "<blockquote>trích dẫn</blockquote> <tg-spoiler>ẩn</tg-spoiler> &lt;script&gt;"
    )
    response = await page.request.post(
        f"{sandbox_url}/bot{SANDBOX_TOKEN}/sendMessage",
        data={"chat_id": CITIZEN_USER_ID, "text": html, "parse_mode": "HTML"},
    )
    assert response.ok, await response.text()
    text = page.locator(".from-bot .text").last
    await expect(text).to_contain_text("<script>")
    for tag, content in (("b", "đậm"), ("i", "nghiêng"), ("u", "gạch dưới"), ("s", "gạch ngang")):
        await expect(text.locator(tag)).to_have_text(content)
    await expect(text.locator("pre code")).to_have_text("khối mã")
    link = text.locator("a")
    await expect(link).to_have_count(1)
    await expect(link).to_have_attribute("href", "https://dichvucong.gov.vn/")
    await expect(link).to_have_attribute("rel", "noopener noreferrer")
    assert await text.locator("blockquote, script, tg-spoiler, span.tg-spoiler").count() == 0
    await expect(text).to_contain_text("bẫy")
    assert await page.title() != "1"
