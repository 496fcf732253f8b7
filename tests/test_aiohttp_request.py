"""Tests of the aiohttp transport for python-telegram-bot, against loopback servers."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import socket
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import BodyPartReader, web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from bot.channels.aiohttp_request import AiohttpRequest, redact_token
from bot.channels.emulator import TelegramEmulator

TOKEN = "5550001:AAH-aiohttp_transport_test-token"


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns (an error here) when reading retry_after as int unless opted in.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


async def _echo(request: web.Request) -> web.Response:
    """Answer with what arrived: content type, fields, files and headers."""
    fields: dict[str, Any] = {}
    files: dict[str, dict[str, Any]] = {}
    if request.content_type == "application/json":
        fields = await request.json()
    elif request.content_type == "multipart/form-data":
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            assert isinstance(part, BodyPartReader)
            if part.filename is None:
                fields[part.name or ""] = await part.text()
            else:
                data = bytes(await part.read())
                files[part.name or ""] = {
                    "filename": part.filename,
                    "content_type": part.headers.get("Content-Type"),
                    "sha256": hashlib.sha256(data).hexdigest(),
                }
    elif request.body_exists:
        form = await request.post()
        fields = {key: str(value) for key, value in form.items()}
    result = {
        "method": request.method,
        "content_type": request.content_type,
        "fields": fields,
        "files": files,
        "user_agent": request.headers.get("User-Agent"),
    }
    return web.json_response({"ok": True, "result": result})


async def _slow(request: web.Request) -> web.Response:
    await asyncio.sleep(float(request.query.get("delay", "1")))
    return web.json_response({"ok": True, "result": True})


async def _status(request: web.Request) -> web.Response:
    code = int(request.match_info["code"])
    return web.json_response(
        {"ok": False, "error_code": code, "description": "Internal Server Error"}, status=code
    )


async def _hang_up(request: web.Request) -> web.Response:
    assert request.transport is not None
    request.transport.abort()
    return web.Response()


async def _file(request: web.Request) -> web.Response:
    return web.Response(body=b"\x00\x01binary\xff" * 1000, content_type="application/pdf")


@pytest.fixture
async def server() -> AsyncIterator[str]:
    """A loopback server: /bot<token>/echo, /slow?delay=, /status/<code>, /hangup, /file."""
    app = web.Application()
    app.router.add_post(f"/bot{TOKEN}/echo", _echo)
    app.router.add_post(f"/bot{TOKEN}/slow", _slow)
    app.router.add_post(f"/bot{TOKEN}/status/{{code}}", _status)
    app.router.add_post(f"/bot{TOKEN}/hangup", _hang_up)
    app.router.add_get(f"/file/bot{TOKEN}/doc.pdf", _file)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}"
    await runner.cleanup()


@pytest.fixture
async def transport() -> AsyncIterator[AiohttpRequest]:
    """An initialized AiohttpRequest with short timeouts."""
    request = AiohttpRequest(read_timeout=2.0, connect_timeout=2.0, write_timeout=2.0)
    async with request:
        yield request


def _data(**parameters: Any) -> RequestData:
    return RequestData(
        [RequestParameter.from_input(name, value) for name, value in parameters.items()]
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_do_request_posts_parameters_as_json(server: str, transport: AiohttpRequest) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Đồng ý", callback_data="yes")]])
    status, body = await transport.do_request(
        f"{server}/bot{TOKEN}/echo",
        "POST",
        _data(chat_id=42, text="Đường ống nước bị vỡ & tràn", reply_markup=markup),
    )
    result = json.loads(body)["result"]
    assert status == 200
    assert result["content_type"] == "application/json"
    # Values keep their JSON types: a number stays a number, the keyboard an object.
    assert result["fields"]["chat_id"] == 42
    assert result["fields"]["text"] == "Đường ống nước bị vỡ & tràn"
    keyboard = result["fields"]["reply_markup"]["inline_keyboard"]
    assert keyboard[0][0] == {"text": "Đồng ý", "callback_data": "yes"}


async def test_do_request_sends_ptb_user_agent(server: str, transport: AiohttpRequest) -> None:
    _, body = await transport.do_request(f"{server}/bot{TOKEN}/echo", "POST")
    assert json.loads(body)["result"]["user_agent"] == BaseRequest.USER_AGENT


async def test_post_uploads_files_as_multipart_with_unicode_names(
    server: str, transport: AiohttpRequest
) -> None:
    content = b"%PDF-1.4 " + bytes(range(256)) * 50
    document = InputFile(content, filename="Đơn kiến nghị số 3.pdf")
    result = await transport.post(
        f"{server}/bot{TOKEN}/echo", _data(chat_id=7, document=document, caption="Hồ sơ")
    )
    assert isinstance(result, dict)
    assert result["content_type"] == "multipart/form-data"
    assert result["fields"] == {"chat_id": "7", "caption": "Hồ sơ"}
    uploaded = result["files"]["document"]
    assert uploaded["filename"] == "Đơn kiến nghị số 3.pdf"
    assert uploaded["content_type"] == "application/pdf"
    assert uploaded["sha256"] == hashlib.sha256(content).hexdigest()


async def test_post_uploads_file_handles(server: str, transport: AiohttpRequest) -> None:
    content = b"line\n" * 5000
    handle = io.BytesIO(content)
    result = await transport.post(
        f"{server}/bot{TOKEN}/echo",
        _data(chat_id=7, document=InputFile(handle, filename="log.txt", read_file_handle=False)),
    )
    assert isinstance(result, dict)
    assert result["files"]["document"]["sha256"] == hashlib.sha256(content).hexdigest()


async def test_retrieve_downloads_file_bytes(server: str, transport: AiohttpRequest) -> None:
    payload = await transport.retrieve(f"{server}/file/bot{TOKEN}/doc.pdf")
    assert payload == b"\x00\x01binary\xff" * 1000


async def test_do_request_returns_error_status_and_body(
    server: str, transport: AiohttpRequest
) -> None:
    status, body = await transport.do_request(f"{server}/bot{TOKEN}/status/500", "POST")
    assert status == 500
    assert json.loads(body)["description"] == "Internal Server Error"


async def test_post_maps_server_error_to_network_error(
    server: str, transport: AiohttpRequest
) -> None:
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await transport.post(f"{server}/bot{TOKEN}/status/500")


async def test_do_request_raises_timed_out_on_slow_response(
    server: str, transport: AiohttpRequest
) -> None:
    started = time.monotonic()
    with pytest.raises(TimedOut):
        await transport.do_request(
            f"{server}/bot{TOKEN}/slow?delay=0.3", "POST", read_timeout=0.05
        )
    assert time.monotonic() - started < 1.0


async def test_do_request_per_call_read_timeout_overrides_default(server: str) -> None:
    async with AiohttpRequest(read_timeout=0.05) as request:
        status, _ = await request.do_request(
            f"{server}/bot{TOKEN}/slow?delay=0.2", "POST", read_timeout=2.0
        )
        assert status == 200
        with pytest.raises(TimedOut):
            await request.do_request(f"{server}/bot{TOKEN}/slow?delay=0.2", "POST")


async def test_do_request_raises_network_error_when_connection_refused(
    transport: AiohttpRequest,
) -> None:
    url = f"http://127.0.0.1:{_free_port()}/bot{TOKEN}/getMe"
    with pytest.raises(NetworkError) as caught:
        await transport.do_request(url, "POST")
    assert not isinstance(caught.value, TimedOut)
    assert "aiohttp.ClientConnectorError" in caught.value.message


async def test_network_error_never_shows_the_token(transport: AiohttpRequest) -> None:
    url = f"http://127.0.0.1:{_free_port()}/bot{TOKEN}/getMe"
    with pytest.raises(NetworkError) as caught:
        await transport.do_request(url, "POST")
    chain: BaseException | None = caught.value
    while chain is not None:
        assert TOKEN.split(":")[1] not in str(chain)
        chain = chain.__cause__ or chain.__context__


async def test_do_request_raises_network_error_when_server_hangs_up(
    server: str, transport: AiohttpRequest
) -> None:
    with pytest.raises(NetworkError, match="ServerDisconnectedError"):
        await transport.do_request(f"{server}/bot{TOKEN}/hangup", "POST")


async def test_do_request_raises_pool_timeout_when_all_slots_busy(server: str) -> None:
    async with AiohttpRequest(connection_pool_size=1, pool_timeout=0.05) as request:
        busy = asyncio.create_task(
            request.do_request(f"{server}/bot{TOKEN}/slow?delay=0.3", "POST")
        )
        await asyncio.sleep(0.05)
        with pytest.raises(TimedOut, match="Pool timeout"):
            await request.do_request(f"{server}/bot{TOKEN}/echo", "POST")
        assert (await busy)[0] == 200


async def test_do_request_runs_concurrent_requests_up_to_pool_size(server: str) -> None:
    async with AiohttpRequest(connection_pool_size=8, pool_timeout=5.0) as request:
        started = time.monotonic()
        results = await asyncio.gather(
            *(request.do_request(f"{server}/bot{TOKEN}/slow?delay=0.2", "POST") for _ in range(8))
        )
        assert [status for status, _ in results] == [200] * 8
        assert time.monotonic() - started < 0.2 * 4


async def test_do_request_creates_session_lazily(server: str) -> None:
    request = AiohttpRequest()
    assert not request.is_initialized
    status, _ = await request.do_request(f"{server}/bot{TOKEN}/echo", "POST")
    assert status == 200
    assert request.is_initialized
    await request.shutdown()


async def test_do_request_after_shutdown_raises_until_initialized_again(server: str) -> None:
    request = AiohttpRequest()
    await request.initialize()
    await request.shutdown()
    await request.shutdown()
    with pytest.raises(RuntimeError, match="shut down"):
        await request.do_request(f"{server}/bot{TOKEN}/echo", "POST")
    await request.initialize()
    assert (await request.do_request(f"{server}/bot{TOKEN}/echo", "POST"))[0] == 200
    await request.shutdown()
    assert not request.is_initialized


def test_read_timeout_property_returns_default() -> None:
    assert AiohttpRequest(read_timeout=7.5).read_timeout == 7.5
    assert AiohttpRequest(read_timeout=None).read_timeout is None


def test_init_rejects_empty_pool() -> None:
    with pytest.raises(ValueError, match="connection_pool_size"):
        AiohttpRequest(connection_pool_size=0)


def test_redact_token_masks_urls_and_bare_tokens() -> None:
    text = f"Cannot write request body for http://h/bot{TOKEN}/sendMessage; token {TOKEN}"
    redacted = redact_token(text)
    assert "AAH-aiohttp" not in redacted
    assert "/bot<token>/sendMessage" in redacted


async def test_bot_get_updates_long_poll_outlasts_default_read_timeout() -> None:
    # PTB adds the long-poll timeout to the getUpdates request's read timeout; an empty
    # long poll must end in an empty list, not TimedOut.
    async with TelegramEmulator(token=TOKEN) as emulator:
        bot = Bot(
            TOKEN,
            base_url=emulator.base_url,
            base_file_url=emulator.base_file_url,
            request=AiohttpRequest(),
            get_updates_request=AiohttpRequest(connection_pool_size=1, read_timeout=0.1),
        )
        async with bot:
            started = time.monotonic()
            assert await bot.get_updates(timeout=timedelta(seconds=0.4)) == ()
            assert time.monotonic() - started >= 0.35


async def test_bot_uses_both_request_objects_concurrently() -> None:
    async with TelegramEmulator(token=TOKEN) as emulator:
        await emulator.register_private_chat(42, "Lan")
        bot = Bot(
            TOKEN,
            base_url=emulator.base_url,
            base_file_url=emulator.base_file_url,
            request=AiohttpRequest(),
            get_updates_request=AiohttpRequest(connection_pool_size=1),
        )
        async with bot:
            poll = asyncio.create_task(bot.get_updates(timeout=2))
            await asyncio.sleep(0.05)
            sent = await bot.send_message(42, "Xin chào")
            await emulator.send_text(42, "Chào bot")
            updates = await poll
        assert sent.text == "Xin chào"
        assert [update.message.text for update in updates if update.message] == ["Chào bot"]


async def test_do_request_goes_through_configured_proxy() -> None:
    seen: list[tuple[str, str]] = []

    async def proxy(request: web.Request) -> web.Response:
        seen.append((request.method, request.headers.get("Host", "")))
        return web.json_response({"ok": True, "result": "via proxy"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with AiohttpRequest(proxy=f"http://127.0.0.1:{port}") as request:
            # The target name never resolves: only the proxy is contacted.
            result = await request.post(f"http://api.telegram.invalid/bot{TOKEN}/getMe")
    finally:
        await runner.cleanup()
    assert result == "via proxy"
    assert seen == [("POST", "api.telegram.invalid")]
