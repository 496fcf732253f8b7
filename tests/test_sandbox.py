"""`hotline sandbox`, driven over HTTP exactly as its web page drives it."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import struct
import zlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import Config
from bot.sandbox import (
    CITIZEN_USER_ID,
    OPERATORS_CHAT_ID,
    Sandbox,
    connect_host,
    run_sandbox,
    sandbox_config,
)

COMPLAINT = (
    "Đường Phạm Văn Thuận đoạn gần chợ có nhiều ổ gà rất sâu, tối qua hai xe máy bị té ngã."
)
Message = dict[str, Any]


def tiny_png() -> bytes:
    """A valid 1×1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


class PageClient:
    """Does what sandbox.js does: posts to /_emulator/…, long-polls the history."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url.rstrip("/")

    async def get_json(self, path: str) -> Any:
        async with self.session.get(self.url + path) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def post(self, path: str, payload: dict[str, Any]) -> Any:
        async with self.session.post(self.url + path, json=payload) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def say(self, chat_id: int, text: str, user_id: int = CITIZEN_USER_ID) -> None:
        await self.post(f"/_emulator/chats/{chat_id}/messages", {"text": text, "user_id": user_id})

    async def press(self, chat_id: int, message: Message, data_suffix: str) -> None:
        buttons = [b for row in message["reply_markup"]["inline_keyboard"] for b in row]
        chosen = next(b for b in buttons if b["callback_data"].endswith(data_suffix))
        await self.post(
            f"/_emulator/chats/{chat_id}/callback",
            {"message_id": message["message_id"], "callback_data": chosen["callback_data"]},
        )

    async def history(self, chat_id: int, since: int = -1, wait: float = 0) -> dict[str, Any]:
        query = f"?since_version={since}&wait={wait}"
        result: dict[str, Any] = await self.get_json(f"/_emulator/chats/{chat_id}/history{query}")
        return result

    async def wait_for(
        self, chat_id: int, predicate: Callable[[Message], bool], within: float = 5.0
    ) -> Message:
        """Long-poll the chat until a bot message satisfies `predicate`; return it."""
        deadline = asyncio.get_running_loop().time() + within
        version = -1
        seen: list[str] = []
        while True:
            data = await self.history(chat_id, since=version, wait=1 if version >= 0 else 0)
            version = data["version"]
            bot_messages = [m for m in data["messages"] if m["from_bot"]]
            seen = [str(m["text"]) for m in bot_messages]
            for message in bot_messages:
                if predicate(message):
                    return message
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no matching bot message in chat {chat_id}; got {seen}")


def buttons_of(message: Message) -> list[dict[str, str]]:
    markup = message.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def has_button(suffix: str) -> Callable[[Message], bool]:
    return lambda m: any(b.get("callback_data", "").endswith(suffix) for b in buttons_of(m))


@pytest.fixture
async def sandbox(config: Config, tmp_path: Path) -> AsyncIterator[Sandbox]:
    async with Sandbox(config, host="127.0.0.1", port=0, database=str(tmp_path / "sb.db")) as sb:
        yield sb


@pytest.fixture
async def page(sandbox: Sandbox) -> AsyncIterator[PageClient]:
    async with aiohttp.ClientSession() as session:
        yield PageClient(session, sandbox.url)


# --- the page and its API -------------------------------------------------------------------


async def test_page_loads_with_intro_and_safe_headers(page: PageClient) -> None:
    async with page.session.get(page.url + "/") as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        html = await response.text()
        csp = response.headers["Content-Security-Policy"]
    assert "Bản chạy thử ngoại tuyến" in html
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    for asset in ("/sandbox/static/sandbox.js", "/sandbox/static/sandbox.css"):
        assert asset in html
        async with page.session.get(page.url + asset) as response:
            assert response.status == 200, asset
    assert "cdn" not in html.lower() and "https://" not in html


async def test_setup_lists_citizen_operators_and_every_agency(
    page: PageClient, sandbox: Sandbox
) -> None:
    setup = await page.get_json("/sandbox/api/setup")
    roles = [chat["role"] for chat in setup["chats"]]
    assert roles[:3] == ["citizen", "citizen", "operators"]
    assert setup["chats"][0]["title"] == "Nguyễn Văn An"
    assert setup["chats"][1]["channel"] == "zalo_oa"  # the citizen on Zalo (issue 11)
    assert sandbox.config is not None
    agency_titles = {chat["title"] for chat in setup["chats"] if chat["role"] == "agency"}
    assert agency_titles == {agency.name for agency in sandbox.config.agencies}
    assert all(agency.telegram_chat_id for agency in sandbox.config.agencies)


async def test_setup_hints_are_the_seeded_dossiers_with_last4(page: PageClient) -> None:
    setup = await page.get_json("/sandbox/api/setup")
    hints = setup["hints"]
    assert len(hints) == 4
    assert {hint["label"] for hint in hints} >= {"trễ hạn", "đã có kết quả"}
    assert all(re.fullmatch(r"\d{4}", hint["last4"]) for hint in hints)


async def test_healthz_is_served_on_the_same_port(page: PageClient) -> None:
    assert await page.get_json("/healthz") == {"status": "ok"}


# --- the bot through the emulator -----------------------------------------------------------


async def test_start_shows_the_menu(page: PageClient) -> None:
    await page.say(CITIZEN_USER_ID, "/start")
    menu = await page.wait_for(CITIZEN_USER_ID, has_button("m:lookup"))
    labels = [b["text"] for b in buttons_of(menu)]
    assert "🔎 Tra cứu hồ sơ" in labels
    assert menu["parse_mode"] == "HTML"


async def test_lookup_of_a_demo_dossier_shows_its_card(page: PageClient) -> None:
    setup = await page.get_json("/sandbox/api/setup")
    late = next(hint for hint in setup["hints"] if hint["label"] == "trễ hạn")
    await page.say(CITIZEN_USER_ID, f"/hoso {late['code']} {late['last4']}")
    card = await page.wait_for(CITIZEN_USER_ID, lambda m: late["code"] in str(m["text"]))
    assert "Cấp giấy chứng nhận quyền sử dụng đất" in card["text"]
    assert "Trễ hạn" in card["text"]
    assert "Nguyễn Văn Hùng" in card["text"]  # verified with LAST4: the applicant is shown


async def test_complaint_typed_in_the_page_reaches_an_agency_group(
    page: PageClient, sandbox: Sandbox
) -> None:
    chat = CITIZEN_USER_ID
    await page.say(chat, COMPLAINT)
    proposal = await page.wait_for(chat, has_button(":send"))
    await page.press(chat, proposal, ":send")
    await page.wait_for(chat, has_button(":anon"))
    keyboard = (await page.history(chat))["reply_keyboard"]
    assert keyboard["keyboard"][0][0]["request_contact"] is True
    await page.post(
        f"/_emulator/chats/{chat}/contact",
        {"phone_number": "0912345678", "first_name": "Nguyễn Văn An", "user_id": chat},
    )
    privacy = await page.wait_for(chat, has_button(":priv:agency"))
    await page.press(chat, privacy, ":priv:agency")
    created = await page.wait_for(chat, lambda m: "PA-" in str(m["text"]))
    code = re.search(r"PA-\d{4}-\d{6}", created["text"])
    assert code is not None

    summary = (await page.get_json("/sandbox/api/summary"))["chats"]
    agency_chats = [c for c in sandbox.chats if c.role == "agency"]

    async def card_chat() -> int:
        while True:
            summary = (await page.get_json("/sandbox/api/summary"))["chats"]
            for candidate in agency_chats:
                if summary[str(candidate.chat_id)]["count"]:
                    return candidate.chat_id
            await asyncio.sleep(0.05)

    target = await asyncio.wait_for(card_chat(), timeout=5)
    card = await page.wait_for(target, lambda m: code.group(0) in str(m["text"]))
    assert "ổ gà" in card["text"]
    assert "0912345678" in card["text"]  # the reporter let the agency see the contact
    summary = (await page.get_json("/sandbox/api/summary"))["chats"]
    assert code.group(0) in summary[str(target)]["last_preview"]


async def test_photo_is_served_inline_and_other_files_only_as_downloads(
    page: PageClient,
) -> None:
    form = aiohttp.FormData()
    form.add_field("photo", tiny_png(), filename="o-ga.png", content_type="image/png")
    form.add_field("user_id", str(CITIZEN_USER_ID))
    async with page.session.post(
        f"{page.url}/_emulator/chats/{CITIZEN_USER_ID}/photo", data=form
    ) as response:
        assert response.status == 200
        photo = (await response.json())["photo"][-1]
    async with page.session.get(f"{page.url}/sandbox/files/{photo['file_id']}") as response:
        assert response.status == 200
        assert response.content_type == "image/png"
        assert response.headers["X-Content-Type-Options"] == "nosniff"

    form = aiohttp.FormData()
    form.add_field("document", b"<script>alert(1)</script>", filename="x.html")
    form.add_field("user_id", str(CITIZEN_USER_ID))
    async with page.session.post(
        f"{page.url}/_emulator/chats/{CITIZEN_USER_ID}/document", data=form
    ) as response:
        assert response.status == 200
        document = (await response.json())["document"]
    url = f"{page.url}/sandbox/files/{document['file_id']}?name=x.html"
    async with page.session.get(url) as response:
        assert response.status == 200
        assert response.content_type == "application/octet-stream"
        assert response.headers["Content-Disposition"].startswith("attachment;")
    async with page.session.get(f"{page.url}/sandbox/files/nope") as response:
        assert response.status == 404


async def test_summary_counts_messages_per_chat(page: PageClient) -> None:
    before = (await page.get_json("/sandbox/api/summary"))["chats"]
    assert before[str(CITIZEN_USER_ID)]["count"] == 0
    await page.post(
        f"/_emulator/chats/{CITIZEN_USER_ID}/location",
        {"latitude": 10.9574, "longitude": 106.8427, "user_id": CITIZEN_USER_ID},
    )
    after = (await page.get_json("/sandbox/api/summary"))["chats"]
    assert after[str(CITIZEN_USER_ID)]["count"] >= 1
    assert after[str(CITIZEN_USER_ID)]["last_preview"].startswith("📍")
    assert after[str(OPERATORS_CHAT_ID)]["count"] == 0


async def test_cross_site_writes_and_foreign_host_names_are_refused(page: PageClient) -> None:
    path = f"{page.url}/_emulator/chats/{CITIZEN_USER_ID}/messages"
    headers = {"Origin": "http://evil.example"}
    async with page.session.post(path, json={"text": "/start"}, headers=headers) as response:
        assert response.status == 403
    async with page.session.get(page.url + "/", headers={"Host": "evil.example"}) as response:
        assert response.status == 421
    history = await page.history(CITIZEN_USER_ID)
    assert history["messages"] == []


# --- lifecycle ------------------------------------------------------------------------------


async def test_second_start_on_the_same_database_works(config: Config, tmp_path: Path) -> None:
    database = str(tmp_path / "again.db")
    for _ in range(2):
        async with (
            Sandbox(config, port=0, database=database) as sandbox,
            aiohttp.ClientSession() as session,
        ):
            page = PageClient(session, sandbox.url)
            assert len((await page.get_json("/sandbox/api/setup"))["hints"]) == 4
            # Update ids start above the previous run's, so the bot does not skip them.
            await page.say(CITIZEN_USER_ID, "/start")
            await page.wait_for(CITIZEN_USER_ID, has_button("m:lookup"))


async def test_busy_port_is_reported(config: Config, tmp_path: Path, capsys: Any) -> None:
    async with Sandbox(config, port=0, database=str(tmp_path / "a.db")) as first:
        status = await run_sandbox(
            config, host="127.0.0.1", port=first.port, database=str(tmp_path / "b.db")
        )
    assert status == 1
    assert "try another --port" in capsys.readouterr().err


async def test_run_sandbox_prints_the_url_and_stops_on_sigterm(
    config: Config, tmp_path: Path, capsys: Any
) -> None:
    task = asyncio.create_task(
        run_sandbox(config, host="127.0.0.1", port=0, database=str(tmp_path / "run.db"))
    )
    printed = ""
    for _ in range(200):
        printed += capsys.readouterr().out
        if "Open http" in printed or task.done():
            break
        await asyncio.sleep(0.05)
    match = re.search(r"Open (http://127\.0\.0\.1:\d+/)", printed)
    assert match, printed
    async with aiohttp.ClientSession() as session, session.get(match.group(1)) as response:
        assert response.status == 200
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(task, timeout=8) == 0


def test_config_points_the_bot_at_the_emulator(config: Config) -> None:
    wired = sandbox_config(config, host="0.0.0.0", port=9001, database="/tmp/demo.db")
    assert wired.telegram.base_url == "http://127.0.0.1:9001/bot"
    assert wired.telegram.enabled and not wired.zalo.enabled
    assert wired.storage.url == "sqlite+aiosqlite:////tmp/demo.db"
    assert wired.telegram.operators_chat_id == OPERATORS_CHAT_ID
    assert len({a.telegram_chat_id for a in wired.agencies}) == len(config.agencies)
    assert connect_host("::") == "[::1]" and connect_host("::1") == "[::1]"


# --- console (issue 8): the demo's console users ------------------------------------------------


async def test_sandbox_console_signs_in_the_demo_operator(page: PageClient) -> None:
    from bot.sandbox import DEMO_CONSOLE_USERS
    from tests.console_support import csrf_of

    name, _role, password = DEMO_CONSOLE_USERS[0]
    async with page.session.get(page.url + "/") as response:
        assert 'href="/console/"' in await response.text()
    # Browsers keep cookies of 127.0.0.1; aiohttp's client does only when told to.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(page.url + "/console/signin") as response:
            token = csrf_of(await response.text())
        form = {"csrf": token, "name": name, "password": password, "next": "/console/queue"}
        async with browser.post(page.url + "/console/signin", data=form) as response:
            assert response.status == 200
            assert str(response.url).endswith("/console/queue")


async def test_sandbox_console_serves_a_ticket_photo_to_its_agency(
    page: PageClient, sandbox: Sandbox
) -> None:
    from bot.domain import tickets
    from bot.domain.tickets import Reporter
    from bot.sandbox import DEMO_CONSOLE_USERS
    from tests.console_support import csrf_of
    from tests.test_e2e_citizen import tiny_png
    from tests.test_tickets import decision

    assert sandbox.emulator is not None and sandbox.hotline is not None and sandbox.config
    sent = await sandbox.emulator.send_photo(CITIZEN_USER_ID, tiny_png())
    photo = sent["photo"][-1]["file_id"]
    async with sandbox.hotline.db.transaction() as session:
        ticket = await tickets.open_ticket(
            session=session,
            config=sandbox.config,
            reporter=Reporter("telegram", str(CITIZEN_USER_ID), str(CITIZEN_USER_ID)),
            text="Ổ gà trước cổng trường, ảnh kèm theo",
            decision=decision("giao-thong", "xay-dung"),
            category_id="giao-thong",
            now=sandbox.hotline.clock(),
            attachments=[{"kind": "photo", "file_id": photo}],
        )
    assert ticket.agency_id == "xay-dung"
    name, _role, password = DEMO_CONSOLE_USERS[1]  # Sở Xây dựng's staff
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(page.url + "/console/signin") as response:
            token = csrf_of(await response.text())
        form = {"csrf": token, "name": name, "password": password}
        async with browser.post(page.url + "/console/signin", data=form) as response:
            assert response.status == 200
        async with browser.get(f"{page.url}/console/tickets/{ticket.code}") as response:
            link = re.search(r'href="(/console/files/\d+)"', await response.text())
        assert link, "no file link on the ticket page"
        async with browser.get(page.url + link.group(1)) as response:
            assert response.status == 200
            assert response.content_type.startswith("image/")
            assert (await response.read()).startswith(b"\x89PNG")
        async with browser.get(page.url + "/console/files/999999") as response:
            assert response.status == 404
