"""Telegram wire: python-telegram-bot updates → `Incoming`; `Reply` → Bot API calls."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InputFile,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder

from bot.channels.aiohttp_request import AiohttpRequest
from bot.chat import Attachment, Contact, Incoming, Location, Reply
from bot.config import Config, TelegramConfig
from bot.evidence import Downloader, EvidenceTooLarge, EvidenceUnavailable, is_url
from bot.outbox import DeliveryError
from bot.sole_poller import unless_set, wait_until
from handlers.messages import t

log = logging.getLogger(__name__)
JSONDict = dict[str, Any]
# The hot path calls the Bot API with `do_api_request` and keeps the answers as JSON. Bot API
# method names are case-insensitive; PTB warns when a method it wraps is called this way, and
# only recognises the camel-case spelling, so the hot path spells them in lower case.
RAW_GET_UPDATES = "getupdates"
RAW_SEND_MESSAGE = "sendmessage"
RAW_ANSWER_CALLBACK = "answercallbackquery"
RAW_EDIT_TEXT = "editmessagetext"
CHANNEL = "telegram"
TRANSPORTS = "hotline.transports"

COMMANDS = (
    ("start", "Bắt đầu / Start"),
    ("hoso", "Tra cứu hồ sơ / Look up a dossier"),
    ("phananh", "Gửi phản ánh / File a complaint"),
    ("theodoi", "Phản ánh của tôi / My complaints"),
    ("lang", "Ngôn ngữ / Language: vi, en"),
    ("huy", "Hủy thao tác / Cancel"),
    ("help", "Hướng dẫn / Help"),
)


def build_application(config: TelegramConfig) -> Application[Any, Any, Any, Any, Any, Any]:
    """Build the PTB Application (its bot, on the aiohttp transport); updates come through
    `TelegramIntake`, not PTB's update queue, which hands them over one at a time."""
    base_url = config.base_url.rstrip("/")
    base_file_url = config.base_file_url or _file_url_of(base_url)
    transports = (
        AiohttpRequest(connection_pool_size=32),
        AiohttpRequest(connection_pool_size=2, read_timeout=40.0),
    )
    application = (
        ApplicationBuilder()
        .token(config.token)
        .base_url(base_url)
        .base_file_url(base_file_url)
        .request(transports[0])
        .get_updates_request(transports[1])
        .arbitrary_callback_data(False)
        .updater(None)
        .build()
    )
    application.bot_data[TRANSPORTS] = transports
    return application


HandleBatch = Callable[[Sequence[Incoming]], Awaitable[Any]]


class TelegramIntake:
    """Updates in, many at a time, each chat's in order; nothing acknowledged before it is stored.

    Polling: a batch from getUpdates is handled (and committed) before the next call, whose
    offset acknowledges it. Webhook: each request waits until its update is committed; the
    requests arriving meanwhile are handled together by one drain. Batches run one after the
    other: concurrent transactions of smaller batches cost more than they overlapped, on
    PostgreSQL too (bench_load, polling: p99 63-65 ms with four at once, 28-34 ms with one).
    """

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        handle_batch: HandleBatch,
        *,
        batch: int = 50,
        poll_timeout: int = 20,
    ) -> None:
        self.bot = application.bot
        self.handle_batch = handle_batch
        self.batch = max(batch, 1)
        self.poll_timeout = poll_timeout
        self._waiting: list[tuple[JSONDict, asyncio.Future[None]]] = []
        self._drain_task: asyncio.Task[None] | None = None

    async def handle_updates(self, updates: Sequence[JSONDict]) -> None:
        """Answer callback queries, then hand the updates to the inbox as one batch.

        A polled batch (up to 100, getUpdates' most) is one transaction: in bench_load, three
        A/B pairs, 17-39 % more updates/s on both databases than in batches of 50. Webhook
        drains take at most `batch` waiting requests: more made them wait longer.

        Updates stay Bot API JSON: turning each into PTB objects cost more than handling it.
        """
        queries = [
            query["id"]
            for update in updates
            if isinstance(query := update.get("callback_query"), dict) and "id" in query
        ]
        if queries:
            # Answered at once so the client stops its spinner; the reply comes as a message.
            answers = await asyncio.gather(
                *(
                    self.bot.do_api_request(RAW_ANSWER_CALLBACK, {"callback_query_id": query})
                    for query in queries
                ),
                return_exceptions=True,
            )
            for answer in answers:
                if isinstance(answer, TelegramError):
                    log.info("could not answer a callback query: %s", answer)
                elif isinstance(answer, BaseException):
                    raise answer
        found = [i for update in updates if (i := incoming_from_json(update)) is not None]
        if found:
            await self.handle_batch(found)

    async def submit(self, update: JSONDict) -> None:
        """Handle one webhook update with whatever else is waiting; return once committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((update, done))
        if self._drain_task is None or self._drain_task.done():
            self._drain_task = asyncio.create_task(self._drain(), name="telegram-intake")
        await done

    async def _drain(self) -> None:
        while self._waiting:
            taken, self._waiting = self._waiting[: self.batch], self._waiting[self.batch :]
            try:
                await self.handle_updates([update for update, _ in taken])
            except Exception as exc:
                for _, done in taken:
                    done.set_exception(exc)
                continue
            for _, done in taken:
                done.set_result(None)

    async def poll(self, stop: asyncio.Event) -> None:
        """Long-poll until `stop`: fetch, handle, and only then acknowledge with the offset."""
        offset: int | None = None
        acknowledged: int | None = None
        failures = 0
        while not stop.is_set():
            try:
                fetch = self._get_updates(offset, self.poll_timeout)
                updates = await unless_set(stop, fetch, (TelegramError,))
                if updates is None:
                    # The long poll hung up had carried the offset: what was handled is
                    # acknowledged, so nothing is left to confirm.
                    return
                acknowledged = offset
                if updates:
                    # Stop or not, the batch in hand is finished before anything else.
                    await self.handle_updates(updates)
                    offset = int(updates[-1]["update_id"]) + 1
                failures = 0
            except Exception as exc:
                failures += 1
                delay = min(0.5 * 2 ** (failures - 1), 10.0)
                log.warning("telegram intake: %s; trying again in %.1f s", exc, delay)
                await wait_until(stop, delay)
        if offset is not None and offset != acknowledged:
            # Acknowledge the last batch handled, so the next start does not fetch it again
            # (were it fetched again, the processed-update records would skip it).
            with contextlib.suppress(TelegramError, TimeoutError):
                async with asyncio.timeout(2.0):
                    await self._get_updates(offset, 0, limit=1)

    async def _get_updates(self, offset: int | None, wait: int, limit: int = 100) -> Any:
        """getUpdates, answered as JSON (the read timeout covers the long poll)."""
        parameters: JSONDict = {
            "timeout": wait,
            "limit": limit,
            "allowed_updates": list(Update.ALL_TYPES),
        }
        if offset is not None:
            parameters["offset"] = offset
        updates = await self.bot.do_api_request(
            RAW_GET_UPDATES, parameters, read_timeout=wait + 10.0
        )
        return [update for update in updates if isinstance(update, dict)]


async def close_transports(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Close the HTTP sessions of an application whose initialize() failed (PTB skips them)."""
    for transport in application.bot_data.get(TRANSPORTS, ()):
        await transport.shutdown()


GROUP_COMMANDS = (
    ("danhsach", "Phản ánh đang xử lý / Open tickets"),
    ("quahan", "Phản ánh quá hạn / Overdue tickets"),
    ("hangdoi", "Hàng đợi phân loại (tổng đài) / Triage queue"),
    ("huy", "Hủy thao tác / Cancel"),
    ("help", "Hướng dẫn / Help"),
)


# --- ops (issue 8): each staff chat's own menu ---------------------------------------------
AGENCY_COMMANDS = (
    ("danhsach", "Phản ánh đang xử lý / Open tickets"),
    ("quahan", "Phản ánh quá hạn / Overdue tickets"),
    ("tiepnhan", "Tiếp nhận: /tiepnhan MÃ / Accept: /accept CODE"),
    ("tralai", "Trả lại: /tralai MÃ LÝ_DO / Return: /return CODE REASON"),
    ("hoi", "Hỏi người dân: /hoi MÃ CÂU_HỎI / Ask: /ask CODE QUESTION"),
    ("giaiquyet", "Giải quyết: /giaiquyet MÃ KẾT_QUẢ / Resolve: /resolve CODE ANSWER"),
    ("huy", "Hủy thao tác / Cancel"),
    ("help", "Hướng dẫn / Help"),
)
LEADER_COMMANDS = (
    ("thongke", "Số liệu hôm nay và tháng này / Today's and this month's figures"),
    ("quahan", "Phản ánh quá hạn theo cơ quan / Overdue by agency"),
    ("help", "Hướng dẫn / Help"),
)


async def set_commands(
    application: Application[Any, Any, Any, Any, Any, Any], config: TelegramChats | None = None
) -> None:
    """Publish the command lists of Telegram's menu: citizens' in private, staff's in groups.

    With the directory's chats, each agency's group and the leaders' group get their own list.
    """
    bot = application.bot
    await bot.set_my_commands(
        [BotCommand(name, text) for name, text in COMMANDS], scope=BotCommandScopeAllPrivateChats()
    )
    await bot.set_my_commands(
        [BotCommand(name, text) for name, text in GROUP_COMMANDS],
        scope=BotCommandScopeAllGroupChats(),
    )
    if config is None:
        return
    chats: list[tuple[int, tuple[tuple[str, str], ...]]] = [
        (chat, AGENCY_COMMANDS) for chat in config.agency_chats
    ]
    if config.leaders_chat is not None:
        chats.append((config.leaders_chat, LEADER_COMMANDS))
    for chat_id, commands in chats:
        try:
            await bot.set_my_commands(
                [BotCommand(name, text[:256]) for name, text in commands],
                scope=BotCommandScopeChat(chat_id),
            )
        except TelegramError as exc:  # e.g. the bot was removed from that group
            log.warning("could not publish the commands of chat %s: %s", chat_id, exc.message)


@dataclass(frozen=True)
class TelegramChats:
    """The staff chats whose menus differ from the groups' default: agencies', leaders'."""

    agency_chats: tuple[int, ...] = ()
    leaders_chat: int | None = None

    @classmethod
    def of(cls, config: Config) -> TelegramChats:
        """Read the staff chats from the directory and `[telegram]`."""
        agencies = tuple(
            a.telegram_chat_id for a in config.agencies if a.telegram_chat_id is not None
        )
        return cls(agencies, config.telegram.leaders_chat_id)


def _file_url_of(base_url: str) -> str:
    """`https://api.telegram.org/bot` → `https://api.telegram.org/file/bot`."""
    head, _, tail = base_url.rpartition("/")
    return f"{head}/file/{tail}"


def incoming_from_json(update: JSONDict) -> Incoming | None:
    """Turn a Bot API update (JSON) into the channel-neutral `Incoming` (None: nothing to do)."""
    update_id = str(update.get("update_id", ""))
    query = update.get("callback_query")
    if isinstance(query, dict):
        message, sender = query.get("message"), query.get("from")
        if not isinstance(message, dict) or not isinstance(sender, dict):
            return None
        chat = _object(message.get("chat"))
        return Incoming(
            channel=CHANNEL,
            chat_id=str(chat.get("id", "")),
            user_id=str(sender.get("id", "")),
            update_id=update_id,
            callback_data=str(query.get("data") or ""),
            callback_message_id=str(message.get("message_id", "")),
            user_name=_full_name(sender),
            language_code=str(sender.get("language_code") or ""),
            is_private=chat.get("type") == "private",
        )
    msg = update.get("message")
    if not isinstance(msg, dict) or not isinstance(msg.get("from"), dict):
        return None  # edits, channel posts, joins: nothing to answer
    sender, chat = msg["from"], _object(msg.get("chat"))
    return Incoming(
        channel=CHANNEL,
        chat_id=str(chat.get("id", "")),
        user_id=str(sender.get("id", "")),
        update_id=update_id,
        text=str(msg.get("text") or msg.get("caption") or ""),
        attachments=_attachments(msg),
        contact=_contact(msg),
        location=_location(msg.get("location")),
        user_name=_full_name(sender),
        language_code=str(sender.get("language_code") or ""),
        is_private=chat.get("type") == "private",
    )


def _object(value: Any) -> JSONDict:
    """The value if it is a JSON object, else an empty one (a malformed field is ignored)."""
    return value if isinstance(value, dict) else {}


def _location(value: Any) -> Location | None:
    if not isinstance(value, dict):
        return None
    try:
        return Location(float(value["latitude"]), float(value["longitude"]))
    except (KeyError, TypeError, ValueError):
        return None


def _full_name(user: JSONDict) -> str:
    return " ".join(str(part) for part in (user.get("first_name"), user.get("last_name")) if part)


def _attachments(msg: JSONDict) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    photo = msg.get("photo")
    if isinstance(photo, list) and photo and isinstance(photo[-1], dict):
        found.append(Attachment("photo", str(photo[-1].get("file_id", ""))))
    document = msg.get("document")
    if isinstance(document, dict):
        found.append(
            Attachment(
                "document",
                str(document.get("file_id", "")),
                str(document.get("file_name") or ""),
                str(document.get("mime_type") or ""),
            )
        )
    for kind in ("video", "voice", "sticker"):
        media = msg.get(kind)
        if isinstance(media, dict):
            found.append(Attachment(kind, str(media.get("file_id", ""))))
    return tuple(found)


def _contact(msg: JSONDict) -> Contact | None:
    contact = msg.get("contact")
    if not isinstance(contact, dict):
        return None
    return Contact(
        phone=str(contact.get("phone_number", "")),
        name=_full_name(contact),
        user_id=str(contact.get("user_id") or ""),
    )


def reply_markup(reply: Reply) -> JSONDict | None:
    """Build the keyboard for a Reply (inline buttons, a contact button, or removal).

    As Bot API JSON: PTB's keyboard objects cost more to build and serialise than the send.
    """
    if reply.buttons:
        return {
            "inline_keyboard": [
                [{"text": b.text, "callback_data": b.data} for b in row] for row in reply.buttons
            ]
        }
    if reply.request_contact:
        label = str(reply.extra.get("keyboard_label") or "📱")
        return {
            "keyboard": [[{"text": label, "request_contact": True}]],
            "resize_keyboard": True,
            "one_time_keyboard": True,
        }
    if reply.remove_keyboard:
        return {"remove_keyboard": True}
    if reply.extra.get("force_reply"):
        # In groups with privacy mode on, the bot only sees replies to its own messages.
        return {"force_reply": True, "selective": True}
    return None


MAX_TEXT_LENGTH = 4096  # sendMessage's limit (counted after parsing; markup only adds)
_TOKEN = re.compile(r"<[^>]*>|&#?\w+;|\n|[ \t]+|[^<&\s]+|[<&]")
_TAG = re.compile(r"</?([a-zA-Z-]+)")


def split_html(text: str, limit: int = MAX_TEXT_LENGTH) -> list[str]:
    """Split Telegram HTML into messages of at most `limit` characters, each valid on its own.

    Cuts between words (inside a word only when it is longer than a message), never inside a
    tag or an entity; tags open at a cut are closed before it and opened again after it.
    """
    if len(text) <= limit:
        return [text]
    chunks: list[str] = []
    open_tags: list[tuple[str, str]] = []  # (name, the opening tag as written)
    current: list[str] = []
    size = 0

    def closing() -> str:
        return "".join(f"</{name}>" for name, _tag in reversed(open_tags))

    def flush() -> None:
        nonlocal current, size
        body = "".join(current).rstrip()
        if body.strip():
            chunks.append(body + closing())
        current = [tag for _name, tag in open_tags]
        size = sum(len(tag) for tag in current)

    for token in _TOKEN.findall(text):
        if current and size == sum(len(tag) for _n, tag in open_tags) and token.isspace():
            continue  # no leading blanks in a new message
        room = limit - size - len(closing())
        while len(token) > room and not token.startswith(("<", "&")) and room > 0:
            if size > sum(len(tag) for _n, tag in open_tags):
                flush()
            else:  # one word longer than a whole message: cut it
                current.append(token[:room])
                size += room
                token = token[room:]
                flush()
            room = limit - size - len(closing())
        if len(token) > room:
            flush()
        match = _TAG.match(token)
        if match:
            name = match.group(1).lower()
            if token.startswith("</"):
                for index in range(len(open_tags) - 1, -1, -1):
                    if open_tags[index][0] == name:
                        del open_tags[index]
                        break
            elif not token.endswith("/>"):
                open_tags.append((name, token))
        current.append(token)
        size += len(token)
    body = "".join(current).rstrip()
    if body.strip() and body != "".join(tag for _n, tag in open_tags):
        chunks.append(body)
    return chunks or [text[:limit]]


def split_reply(reply: Reply, limit: int = MAX_TEXT_LENGTH) -> list[str]:
    """Split a Reply's text to fit; parts after the first start with its `continued` label."""
    label = str(reply.extra.get("continued", ""))
    parts = split_html(reply.text, limit - len(label))
    return parts[:1] + [label + part for part in parts[1:]]


class TelegramSender:
    """Delivers outbox Replies with the Application's bot."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        downloader: Downloader | None = None,
    ) -> None:
        self.bot = application.bot
        self.downloader = downloader  # fetches files other channels give as URLs (issue 11)

    async def deliver(self, chat_id: str, reply: Reply) -> str | None:
        """Send one Reply; map Telegram's errors onto retry, blocked or permanent failure."""
        try:
            message = await self._send(int(chat_id), reply)
        except RetryAfter as exc:
            retry = exc.retry_after
            seconds = retry.total_seconds() if hasattr(retry, "total_seconds") else float(retry)
            raise DeliveryError(f"429 retry after {seconds}s", retry_after=seconds) from exc
        except Forbidden as exc:
            raise DeliveryError(f"403 {exc.message}", blocked=True) from exc
        except BadRequest as exc:
            raise DeliveryError(f"400 {exc.message}", permanent=True) from exc
        except NetworkError as exc:  # also TimedOut and 5xx answers
            raise DeliveryError(f"network: {exc.message}") from exc
        except TelegramError as exc:
            raise DeliveryError(f"telegram: {exc.message}") from exc
        if isinstance(message, Message):
            return str(message.message_id)
        if isinstance(message, dict) and "message_id" in message:
            return str(message["message_id"])
        return None

    async def _send(self, chat_id: int, reply: Reply) -> Message | JSONDict | bool | None:
        markup = reply_markup(reply)
        if reply.location is not None:
            return await self.bot.send_location(
                chat_id, latitude=reply.location.latitude, longitude=reply.location.longitude
            )
        if reply.attachments:
            attachment = reply.attachments[0]
            caption = reply.text or None
            file: str | InputFile = attachment.file_id
            if attachment.content is not None:
                # --- reports (issue 9): a file the bot generated is uploaded ---
                file = InputFile(attachment.content, filename=attachment.file_name or None)
            elif is_url(attachment.file_id):
                # --- evidence from Zalo (issue 11): Telegram cannot fetch Zalo's URLs ---
                fetched = await self._fetch(attachment)
                if isinstance(fetched, str):
                    text = f"{reply.text}\n{fetched}".strip()
                    return await self.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
                file = fetched
            if attachment.kind == "photo":
                return await self.bot.send_photo(
                    chat_id, file, caption=caption, parse_mode=ParseMode.HTML
                )
            return await self.bot.send_document(
                chat_id, file, caption=caption, parse_mode=ParseMode.HTML
            )
        if not reply.text:
            return None
        # A long text goes as several messages; the buttons stay under the last one.
        *first, last = split_reply(reply)
        if reply.edit_message_id is not None:
            parameters: JSONDict = {
                "chat_id": chat_id,
                "message_id": int(reply.edit_message_id),
                "text": first[0] if first else last,
                "parse_mode": "HTML",
            }
            if reply.buttons and not first:
                parameters["reply_markup"] = markup
            edited: JSONDict | bool = await self.bot.do_api_request(RAW_EDIT_TEXT, parameters)
            if not first:
                return edited
            first = first[1:]
        for chunk in first:
            await self._send_text(chat_id, chunk, None)
        return await self._send_text(chat_id, last, markup)

    async def _send_text(self, chat_id: int, text: str, markup: JSONDict | None) -> JSONDict:
        # The answer stays JSON: the message id is all we keep, and building PTB's Message
        # object from it cost as much as the rest of the send.
        parameters: JSONDict = {"chat_id": chat_id, "text": text, "parse_mode": "HTML"}
        if markup is not None:
            parameters["reply_markup"] = markup
        result: JSONDict = await self.bot.do_api_request(RAW_SEND_MESSAGE, parameters)
        return result

    async def _fetch(self, attachment: Attachment) -> InputFile | str:
        """Download a file given by URL; on failure, the text that stands in for it."""
        url = attachment.file_id
        if self.downloader is None:
            return t("zalo.file_unavailable", "vi", url=url)
        try:
            download = await self.downloader.fetch(url, attachment.file_name)
        except EvidenceTooLarge:
            log.info("a file from another channel is over the size limit; sent as a link")
            return t("zalo.file_too_large", "vi", url=url)
        except EvidenceUnavailable as exc:
            log.warning("could not fetch a file from another channel: %s", exc)
            return t("zalo.file_unavailable", "vi", url=url)
        return InputFile(download.data, filename=download.file_name)
