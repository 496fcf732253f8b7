"""The sandbox's web chat page and its small JSON API beside the emulator's `/_emulator/…`.

The page (static HTML, CSS and JS: no build step, nothing fetched from elsewhere) acts through
the emulator's own injection API and reads each chat's history from it; this module adds what
the emulator does not know: who the demo's chats are, hints for trying the bot, unread counts
for the sidebar, and a safe way to show files users uploaded.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.channels.emulator import MAX_TEXT_LENGTH, TelegramEmulator, image_mime_type, image_size
from bot.channels.zalo_emulator import ZaloEmulator

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
PAGE_FILE = WEB_DIR / "templates" / "sandbox.html"
SANDBOX_PAGE = web.AppKey("sandbox_page", object)

ROLE_LABELS = {
    "citizen": "Người dân",
    "operators": "Tổng đài viên",
    "leaders": "Lãnh đạo",
    "agency": "Cơ quan",
}
KIND_PREVIEWS = {
    "photo": "🖼 Ảnh",
    "document": "📄 Tệp",
    "location": "📍 Vị trí",
    "contact": "👤 Liên hệ",
    "sticker": "🙂 Nhãn dán",
}
EXAMPLE_COMPLAINTS = (
    "Đường Phạm Văn Thuận đoạn gần chợ có nhiều ổ gà rất sâu, tối qua hai xe máy bị té ngã.",
    "Bãi rác tự phát ở đầu hẻm 45 bốc mùi hôi thối cả tuần nay mà không ai thu gom.",
    "Quán karaoke trong khu dân cư mở nhạc rất to đến 1 giờ sáng, người dân không ngủ được.",
)
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
        "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
FILE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, max-age=3600",
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


@dataclass(frozen=True)
class SandboxChat:
    """A chat of the demo and the person the visitor acts as in it."""

    chat_id: int
    title: str
    role: str  # citizen, operators, leaders, agency
    user_id: int
    user_name: str
    phone: str = ""
    agency_id: str | None = None
    # --- a citizen on Zalo (issue 11): the chat's API beside the Telegram emulator's ---
    channel: str = "telegram"
    api: str = ""  # empty: the Telegram emulator's /_emulator

    def to_json(self) -> dict[str, Any]:
        """Describe the chat for the page."""
        return {**asdict(self), "role_label": ROLE_LABELS.get(self.role, self.role)}


@dataclass(frozen=True)
class DemoHint:
    """A seeded dossier a visitor can look up, with the LAST4 that verifies it."""

    code: str
    last4: str
    label: str

    def to_json(self) -> dict[str, str]:
        """Describe the hint for the page."""
        return asdict(self)


def message_preview(message: dict[str, Any]) -> str:
    """Return a one-line preview of a history entry for the sidebar (plain text)."""
    text = " ".join(str(message.get("text") or "").split())
    kind = str(message.get("kind") or "text")
    if kind != "text":
        label = KIND_PREVIEWS.get(kind, kind)
        text = f"{label}: {text}" if text else label
    return text if len(text) <= 80 else text[:79] + "…"


class SandboxPage:
    """Routes of the page and its API; reads the emulator it is mounted beside."""

    def __init__(
        self,
        *,
        emulator: TelegramEmulator,
        chats: Iterable[SandboxChat],
        bot_name: str,
        hotline_name: str,
        demo_location: tuple[float, float],
        demo_location_label: str,
        hints: Iterable[DemoHint] = (),
        zalo: ZaloSandboxChats | None = None,
    ) -> None:
        self.emulator = emulator
        self.zalo = zalo
        self.chats = tuple(chats)
        self.bot_name = bot_name
        self.hotline_name = hotline_name
        self.demo_location = demo_location
        self.demo_location_label = demo_location_label
        self.hints = tuple(hints)
        self._page = PAGE_FILE.read_bytes()

    def set_hints(self, hints: Iterable[DemoHint]) -> None:
        """Replace the dossier hints (known once the demo data is seeded)."""
        self.hints = tuple(hints)

    def add_routes(self, app: web.Application) -> None:
        """Add the page, its static files and its API to `app`."""
        app[SANDBOX_PAGE] = self
        app.router.add_get("/", self.page)
        app.router.add_get("/sandbox/api/setup", self.setup)
        app.router.add_get("/sandbox/api/summary", self.summary)
        app.router.add_get("/sandbox/files/{file_id}", self.file)
        app.router.add_static("/sandbox/static", STATIC_DIR, append_version=False)
        if self.zalo is not None:
            self.zalo.add_routes(app)

    def add_fallback(self, app: web.Application, inner: web.Application) -> None:
        """Serve every other path from `inner` (routes added to it after `app` is frozen)."""

        async def forward(request: web.Request) -> web.StreamResponse:
            match = await inner.router.resolve(request)
            if match.http_exception is not None:
                raise match.http_exception
            handler: Callable[[web.Request], Awaitable[web.StreamResponse]] = match.handler
            return await handler(request)

        app.router.add_route("*", "/{tail:.*}", forward)

    async def page(self, request: web.Request) -> web.Response:
        """Serve the chat page."""
        return web.Response(
            body=self._page, content_type="text/html", charset="utf-8", headers=PAGE_HEADERS
        )

    async def setup(self, request: web.Request) -> web.Response:
        """Describe the demo: chats, acting users, hints, the demo location."""
        latitude, longitude = self.demo_location
        payload = {
            "hotline_name": self.hotline_name,
            "bot": {"name": self.bot_name, "username": self.emulator.bot_username},
            "chats": [chat.to_json() for chat in self.chats],
            "hints": [hint.to_json() for hint in self.hints],
            "examples": list(EXAMPLE_COMPLAINTS),
            "demo_location": {
                "latitude": latitude,
                "longitude": longitude,
                "label": self.demo_location_label,
            },
            "max_text_length": MAX_TEXT_LENGTH,
        }
        return web.json_response(payload, headers={"Cache-Control": "no-cache"})

    async def summary(self, request: web.Request) -> web.Response:
        """Count each chat's messages (for unread badges) and preview its last one."""
        chats: dict[str, dict[str, Any]] = {}
        for chat in self.chats:
            try:
                if chat.api and self.zalo is not None:
                    history = self.zalo.messages(chat)
                else:
                    history = self.emulator.history(chat.chat_id, include_deleted=False)
            except LookupError:
                continue
            last = history[-1] if history else None
            chats[str(chat.chat_id)] = {
                "count": len(history),
                "last_preview": message_preview(last) if last else "",
                "last_date": last["date"] if last else None,
            }
        return web.json_response({"chats": chats}, headers={"Cache-Control": "no-cache"})

    async def file(self, request: web.Request) -> web.Response:
        """Serve a stored file: images inline, anything else only as a download."""
        file_id = request.match_info["file_id"]
        try:
            if file_id.startswith(ZALO_FILE_PREFIX) and self.zalo is not None:
                data = self.zalo.emulator.file(file_id.removeprefix(ZALO_FILE_PREFIX))
            else:
                data = self.emulator.file_bytes(file_id)
        except LookupError:
            raise web.HTTPNotFound(text="no such file") from None
        if image_size(data) is not None:
            return web.Response(
                body=data, content_type=image_mime_type(data), headers=FILE_HEADERS
            )
        name = request.query.get("name", "").strip() or "tep"
        disposition = f"attachment; filename*=UTF-8''{quote(name[:200], safe='')}"
        return web.Response(
            body=data,
            content_type="application/octet-stream",
            headers={**FILE_HEADERS, "Content-Disposition": disposition},
        )


# --- a citizen on Zalo (issue 11) ---
ZALO_API = "/sandbox/zalo"
ZALO_FILE_PREFIX = "zalo-"


class ZaloSandboxChats:
    """The page's API for chats with the Zalo OA: the same shapes as the Telegram emulator's.

    The visitor's messages become signed OA webhook events from the Zalo emulator; the history
    is the emulator's record of what the follower and the OA said, in the page's format.
    """

    def __init__(self, emulator: ZaloEmulator, chats: Iterable[SandboxChat]) -> None:
        self.emulator = emulator
        self.chats = {str(chat.chat_id): chat for chat in chats if chat.api}

    def add_routes(self, app: web.Application) -> None:
        """Add the Zalo chats' API under /sandbox/zalo/chats/{chat_id}/…."""
        base = ZALO_API + "/chats/{chat_id}/"
        app.router.add_post(base + "messages", self.send_text)
        app.router.add_post(base + "photo", self.send_photo)
        app.router.add_post(base + "document", self.send_document)
        app.router.add_post(base + "location", self.send_location)
        app.router.add_get(base + "history", self.history)

    def _chat(self, request: web.Request) -> SandboxChat:
        chat = self.chats.get(request.match_info["chat_id"])
        if chat is None:
            raise web.HTTPNotFound(text="no such Zalo chat")
        return chat

    async def send_text(self, request: web.Request) -> web.Response:
        """The follower writes a message."""
        chat = self._chat(request)
        body = await _json_object(request)
        text = str(body.get("text") or "").strip()
        if not text:
            raise web.HTTPBadRequest(text="text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise web.HTTPBadRequest(text=f"text over {MAX_TEXT_LENGTH} characters")
        event = await self.emulator.oa_send_text(str(chat.chat_id), text)
        return web.json_response({"msg_id": event["message"]["msg_id"]})

    async def send_photo(self, request: web.Request) -> web.Response:
        """The follower sends a photo (kept by the emulator as Zalo's CDN keeps it)."""
        chat = self._chat(request)
        data, name, caption = await _upload(request, "photo")
        if image_size(data) is None:
            raise web.HTTPBadRequest(text="not a PNG, JPEG, GIF or WebP image")
        url = self.emulator.host_file(_stored_name(name), data, image_mime_type(data))
        event = await self.emulator.oa_send_image(str(chat.chat_id), url, caption)
        return web.json_response({"msg_id": event["message"]["msg_id"]})

    async def send_document(self, request: web.Request) -> web.Response:
        """The follower sends a file."""
        chat = self._chat(request)
        data, name, _ = await _upload(request, "document")
        url = self.emulator.host_file(_stored_name(name), data, "application/octet-stream")
        event = await self.emulator.oa_send_file(str(chat.chat_id), url, name, size=len(data))
        return web.json_response({"msg_id": event["message"]["msg_id"]})

    async def send_location(self, request: web.Request) -> web.Response:
        """The follower shares a location."""
        chat = self._chat(request)
        body = await _json_object(request)
        try:
            latitude, longitude = float(body["latitude"]), float(body["longitude"])
        except (KeyError, TypeError, ValueError):
            raise web.HTTPBadRequest(text="latitude and longitude are required") from None
        event = await self.emulator.oa_send_location(str(chat.chat_id), latitude, longitude)
        return web.json_response({"msg_id": event["message"]["msg_id"]})

    async def history(self, request: web.Request) -> web.Response:
        """Return the chat's messages; with `wait`, hold until there are more than `since`."""
        chat = self._chat(request)
        try:
            since = int(request.query.get("since_version", "-1"))
            wait = min(max(float(request.query.get("wait", "0")), 0.0), 30.0)
        except ValueError:
            raise web.HTTPBadRequest(text="since_version and wait must be numbers") from None
        if wait and len(self.messages(chat)) == since:
            with contextlib.suppress(TimeoutError):
                await self.emulator.wait_until(lambda: len(self.messages(chat)) != since, wait)
        messages = self.messages(chat)
        payload = {"version": len(messages), "messages": messages, "members": []}
        return web.json_response(payload, headers={"Cache-Control": "no-cache"})

    def messages(self, chat: SandboxChat) -> list[dict[str, Any]]:
        """The chat's history in the page's format (the Telegram emulator's message shape)."""
        return [
            _page_message(entry, chat.user_id)
            for entry in self.emulator.history(str(chat.chat_id))
        ]


def _page_message(entry: dict[str, Any], user_id: int) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": entry.get("message_id"),
        "from_bot": bool(entry.get("from_bot")),
        "user_id": None if entry.get("from_bot") else user_id,
        "date": int(entry.get("date") or 0) // 1000,
        "kind": "text",
        "text": str(entry.get("text") or ""),
        "entities": [],
    }
    for item in entry.get("attachments") or ():
        kind, payload = item.get("type"), item.get("payload") or {}
        url = str(payload.get("url") or "")
        name = url.rsplit("/files/", 1)[-1] if "/files/" in url else ""
        if kind == "image" and name:
            message.update(kind="photo", photo=[{"file_id": ZALO_FILE_PREFIX + name}])
        elif kind == "file" and name:
            document = {"file_id": ZALO_FILE_PREFIX + name, "file_name": payload.get("name")}
            message.update(kind="document", document=document)
        elif kind == "location":
            coordinates = payload.get("coordinates") or {}
            location = {
                "latitude": float(coordinates.get("latitude") or 0),
                "longitude": float(coordinates.get("longitude") or 0),
            }
            message.update(kind="location", location=location)
        elif kind == "sticker":
            message.update(kind="sticker", sticker={"emoji": "🙂"})
    if entry.get("from_bot") and entry.get("kind") == "photo":
        message["text"] = f"{entry.get('photo')}\n{message['text']}".strip()
    return message


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="body is not JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return body


async def _upload(request: web.Request, field: str) -> tuple[bytes, str, str]:
    if request.content_type != "multipart/form-data":
        raise web.HTTPBadRequest(text="send the file as multipart/form-data")
    form = await request.post()
    upload = form.get(field)
    if not isinstance(upload, web.FileField):
        raise web.HTTPBadRequest(text=f"multipart field {field!r} with a file is required")
    data = upload.file.read()
    if not data:
        raise web.HTTPBadRequest(text="the file is empty")
    return data, upload.filename or field, str(form.get("caption") or "").strip()


def _stored_name(name: str) -> str:
    """A fresh, URL-safe name for a file the emulator serves."""
    suffix = Path(name).suffix.lower()
    safe = suffix if suffix[1:].isalnum() and len(suffix) <= 6 else ""
    return f"{secrets.token_hex(8)}{safe}"


def _is_loopback_host(request: web.Request) -> bool:
    host = request.host
    if host.startswith("["):
        name = host.split("]", 1)[0] + "]"
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return name.lower() in LOOPBACK_NAMES


def make_guard(*, loopback_only: bool) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Refuse cross-site writes and, on a loopback server, other host names (DNS rebinding).

    The emulator's API changes state without a login; a page of another site must not be able
    to drive it from a visitor's browser.
    """

    @web.middleware
    async def guard(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if loopback_only and not _is_loopback_host(request):
            raise web.HTTPMisdirectedRequest(text="the sandbox answers on 127.0.0.1 only")
        origin = request.headers.get("Origin")
        if request.method not in SAFE_METHODS and origin is not None:
            expected = f"{request.scheme}://{request.host}"
            if origin != expected:
                log.warning(
                    "refused a cross-site %s %s from %s", request.method, request.path, origin
                )
                raise web.HTTPForbidden(text="cross-site requests are not allowed")
        response = await handler(request)
        if request.path == "/" or request.path.startswith("/sandbox/static/"):
            for name, value in PAGE_HEADERS.items():
                response.headers.setdefault(name, value)
        return response

    return guard
