"""The sandbox's citizen on Zalo: the page's API, the OA emulator, the bot, a Telegram agency."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from bot.channels.zalo import plain_text
from bot.sandbox import ZALO_CITIZEN_USER_ID, Sandbox, agency_chat_id
from handlers.messages import t
from tests.test_sandbox import PageClient, page, sandbox, tiny_png

__all__ = ["page", "sandbox"]  # the fixtures, shared with the Telegram sandbox tests
ZALO = f"/sandbox/zalo/chats/{ZALO_CITIZEN_USER_ID}"
COMPLAINT = (
    "Đường Phạm Văn Thuận đoạn gần chợ có nhiều ổ gà rất sâu, tối qua hai xe máy bị té ngã."
)


async def next_bot_message(
    page: PageClient, seen: int, match: Callable[[dict[str, Any]], bool], within: float = 8.0
) -> tuple[dict[str, Any], int]:
    """Long-poll the Zalo chat like the page does; return the first new bot message matching."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        data = await page.get_json(f"{ZALO}/history?since_version={seen}&wait=1")
        for index, message in enumerate(data["messages"][seen:], seen):
            if message["from_bot"] and match(message):
                return message, index + 1
    raise AssertionError("no matching message from the OA")


def number_of(message: dict[str, Any], label_part: str) -> str:
    labels = re.findall(r"^\d+\. (.+)$", message["text"], flags=re.MULTILINE)
    return str(next(i for i, label in enumerate(labels, 1) if label_part in label))


async def test_setup_offers_a_citizen_on_zalo_with_its_own_api(page: PageClient) -> None:
    setup = await page.get_json("/sandbox/api/setup")
    zalo = [chat for chat in setup["chats"] if chat["channel"] == "zalo_oa"]
    assert [(chat["role"], chat["api"]) for chat in zalo] == [("citizen", "/sandbox/zalo")]


async def test_zalo_citizen_files_a_photo_that_reaches_the_telegram_agency(
    page: PageClient, sandbox: Sandbox
) -> None:
    await page.post(f"{ZALO}/messages", {"text": "/start"})
    menu, seen = await next_bot_message(page, 0, lambda m: "1." in m["text"])
    assert plain_text(t("zalo.options_prompt", "vi")) in menu["text"]

    await page.post(f"{ZALO}/messages", {"text": COMPLAINT})
    proposal, seen = await next_bot_message(page, seen, lambda m: "Gửi" in m["text"])
    form = aiohttp.FormData()
    form.add_field("photo", tiny_png(), filename="o-ga.png", content_type="image/png")
    async with page.session.post(page.url + f"{ZALO}/photo", data=form) as response:
        assert response.status == 200, await response.text()
    _, seen = await next_bot_message(page, seen, lambda m: True)  # the photo is added
    await page.post(f"{ZALO}/messages", {"text": number_of(proposal, "Gửi")})
    _, seen = await next_bot_message(page, seen, lambda m: True)  # contact
    privacy, seen = await next_bot_message(page, seen, lambda m: "1." in m["text"])
    await page.post(f"{ZALO}/messages", {"text": number_of(privacy, "ẩn danh")})
    created, seen = await next_bot_message(page, seen, lambda m: "PA-" in m["text"])
    code = re.search(r"PA-\d{4}-\d{6}", created["text"])
    assert code is not None

    history = await page.get_json(f"{ZALO}/history")
    photo = next(m for m in history["messages"] if m["kind"] == "photo")
    async with page.session.get(
        page.url + f"/sandbox/files/{photo['photo'][0]['file_id']}"
    ) as response:
        assert (response.status, await response.read()) == (200, tiny_png())

    assert sandbox.config is not None and sandbox.emulator is not None
    index = next(i for i, a in enumerate(sandbox.config.agencies) if a.id == "xay-dung")
    group = agency_chat_id(index)
    for _ in range(80):
        sent = sandbox.emulator.history(group, include_deleted=False)
        photos = [m for m in sent if m.get("photo")]
        if photos:
            break
        await asyncio.sleep(0.1)
    assert any(code.group(0) in (m.get("text") or "") for m in sent)
    assert sandbox.emulator.file_bytes(photos[0]["photo"][-1]["file_id"]) == tiny_png()


async def test_zalo_chat_api_refuses_empty_text_unknown_chats_and_non_images(
    page: PageClient,
) -> None:
    async with page.session.post(page.url + f"{ZALO}/messages", json={"text": " "}) as response:
        assert response.status == 400
    async with page.session.post(
        page.url + "/sandbox/zalo/chats/42/messages", json={"text": "hi"}
    ) as response:
        assert response.status == 404
    form = aiohttp.FormData()
    form.add_field("photo", b"not an image", filename="x.png", content_type="image/png")
    async with page.session.post(page.url + f"{ZALO}/photo", data=form) as response:
        assert response.status == 400
