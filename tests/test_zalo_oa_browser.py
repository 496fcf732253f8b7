"""The sandbox's citizen on Zalo in a real browser (Chromium through Playwright)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import FilePayload, Page, expect

from bot.channels.zalo import plain_text
from handlers.messages import t
from tests.test_sandbox_browser import browser, page, send, tiny_png

pytestmark = pytest.mark.browser
__all__ = ["browser", "page"]  # the fixtures, shared with the Telegram browser tests


async def test_zalo_citizen_chats_by_numbers_and_sends_a_photo(page: Page, tmp_path: Path) -> None:
    await page.locator(".chat-item", has_text="(Zalo)").click()
    await expect(page.locator("#chat-acting")).to_contain_text("Zalo")
    await send(page, "/start")
    prompt = plain_text(t("zalo.options_prompt", "vi"))
    menu = page.locator(".from-bot .text", has_text=prompt)
    await expect(menu).to_be_visible()
    await expect(menu).to_contain_text("1. ")
    await send(page, "1")
    await expect(page.locator(".from-bot .text").last).to_contain_text("mã hồ sơ")
    upload: FilePayload = {"name": "o-ga.png", "mimeType": "image/png", "buffer": tiny_png()}
    await page.set_input_files("#photo-input", files=[upload])
    photo = page.locator(".from-me img.photo")
    await expect(photo).to_be_visible()
    assert await photo.evaluate("image => image.naturalWidth") == 2
    await page.screenshot(path=str(tmp_path / "zalo.png"), full_page=True)
    assert (tmp_path / "zalo.png").stat().st_size > 10_000
