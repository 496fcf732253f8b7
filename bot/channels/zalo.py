"""Zalo wire: Zalo Bot Platform updates → `Incoming`; `Reply` → plain text with numbered options.

Zalo messages have no inline buttons and no markup. A Reply's buttons become numbered lines
appended to its text; the chat's option list is kept in the database (storage/channel_options),
so a later message that is just a number ("2") arrives as a press of the second button.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp

from bot.chat import Attachment, Incoming, Reply
from bot.config import ZaloConfig
from bot.evidence import EvidenceLinks, is_url
from bot.outbox import DeliveryError
from bot.sole_poller import SolePoller, unless_set, wait_until
from handlers.messages import fmt_datetime, t
from storage import channel_options
from storage.db import Database
from storage.dialogs import load_dialog
from storage.poller_lock import PollerLock

log = logging.getLogger(__name__)
CHANNEL = "zalo"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
MAX_TEXT_LENGTH = 2000  # sendMessage text and sendPhoto caption: 1 to 2000 characters
POLL_TIMEOUT = 30
STOP_SECONDS = 8.0  # what stopping waits for the update in hand before cancelling it

Handle = Callable[[Incoming], Awaitable[Any]]
Clock = Callable[[], datetime]

_NUMBER = re.compile(r"^\s*(\d{1,3})\s*\.?\s*$")
_LINE_BREAK_TAG = re.compile(r"<br\s*/?>", re.IGNORECASE)
_LINK = re.compile(r"<a\s[^>]*href=\"([^\"]*)\"[^>]*>(.*?)</a>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]*)?/?>")


class ZaloApiError(Exception):
    """An answer of the Bot API with `ok: false` (or a non-2xx HTTP status)."""

    def __init__(self, status: int, error_code: int, description: str) -> None:
        super().__init__(f"{error_code} {description}")
        self.status = status
        self.error_code = error_code
        self.description = description


class ZaloNetworkError(Exception):
    """The API could not be reached, or its answer was not JSON."""


class ZaloClient:
    """A small client of the Zalo Bot API: `POST {base_url}{token}/{method}` with JSON."""

    def __init__(self, token: str, base_url: str) -> None:
        self._token = token
        self._base = f"{base_url}{token}/"
        self._session: aiohttp.ClientSession | None = None

    def _hide(self, text: str) -> str:
        # aiohttp errors may quote the URL, and the URL carries the token.
        return text.replace(self._token, "***") if self._token else text

    async def call(
        self, method: str, params: dict[str, Any] | None = None, *, wait: float = 30.0
    ) -> Any:
        """Call one method and return its `result`; raise ZaloApiError or ZaloNetworkError."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        timeout = aiohttp.ClientTimeout(total=wait + 10.0, connect=10.0)
        try:
            async with self._session.post(
                self._base + method, json=params or {}, timeout=timeout
            ) as response:
                status = response.status
                try:
                    body: Any = await response.json(content_type=None)
                except ValueError as exc:
                    if status >= 400:
                        raise ZaloApiError(status, status, response.reason or "error") from exc
                    raise ZaloNetworkError(f"{method}: answer is not JSON") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ZaloNetworkError(
                f"{method}: {self._hide(str(exc)) or type(exc).__name__}"
            ) from exc
        if not isinstance(body, dict):
            raise ZaloNetworkError(f"{method}: unexpected answer")
        if status >= 400 or not body.get("ok", False):
            code = body.get("error_code")
            error_code = code if isinstance(code, int) else status
            description = str(body.get("description") or body.get("message") or "error")
            raise ZaloApiError(status, error_code, self._hide(description))
        return body.get("result")

    async def get_me(self) -> dict[str, Any]:
        """Return the bot's account (checks the token)."""
        result = await self.call("getMe")
        return result if isinstance(result, dict) else {}

    async def get_updates(self, seconds: int = POLL_TIMEOUT) -> list[dict[str, Any]]:
        """Long-poll for updates; an empty list when the wait ended with nothing new."""
        try:
            result = await self.call("getUpdates", {"timeout": str(seconds)}, wait=float(seconds))
        except ZaloApiError as exc:
            if exc.error_code == 408 or exc.status == 408:
                return []
            raise
        return updates_of(result)

    async def set_webhook(self, url: str, secret_token: str) -> None:
        """Tell Zalo to post updates to `url`, with `secret_token` in the secret header."""
        await self.call("setWebhook", {"url": url, "secret_token": secret_token})

    async def delete_webhook(self) -> None:
        """Remove the webhook so that getUpdates works."""
        await self.call("deleteWebhook")

    async def get_webhook_info(self) -> dict[str, Any]:
        """Return the current webhook settings."""
        result = await self.call("getWebhookInfo")
        return result if isinstance(result, dict) else {}

    async def send_message(self, chat_id: str, text: str) -> dict[str, Any]:
        """Send a plain text message (1 to 2000 characters)."""
        result = await self.call("sendMessage", {"chat_id": chat_id, "text": text})
        return result if isinstance(result, dict) else {}

    async def send_photo(self, chat_id: str, photo: str, caption: str = "") -> dict[str, Any]:
        """Send a photo by URL, with an optional caption."""
        params: dict[str, Any] = {"chat_id": chat_id, "photo": photo}
        if caption:
            params["caption"] = caption
        result = await self.call("sendPhoto", params)
        return result if isinstance(result, dict) else {}

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> None:
        """Show a passing status such as "typing" in the chat."""
        await self.call("sendChatAction", {"chat_id": chat_id, "action": action})

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def updates_of(result: Any) -> list[dict[str, Any]]:
    """Normalise getUpdates' `result`: one update, a list of them, or nothing."""
    if isinstance(result, list):
        return [item for item in result if isinstance(item, dict) and item.get("message")]
    if isinstance(result, dict) and result.get("message"):
        return [result]
    return []


def incoming_from_update(update: dict[str, Any]) -> Incoming | None:
    """Turn a Zalo update into the channel-neutral `Incoming` (None for what we ignore)."""
    if isinstance(update.get("result"), dict):  # a webhook body wrapped like an API answer
        update = update["result"]
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    # A malformed body (a field of the wrong type) is ignored like any other non-message.
    chat: dict[str, Any] = c if isinstance(c := message.get("chat"), dict) else {}
    sender: dict[str, Any] = f if isinstance(f := message.get("from"), dict) else {}
    chat_id, user_id = str(chat.get("id") or ""), str(sender.get("id") or "")
    if not chat_id or not user_id or sender.get("is_bot"):
        return None
    event = str(update.get("event_name") or "")
    attachments: list[Attachment] = []
    photo = message.get("photo_url") or message.get("photo")
    if isinstance(photo, str) and photo:
        attachments.append(Attachment("photo", photo))
    sticker = message.get("sticker")
    if sticker:
        attachments.append(Attachment("sticker", str(sticker)))
    if event == "message.unsupported.received" and not attachments:
        attachments.append(Attachment("other", ""))
    text = message.get("text") or message.get("caption") or ""
    name = sender.get("display_name") or sender.get("name") or sender.get("first_name") or ""
    return Incoming(
        channel=CHANNEL,
        chat_id=chat_id,
        user_id=user_id,
        update_id=str(message.get("message_id") or ""),
        text=str(text),
        attachments=tuple(attachments),
        user_name=str(name),
        is_private=str(chat.get("chat_type") or "PRIVATE").upper() != "GROUP",
    )


def chosen_number(text: str) -> int | None:
    """Return the number a message consists of ("2", " 3 ", "1."), or None."""
    match = _NUMBER.match(text)
    return int(match.group(1)) if match else None


def plain_text(markup: str) -> str:
    """Turn Telegram-style HTML into plain text: tags go, entities are unescaped."""

    def link(match: re.Match[str]) -> str:
        href, label = html.unescape(match.group(1)), match.group(2)
        label_text = _TAG.sub("", label)
        if href and html.unescape(label_text).strip() != href:
            return f"{label_text} ({html.escape(href)})"
        return label_text

    text = _LINE_BREAK_TAG.sub("\n", markup)
    text = _LINK.sub(link, text)
    text = _TAG.sub("", text)
    return html.unescape(text)


def render(reply: Reply, lang: str = "vi") -> tuple[str, list[str]]:
    """Return the plain text Zalo shows for a Reply and its option list (button data)."""
    parts = [plain_text(reply.text).strip()] if reply.text.strip() else []
    if reply.location is not None:
        lat, lon = reply.location.latitude, reply.location.longitude
        parts.append(f"📍 https://maps.google.com/?q={lat:.6f},{lon:.6f}")
    if reply.request_contact:
        parts.append(plain_text(t("zalo.contact_prompt", lang)))
    options: list[str] = []
    lines: list[str] = []
    for row in reply.buttons:
        for button in row:
            options.append(button.data)
            lines.append(f"{len(options)}. {plain_text(button.text)}")
    if lines:
        lines.append(plain_text(t("zalo.options_prompt", lang)))
        parts.append("\n".join(lines))
    return "\n\n".join(part for part in parts if part), options


def split_labelled(text: str, label: str, limit: int = MAX_TEXT_LENGTH) -> list[str]:
    """Split text to fit; pieces after the first start with `label` (e.g. "(tiếp theo, …)")."""
    pieces = split_text(text, limit - len(label))
    return pieces[:1] + [label + piece for piece in pieces[1:]]


def split_text(text: str, limit: int = MAX_TEXT_LENGTH) -> list[str]:
    """Split text into pieces of at most `limit` characters, at line breaks where possible."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = window.rfind("\n")
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut < limit // 2:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest.strip():
        pieces.append(rest)
    return pieces


def delivery_error(exc: ZaloApiError | ZaloNetworkError) -> DeliveryError:
    """Map an API failure onto the outbox's retry, blocked or permanent failure."""
    if isinstance(exc, ZaloNetworkError):
        return DeliveryError(f"network: {exc}")
    code, status = exc.error_code, exc.status
    text = exc.description.lower()
    if code == 429 or status == 429 or "rate limit" in text or "too many" in text:
        return DeliveryError(f"429 {exc.description}", retry_after=_retry_after(text))
    if code == 403 or status == 403 or "block" in text:
        return DeliveryError(f"403 {exc.description}", blocked=True)
    if 400 <= code < 500 or 400 <= status < 500:
        return DeliveryError(f"{code} {exc.description}", permanent=True)
    return DeliveryError(f"{code} {exc.description}")


def _retry_after(description: str) -> float:
    match = re.search(r"(\d+(?:\.\d+)?)\s*(?:s\b|sec|giây)", description)
    return float(match.group(1)) if match else 5.0


async def chat_language(db: Database, channel: str, chat_id: str) -> str:
    """Return the language the chat chose (Vietnamese until it chooses)."""
    async with db.transaction() as session:
        dialog = await load_dialog(session=session, channel=channel, chat_id=chat_id)
    return dialog.language or "vi"


async def remember_options(
    db: Database,
    channel: str,
    chat_id: str,
    options: list[str] | None,
    message_id: str | None,
    now: datetime,
) -> None:
    """Store the chat's numbered options (None: forget them, a typed number is then text)."""
    async with db.transaction() as session:
        if options is None:
            await channel_options.clear_options(session=session, channel=channel, chat_id=chat_id)
            return
        await channel_options.save_options(
            session=session,
            channel=channel,
            chat_id=chat_id,
            options=options,
            now=now,
            message_id=message_id,
        )


def file_links(
    reply: Reply, links: EvidenceLinks | None, lang: str, now: datetime
) -> tuple[list[Attachment], list[str]]:
    """Split a Reply's files into those Zalo can show by URL and lines with signed links."""
    shown: list[Attachment] = []
    lines: list[str] = []
    origin = str(reply.extra.get("files_from") or "telegram")
    for attachment in reply.attachments:
        if is_url(attachment.file_id):
            shown.append(attachment)
        elif links is not None:
            url, until = links.link(
                channel=origin,
                file_id=attachment.file_id,
                kind=attachment.kind,
                file_name=attachment.file_name,
                now=now,
            )
            key = "zalo.photo_link" if attachment.kind == "photo" else "zalo.file_link"
            lines.append(plain_text(t(key, lang, url=url, until=fmt_datetime(until))))
        else:
            lines.append(plain_text(t("zalo.file_elsewhere", lang)))
    return shown, lines


class ZaloSender:
    """Delivers outbox Replies through the Zalo Bot API, keeping each chat's numbered options."""

    def __init__(
        self, client: ZaloClient, db: Database, clock: Clock, links: EvidenceLinks | None = None
    ) -> None:
        self.client = client
        self.db = db
        self.clock = clock
        self.links = links

    async def deliver(self, chat_id: str, reply: Reply) -> str | None:
        """Send one Reply (several messages if long); map errors onto DeliveryError."""
        lang = await chat_language(self.db, CHANNEL, chat_id)
        text, options = render(reply, lang)
        # Stored before sending: the citizen may answer as soon as the message appears.
        if options:
            await remember_options(self.db, CHANNEL, chat_id, options, None, self.clock())
        elif reply.request_contact or reply.extra.get("force_reply"):
            await remember_options(self.db, CHANNEL, chat_id, None, None, self.clock())
        try:
            message_id = await self._send(chat_id, reply, text, lang)
        except (ZaloApiError, ZaloNetworkError) as exc:
            raise delivery_error(exc) from exc
        if options and message_id:
            await remember_options(self.db, CHANNEL, chat_id, options, message_id, self.clock())
        return message_id

    async def _send(self, chat_id: str, reply: Reply, text: str, lang: str) -> str | None:
        shown, lines = file_links(reply, self.links, lang, self.clock())
        pieces = split_labelled(
            "\n\n".join(part for part in (text, *lines) if part),
            plain_text(str(reply.extra.get("continued", ""))),
        )
        message_id: str | None = None
        photo = next((a.file_id for a in shown if a.kind == "photo"), None)
        if photo is not None:
            caption = pieces.pop(0) if pieces else ""
            message_id = _message_id(await self.client.send_photo(chat_id, photo, caption))
        for piece in pieces:
            message_id = _message_id(await self.client.send_message(chat_id, piece)) or message_id
        return message_id


def _message_id(result: dict[str, Any]) -> str | None:
    value = result.get("message_id")
    return str(value) if value is not None else None


class ZaloChannel:
    """The running Zalo channel: its client, sender, and the polling loop or webhook intake."""

    def __init__(
        self,
        config: ZaloConfig,
        *,
        db: Database,
        handle: Handle,
        clock: Clock,
        links: EvidenceLinks | None = None,
    ) -> None:
        self.config = config
        self.db = db
        self.handle = handle
        self.client = ZaloClient(config.token, config.base_url)
        self.sender = ZaloSender(self.client, db, clock, links)
        self.poll_timeout = POLL_TIMEOUT
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.poller: SolePoller | None = None

    async def start(self) -> None:
        """Check the token, then register the webhook or start long polling."""
        me = await self.client.get_me()
        log.info("zalo bot %s", me.get("account_name") or me.get("id") or "?")
        if self.config.mode == "webhook":
            await self.client.set_webhook(self.config.webhook_url, self.config.secret_token)
        else:
            with contextlib.suppress(ZaloApiError):
                await self.client.delete_webhook()  # getUpdates does not work while one is set
            # Of several instances on one database, one polls; the others stand by.
            self.poller = SolePoller(PollerLock(self.db, CHANNEL), self._poll)
            self._task = asyncio.create_task(self.poller.run(self._stopping), name="zalo-polling")
        log.info("zalo channel started (%s)", self.config.mode)

    async def stop(self) -> None:
        """Stop polling (the updates in hand are handled first) and close the HTTP session."""
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout=STOP_SECONDS)
            except TimeoutError:
                log.warning("zalo polling did not stop within %.0f s; cancelled", STOP_SECONDS)
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        await self.client.close()

    async def receive(self, update: dict[str, Any]) -> None:
        """Handle one update, a typed option number becoming a button press."""
        incoming = incoming_from_update(update)
        if incoming is None:
            return
        await self.handle(await self.with_option(incoming))

    async def with_option(self, incoming: Incoming) -> Incoming:
        """Return `incoming` as a button press if its text is the number of a shown option."""
        return await option_pressed(self.db, incoming)

    async def _poll(self, until: asyncio.Event) -> None:
        failures = 0
        while not until.is_set():
            try:
                fetch = self.client.get_updates(self.poll_timeout)
                # Hung up at a stop, as any stop mid-poll is: waiting out a 30 s long poll
                # would overrun the 10 s a stop has.
                updates = await unless_set(until, fetch, (ZaloApiError, ZaloNetworkError)) or []
            except (ZaloApiError, ZaloNetworkError) as exc:
                failures += 1
                delay = min(2.0**failures, 30.0)
                log.warning("zalo getUpdates failed (%s); retrying in %.0f s", exc, delay)
                await wait_until(until, delay)
                continue
            failures = 0
            for update in updates:
                try:
                    await self.receive(update)
                except Exception:  # one bad update must not stop the channel
                    log.exception("could not handle a zalo update")


async def option_pressed(db: Database, incoming: Incoming) -> Incoming:
    """Return `incoming` as a button press if its text is the number of an option shown."""
    number = chosen_number(incoming.text) if not incoming.attachments else None
    if number is None:
        return incoming
    async with db.transaction() as session:
        found = await channel_options.option_for(
            session=session, channel=incoming.channel, chat_id=incoming.chat_id, number=number
        )
    if found is None:
        return incoming
    data, message_id = found
    return Incoming(
        channel=incoming.channel,
        chat_id=incoming.chat_id,
        user_id=incoming.user_id,
        update_id=incoming.update_id,
        callback_data=data,
        callback_message_id=message_id,
        user_name=incoming.user_name,
        language_code=incoming.language_code,
        is_private=incoming.is_private,
    )
