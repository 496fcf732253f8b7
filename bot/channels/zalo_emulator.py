"""A Zalo emulator speaking the Bot Platform API and the Official Account Open API over HTTP.

    async with ZaloEmulator() as emu:
        emu.register_private_chat("u1", "Lan")
        ... start the bot with token=emu.token, base_url=emu.base_url ...
        await emu.send_text("u1", "/start")
        reply = await emu.wait_for_bot_message("u1")

Calls are `POST /bot{token}/{method}` with JSON, answered `{"ok": true, "result": ...}` or
`{"ok": false, "error_code": N, "description": ...}`. getUpdates long-polls and returns one
update at a time; with a webhook set, updates are posted to it with the secret header instead.
State lives in memory and is changed only from the event loop.

The Official Account side (`base_url` without `/bot`, for both `api_base` and `oauth_base`):
`POST /v3.0/oa/message/cs` and `/transaction` with the `access_token` header, answered
`{"error": 0, "data": {...}}` or `{"error": N, "message": ...}` (-216 for an invalid or
expired token); `POST /v4/oa/access_token` trades a refresh token, once, for a new pair.
Follower events are posted to the OA webhook signed with `X-ZEvent-Signature`. Files that
users send are served from `/files/{name}`, as Zalo's CDN would serve them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

_LOGGER = logging.getLogger(__name__)

MAX_TEXT_LENGTH = 2000
SECRET_HEADER = "X-Bot-Api-Secret-Token"
_CHAT_ACTIONS = frozenset({"typing", "upload_photo"})


class _ApiError(Exception):
    def __init__(self, error_code: int, description: str, status: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.status = status if status is not None else error_code


@dataclass
class _Fault:
    error_code: int
    description: str
    status: int


@dataclass
class _Chat:
    chat_id: str
    chat_type: str  # PRIVATE or GROUP
    name: str
    members: set[str] = field(default_factory=set)


@dataclass
class WebhookCall:
    """One post of an update to the bot's webhook and the status it answered."""

    update: dict[str, Any]
    status: int


@dataclass
class OAWebhookCall:
    """One post of an OA event to the bot's webhook: the status and how long it took."""

    event: dict[str, Any]
    status: int
    seconds: float


class ZaloEmulator:
    """An in-memory Zalo Bot API server on 127.0.0.1 with injection and inspection helpers."""

    def __init__(self, token: str = "1234567890:zalo-test-token") -> None:
        self.token = token
        self.chats: dict[str, _Chat] = {}
        self.users: dict[str, str] = {}
        self.messages: list[dict[str, Any]] = []  # user and bot messages, in order
        self.requests: list[tuple[str, dict[str, Any], int]] = []  # method, params, status
        self.chat_actions: list[tuple[str, str]] = []
        self.webhook_url = ""
        self.webhook_secret = ""
        self.webhook_calls: list[WebhookCall] = []
        self._queue: list[dict[str, Any]] = []
        self._faults: dict[str, list[_Fault]] = {}
        self._cursors: dict[str, int] = {}
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._client: aiohttp.ClientSession | None = None
        self._posting: set[asyncio.Task[None]] = set()
        self._closing = False
        self._init_oa()

    async def __aenter__(self) -> ZaloEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Serve the API on a free loopback port."""
        app = web.Application()
        self._add_oa_routes(app)
        app.router.add_post("/{prefix}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        sockets: Any = getattr(site._server, "sockets", None)
        self._port = int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop serving and finish webhook posts."""
        self._closing = True  # pending long polls answer at once instead of holding shutdown
        self._wake()
        for task in list(self._posting):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        """The base URL for the bot's config (the token follows it)."""
        return f"http://127.0.0.1:{self._port}/bot"

    # --- the Bot API ------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = {}
        try:
            if request.can_read_body:
                body = await request.json()
                params = body if isinstance(body, dict) else {}
            if request.match_info["prefix"] != f"bot{self.token}":
                raise _ApiError(401, "Unauthorized")
            fault = self._take_fault(method)
            if fault is not None:
                raise _ApiError(fault.error_code, fault.description, fault.status)
            handler = self._methods().get(method)
            if handler is None:
                raise _ApiError(404, f"Method {method} not found")
            if method == "getUpdates":
                result = await self._get_updates(params, gone=lambda: _caller_gone(request))
            else:
                result = await handler(params)
        except _ApiError as exc:
            self.requests.append((method, params, exc.status))
            self._wake()
            payload = {"ok": False, "error_code": exc.error_code, "description": exc.description}
            return web.json_response(payload, status=exc.status)
        except ValueError:
            self.requests.append((method, params, 400))
            payload = {"ok": False, "error_code": 400, "description": "Bad Request: not JSON"}
            return web.json_response(payload, status=400)
        self.requests.append((method, params, 200))
        return web.json_response({"ok": True, "result": result})

    def _methods(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        return {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendChatAction": self._send_chat_action,
        }

    async def _get_me(self, _params: dict[str, Any]) -> dict[str, Any]:
        bot_id = self.token.split(":", 1)[0]
        return {"id": bot_id, "account_name": "bot.hotline", "account_type": "BASIC"}

    async def _get_updates(
        self, params: dict[str, Any], gone: Callable[[], bool] = lambda: False
    ) -> dict[str, Any]:
        """Hand the oldest update to a caller still listening (one that hung up gets none)."""
        if self.webhook_url:
            raise _ApiError(409, "Conflict: a webhook is set; delete it to use getUpdates")
        try:
            seconds = float(params.get("timeout", 30))
        except (TypeError, ValueError) as exc:
            raise _ApiError(400, "Bad Request: timeout must be a number") from exc
        deadline = time.monotonic() + max(seconds, 0.0)
        while not self._queue or gone():
            left = deadline - time.monotonic()
            if left <= 0 or self._closing or gone():
                raise _ApiError(408, "Request timeout")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=left)
            if self.webhook_url:
                raise _ApiError(409, "Conflict: a webhook is set")
        return self._queue.pop(0)

    async def _set_webhook(self, params: dict[str, Any]) -> dict[str, Any]:
        url, secret = str(params.get("url") or ""), str(params.get("secret_token") or "")
        if not url.startswith(("http://", "https://")):
            raise _ApiError(400, "Bad Request: url is invalid")
        if not 8 <= len(secret) <= 256:
            raise _ApiError(400, "Bad Request: secret_token must have 8 to 256 characters")
        self.webhook_url, self.webhook_secret = url, secret
        self._wake()
        for update in self._queue:
            self._post(update)
        self._queue.clear()
        return {"url": url, "updated_at": self._now()}

    async def _delete_webhook(self, _params: dict[str, Any]) -> dict[str, Any]:
        self.webhook_url, self.webhook_secret = "", ""
        return {"url": "", "updated_at": self._now()}

    async def _get_webhook_info(self, _params: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.webhook_url, "updated_at": self._now()}

    def _target(self, params: dict[str, Any]) -> _Chat:
        chat_id = str(params.get("chat_id") or "")
        if not chat_id:
            raise _ApiError(400, "Bad Request: chat_id is required")
        chat = self.chats.get(chat_id)
        if chat is None:
            raise _ApiError(400, "Bad Request: chat not found")
        return chat

    @staticmethod
    def _check_length(name: str, value: str, *, required: bool) -> None:
        if required and not value:
            raise _ApiError(400, f"Bad Request: {name} is required")
        if len(value) > MAX_TEXT_LENGTH:
            raise _ApiError(
                400, f"Bad Request: {name} must have 1 to {MAX_TEXT_LENGTH} characters"
            )

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target(params)
        text = str(params.get("text") or "")
        self._check_length("text", text, required=True)
        return self._bot_message(chat, {"kind": "text", "text": text})

    async def _send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target(params)
        photo, caption = str(params.get("photo") or ""), str(params.get("caption") or "")
        if not photo.startswith(("http://", "https://")):
            raise _ApiError(400, "Bad Request: photo must be a URL")
        self._check_length("caption", caption, required=False)
        return self._bot_message(chat, {"kind": "photo", "photo": photo, "text": caption})

    async def _send_chat_action(self, params: dict[str, Any]) -> bool:
        chat = self._target(params)
        action = str(params.get("action") or "")
        if action not in _CHAT_ACTIONS:
            raise _ApiError(400, "Bad Request: unknown action")
        self.chat_actions.append((chat.chat_id, action))
        return True

    def _bot_message(self, chat: _Chat, content: dict[str, Any]) -> dict[str, Any]:
        message = {
            "message_id": self._new_id(),
            "chat_id": chat.chat_id,
            "from_bot": True,
            "date": self._now(),
            **content,
        }
        self.messages.append(message)
        self._wake()
        return {"message_id": message["message_id"], "date": message["date"]}

    # --- failure injection -------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        error_code: int = 429,
        description: str = "Too many requests",
        status: int | None = None,
        count: int = 1,
    ) -> None:
        """Make the next `count` calls of `method` fail with this error."""
        fault = _Fault(error_code, description, status if status is not None else error_code)
        self._faults.setdefault(method, []).extend([fault] * count)

    def _take_fault(self, method: str) -> _Fault | None:
        faults = self._faults.get(method)
        return faults.pop(0) if faults else None

    # --- chats and injection -----------------------------------------------------------------

    def register_private_chat(self, user_id: str, name: str) -> None:
        """Add a user and their private chat with the bot (the chat id is the user id)."""
        self.users[user_id] = name
        self.chats[user_id] = _Chat(user_id, "PRIVATE", name, {user_id})

    def register_group(self, chat_id: str, name: str, members: list[str]) -> None:
        """Add a group chat the bot is in."""
        self.chats[chat_id] = _Chat(chat_id, "GROUP", name, set(members))

    def register_user(self, user_id: str, name: str) -> None:
        """Add a user without a private chat (a group member)."""
        self.users[user_id] = name

    def _user_message(
        self, chat_id: str, event: str, content: dict[str, Any], user_id: str | None
    ) -> dict[str, Any]:
        chat = self.chats.get(chat_id)
        if chat is None:
            raise KeyError(f"unknown chat {chat_id}")
        sender = user_id or chat_id
        if chat.chat_type == "GROUP" and sender not in chat.members:
            raise KeyError(f"user {sender} is not a member of {chat_id}")
        message_id = self._new_id()
        message = {
            "message_id": message_id,
            "from": {"id": sender, "display_name": self.users.get(sender, ""), "is_bot": False},
            "chat": {"id": chat_id, "chat_type": chat.chat_type},
            "date": self._now(),
            **content,
        }
        update = {"event_name": event, "message": message}
        self.messages.append(
            {"message_id": message_id, "chat_id": chat_id, "from_bot": False, **content}
        )
        self._deliver(update)
        return update

    async def send_text(
        self, chat_id: str, text: str, user_id: str | None = None
    ) -> dict[str, Any]:
        """A user writes text in a chat; return the update."""
        return self._user_message(chat_id, "message.text.received", {"text": text}, user_id)

    async def send_image(
        self, chat_id: str, photo_url: str, caption: str = "", user_id: str | None = None
    ) -> dict[str, Any]:
        """A user sends a picture (by URL, as Zalo gives it) with an optional caption."""
        content: dict[str, Any] = {"photo_url": photo_url}
        if caption:
            content["caption"] = caption
        return self._user_message(chat_id, "message.image.received", content, user_id)

    async def send_sticker(
        self, chat_id: str, sticker: str, user_id: str | None = None
    ) -> dict[str, Any]:
        """A user sends a sticker."""
        content = {"sticker": sticker}
        return self._user_message(chat_id, "message.sticker.received", content, user_id)

    async def redeliver(self, update: dict[str, Any]) -> None:
        """Deliver an update again, as Zalo may after a timeout."""
        self._deliver(update)

    def _deliver(self, update: dict[str, Any]) -> None:
        if self.webhook_url:
            self._post(update)
        else:
            self._queue.append(update)
            self._wake()

    def _post(self, update: dict[str, Any]) -> None:
        task = asyncio.create_task(self._post_now(update))
        self._posting.add(task)
        task.add_done_callback(self._posting.discard)

    async def _post_now(self, update: dict[str, Any]) -> None:
        if self._client is None:
            self._client = aiohttp.ClientSession()
        headers = {SECRET_HEADER: self.webhook_secret}
        try:
            async with self._client.post(self.webhook_url, json=update, headers=headers) as resp:
                status = resp.status
        except aiohttp.ClientError as exc:
            _LOGGER.warning("webhook post failed: %s", exc)
            status = 0
        self.webhook_calls.append(WebhookCall(update, status))
        self._wake()

    # --- the Official Account Open API (issue 11) --------------------------------------------

    def _init_oa(self) -> None:
        self.oa_app_id = "4318240712345678901"
        self.oa_secret_key = "oa-secret-key-for-tests"
        self.oa_app_secret = "app-secret-for-tests"
        self.oa_webhook_url = ""
        self.oa_followers: dict[str, str] = {}
        self.oa_calls: list[tuple[str, dict[str, Any], int]] = []  # endpoint, body, error
        self.oa_webhook_calls: list[OAWebhookCall] = []
        self.refresh_calls: list[tuple[str, bool]] = []  # refresh token given, accepted
        self.token_lifetime = 90_000  # seconds, as Zalo gives access tokens (25 hours)
        self.oa_closed_windows: set[str] = set()
        self.downloads: list[str] = []
        self._access_tokens: dict[str, float] = {}  # token → expiry (monotonic)
        self._refresh_tokens: set[str] = set()
        self._files: dict[str, tuple[bytes, str]] = {}
        self._oa_faults: dict[str, list[tuple[int, str]]] = {}

    def _add_oa_routes(self, app: web.Application) -> None:
        app.router.add_post("/v3.0/oa/message/{kind}", self._oa_message)
        app.router.add_post("/v4/oa/access_token", self._oa_refresh)
        app.router.add_get("/files/{name}", self._serve_file)

    @property
    def oa_base_url(self) -> str:
        """The base URL for `[zalo_oa] api_base` and `oauth_base`."""
        return f"http://127.0.0.1:{self._port}"

    def issue_tokens(self) -> tuple[str, str]:
        """Issue a fresh (access token, refresh token) pair, as the OA's admin would get."""
        access = "at-" + secrets.token_hex(12)
        refresh = "rt-" + secrets.token_hex(12)
        self._access_tokens[access] = time.monotonic() + self.token_lifetime
        self._refresh_tokens.add(refresh)
        return access, refresh

    def oa_settings(self) -> dict[str, Any]:
        """The `[zalo_oa]` values that point the bot at this emulator, with a fresh pair."""
        access, refresh = self.issue_tokens()
        return {
            "app_id": self.oa_app_id,
            "secret_key": self.oa_secret_key,
            "app_secret": self.oa_app_secret,
            "access_token": access,
            "refresh_token": refresh,
            "api_base": self.oa_base_url,
            "oauth_base": self.oa_base_url,
        }

    def expire_access_tokens(self) -> None:
        """Make every access token issued so far expired (the refresh tokens stay valid)."""
        self._access_tokens.clear()

    def valid_refresh_tokens(self) -> set[str]:
        """The refresh tokens that would still be accepted."""
        return set(self._refresh_tokens)

    def valid_access_tokens(self) -> set[str]:
        """The access tokens that would still be accepted."""
        now = time.monotonic()
        return {token for token, until in self._access_tokens.items() if until > now}

    def register_follower(self, user_id: str, name: str) -> None:
        """Add a Zalo user who follows the OA (the OA's chat id with them is the user id)."""
        self.oa_followers[user_id] = name

    def close_window(self, user_id: str) -> None:
        """Make Zalo refuse consultation messages to this follower (no recent interaction)."""
        self.oa_closed_windows.add(user_id)

    def fail_next_oa(self, kind: str, error: int, message: str, count: int = 1) -> None:
        """Make the next `count` messages of `kind` (cs, transaction) answer this error."""
        self._oa_faults.setdefault(kind, []).extend([(error, message)] * count)

    def host_file(self, name: str, data: bytes, content_type: str) -> str:
        """Serve a file as Zalo's CDN would; return its URL."""
        self._files[name] = (data, content_type)
        return f"{self.oa_base_url}/files/{name}"

    def file(self, name: str) -> bytes:
        """Return the content of a hosted file; LookupError if there is none."""
        found = self._files.get(name)
        if found is None:
            raise LookupError(f"no file {name!r}")
        return found[0]

    async def _serve_file(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.downloads.append(name)
        found = self._files.get(name)
        if found is None:
            return web.Response(status=404, text="not found")
        return web.Response(body=found[0], content_type=found[1])

    def _oa_answer(
        self,
        kind: str,
        body: dict[str, Any],
        error: int,
        message: str,
        data: dict[str, Any] | None = None,
    ) -> web.Response:
        self.oa_calls.append((kind, body, error))
        self._wake()
        payload: dict[str, Any] = {"error": error, "message": message}
        if data is not None:
            payload["data"] = data
        return web.json_response(payload)

    async def _oa_message(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        try:
            body = await request.json()
        except ValueError:
            return self._oa_answer(kind, {}, -201, "Body is not valid JSON")
        if not isinstance(body, dict):
            return self._oa_answer(kind, {}, -201, "Body must be an object")
        token = request.headers.get("access_token", "")
        if token not in self.valid_access_tokens():
            return self._oa_answer(kind, body, -216, "Access token is invalid")
        if kind not in ("cs", "transaction"):
            return self._oa_answer(kind, body, -201, f"unknown message type {kind}")
        faults = self._oa_faults.get(kind)
        if faults:
            error, message = faults.pop(0)
            return self._oa_answer(kind, body, error, message)
        user_id = str((body.get("recipient") or {}).get("user_id") or "")
        if user_id not in self.oa_followers:
            return self._oa_answer(kind, body, -213, "User has not followed the OA")
        if kind == "cs" and user_id in self.oa_closed_windows:
            return self._oa_answer(kind, body, -230, "User has not interacted with the OA lately")
        content = self._oa_content(body.get("message") or {})
        if isinstance(content, str):
            return self._oa_answer(kind, body, -201, content)
        message_id = self._new_id()
        self.messages.append(
            {
                "message_id": message_id,
                "chat_id": user_id,
                "from_bot": True,
                "channel": "oa",
                "paid": kind == "transaction",
                "date": self._now(),
                **content,
            }
        )
        return self._oa_answer(
            kind, body, 0, "Success", {"message_id": message_id, "user_id": user_id}
        )

    @staticmethod
    def _oa_content(message: dict[str, Any]) -> dict[str, Any] | str:
        """Return what a message shows, or why it is refused."""
        text = str(message.get("text") or "")
        if len(text) > MAX_TEXT_LENGTH:
            return f"text must have at most {MAX_TEXT_LENGTH} characters"
        attachment = message.get("attachment")
        if attachment is None:
            return {"kind": "text", "text": text} if text else "message text is empty"
        payload = (attachment or {}).get("payload") or {}
        template = payload.get("template_type")
        if template == "media":
            elements = payload.get("elements") or []
            url = str((elements[0] if elements else {}).get("url") or "")
            if not url.startswith(("http://", "https://")):
                return "media element needs an image url"
            return {"kind": "photo", "photo": url, "text": text}
        if template and str(template).startswith("transaction"):
            parts = [str(e.get("content") or "") for e in payload.get("elements") or []]
            if any(len(part) > MAX_TEXT_LENGTH for part in parts):
                return f"element content must have at most {MAX_TEXT_LENGTH} characters"
            return {
                "kind": "transaction",
                "text": "\n".join(parts[1:]),
                "title": parts[0] if parts else "",
            }
        return f"unsupported attachment {template!r}"

    async def _oa_refresh(self, request: web.Request) -> web.Response:
        form = await request.post()
        given = str(form.get("refresh_token") or "")
        problem = ""
        if request.headers.get("secret_key") != self.oa_app_secret:
            problem = "Invalid secret key"
        elif str(form.get("app_id") or "") != self.oa_app_id:
            problem = "Invalid app id"
        elif form.get("grant_type") != "refresh_token":
            problem = "Invalid grant type"
        elif given not in self._refresh_tokens:
            problem = "Invalid refresh token"
        self.refresh_calls.append((given, not problem))
        self._wake()
        if problem:
            return web.json_response(
                {"error": -14014, "error_name": "Invalid parameter", "error_description": problem}
            )
        self._refresh_tokens.discard(given)  # a refresh token works once
        access, refresh = self.issue_tokens()
        return web.json_response(
            {
                "access_token": access,
                "refresh_token": refresh,
                "expires_in": str(self.token_lifetime),
            }
        )

    # --- OA follower events ------------------------------------------------------------------

    def oa_signature(self, body: bytes, timestamp: str) -> str:
        """Sign an event as Zalo does: SHA-256 of app id, body, timestamp, OA secret key."""
        data = self.oa_app_id.encode() + body + timestamp.encode() + self.oa_secret_key.encode()
        return "mac=" + hashlib.sha256(data).hexdigest()

    def _oa_event(self, user_id: str, event_name: str, message: dict[str, Any]) -> dict[str, Any]:
        if user_id not in self.oa_followers:
            raise KeyError(f"unknown follower {user_id}")
        timestamp = str(self._now())
        event: dict[str, Any] = {
            "app_id": self.oa_app_id,
            "user_id_by_app": "app-" + user_id,
            "event_name": event_name,
            "timestamp": timestamp,
            "sender": {"id": user_id},
            "recipient": {"id": "oa-1022"},
        }
        if event_name == "follow":
            event = {k: v for k, v in event.items() if k not in ("sender", "recipient")}
            event.update({"oa_id": "oa-1022", "follower": {"id": user_id}, "source": "oa_profile"})
        else:
            event["message"] = {"msg_id": secrets.token_hex(16), **message}
        if not event_name.startswith("oa_"):
            self.messages.append(
                {
                    "message_id": event.get("message", {}).get("msg_id", ""),
                    "chat_id": user_id,
                    "from_bot": False,
                    "channel": "oa",
                    "event_name": event_name,
                    "date": int(timestamp),
                    **message,
                }
            )
        return event

    async def oa_send_text(self, user_id: str, text: str) -> dict[str, Any]:
        """A follower writes to the OA; return the event after the webhook answered."""
        return await self.oa_deliver(self._oa_event(user_id, "user_send_text", {"text": text}))

    async def oa_send_image(self, user_id: str, url: str, text: str = "") -> dict[str, Any]:
        """A follower sends a photo (Zalo gives its CDN URL)."""
        attachment = {"type": "image", "payload": {"url": url, "thumbnail": url}}
        message: dict[str, Any] = {"attachments": [attachment]}
        if text:
            message["text"] = text
        return await self.oa_deliver(self._oa_event(user_id, "user_send_image", message))

    async def oa_send_file(
        self, user_id: str, url: str, name: str, size: int = 0, kind: str = "pdf"
    ) -> dict[str, Any]:
        """A follower sends a file."""
        payload = {"url": url, "name": name, "size": str(size), "type": kind, "checksum": ""}
        message = {"attachments": [{"type": "file", "payload": payload}]}
        return await self.oa_deliver(self._oa_event(user_id, "user_send_file", message))

    async def oa_send_location(self, user_id: str, lat: float, lon: float) -> dict[str, Any]:
        """A follower shares a location (coordinates arrive as strings)."""
        coordinates = {"latitude": str(lat), "longitude": str(lon)}
        message = {"attachments": [{"type": "location", "payload": {"coordinates": coordinates}}]}
        return await self.oa_deliver(self._oa_event(user_id, "user_send_location", message))

    async def oa_send_sticker(self, user_id: str, sticker_id: str) -> dict[str, Any]:
        """A follower sends a sticker."""
        payload = {"id": sticker_id, "url": f"https://zalo.invalid/sticker/{sticker_id}"}
        message = {"attachments": [{"type": "sticker", "payload": payload}]}
        return await self.oa_deliver(self._oa_event(user_id, "user_send_sticker", message))

    async def oa_follow(self, user_id: str) -> dict[str, Any]:
        """A user follows the OA."""
        return await self.oa_deliver(self._oa_event(user_id, "follow", {}))

    async def oa_echo(self, user_id: str, text: str) -> dict[str, Any]:
        """Zalo tells the webhook of a message the OA itself sent (an `oa_send_text` echo)."""
        return await self.oa_deliver(self._oa_event(user_id, "oa_send_text", {"text": text}))

    async def oa_deliver(
        self, event: dict[str, Any], *, signature: str | None = None
    ) -> dict[str, Any]:
        """Post an event to the OA webhook (again, for a redelivery) and wait for the answer."""
        body = json.dumps(event, ensure_ascii=False).encode()
        header = (
            signature if signature is not None else self.oa_signature(body, event["timestamp"])
        )
        if self._client is None:
            self._client = aiohttp.ClientSession()
        started = time.monotonic()
        try:
            async with self._client.post(
                self.oa_webhook_url,
                data=body,
                headers={"X-ZEvent-Signature": header, "Content-Type": "application/json"},
            ) as resp:
                status = resp.status
        except aiohttp.ClientError as exc:
            _LOGGER.warning("oa webhook post failed: %s", exc)
            status = 0
        self.oa_webhook_calls.append(OAWebhookCall(event, status, time.monotonic() - started))
        self._wake()
        return event

    # --- inspection --------------------------------------------------------------------------

    def history(self, chat_id: str) -> list[dict[str, Any]]:
        """Every message of a chat, user's and bot's, in order."""
        return [m for m in self.messages if m["chat_id"] == chat_id]

    def bot_messages(self, chat_id: str) -> list[dict[str, Any]]:
        """The bot's messages in a chat, in order."""
        return [m for m in self.history(chat_id) if m["from_bot"]]

    async def wait_for_bot_message(
        self,
        chat_id: str,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a test helper's own deadline
    ) -> dict[str, Any]:
        """Return the bot's next message in the chat (after the cursor) matching `predicate`."""
        deadline = time.monotonic() + timeout
        while True:
            sent = self.bot_messages(chat_id)
            start = self._cursors.get(chat_id, 0)
            for index in range(start, len(sent)):
                if predicate is None or predicate(sent[index]):
                    self._cursors[chat_id] = index + 1
                    return sent[index]
            left = deadline - time.monotonic()
            if left <= 0:
                texts = [m.get("text", "") for m in sent[start:]]
                raise TimeoutError(f"no matching bot message in {chat_id}; got {texts}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=left)

    async def wait_until(
        self,
        check: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - a test helper's own deadline
    ) -> None:
        """Wait until `check()` holds."""
        deadline = time.monotonic() + timeout
        while not check():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("condition not reached")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=left)

    # --- helpers -----------------------------------------------------------------------------

    def _wake(self) -> None:
        self._changed.set()

    def _new_id(self) -> str:
        return f"{next(self._ids):020x}"

    @staticmethod
    def _now() -> int:
        return int(time.time() * 1000)


def _caller_gone(request: web.Request) -> bool:
    """Whether the client of a long poll has closed its connection."""
    return request.transport is None or request.transport.is_closing()
