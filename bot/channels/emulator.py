"""A Telegram Bot API emulator speaking the real Bot API over HTTP, for the sandbox and tests.

The real `telegram.ext.Application` talks to it exactly as it talks to api.telegram.org:

    async with TelegramEmulator(token=TOKEN) as emu:
        await emu.register_private_chat(42, "Lan", username="lan")
        app = (ApplicationBuilder().token(TOKEN).base_url(emu.base_url)
               .base_file_url(emu.base_file_url).request(AiohttpRequest())
               .get_updates_request(AiohttpRequest()).build())
        ...
        await emu.send_text(42, "/start")
        reply = await emu.wait_for_bot_message(42)

Everything lives in memory and is mutated only from the event loop, without awaiting in the
middle of a change, so state is consistent for every coroutine on that loop. The same injection
API is served as JSON under `/_emulator/...` for the sandbox web page; it is unauthenticated and
meant for loopback only.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import mimetypes
import re
import struct
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

_LOGGER = logging.getLogger(__name__)

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_BUTTONS = 100
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MESSAGE_DELETE_WINDOW_SECONDS = 48 * 3600

# Update types a bot gets when allowed_updates is unset or empty (Bot API: getUpdates).
_OPT_IN_UPDATE_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_INLINE_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
# Parameters whose values are JSON-serialized objects when sent as form fields.
_JSON_PARAMETERS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "commands",
        "scope",
        "reply_parameters",
        "link_preview_options",
    }
)
_TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]+")
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_WEBHOOK_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


# --------------------------------------------------------------------------------------------
# Errors


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description and optional response parameters."""

    def __init__(
        self, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        """Return the JSON body Telegram sends for this error."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


class MarkupError(ValueError):
    """Formatted text (HTML, MarkdownV2, Markdown) that Telegram would refuse to parse."""


# --------------------------------------------------------------------------------------------
# Formatted text: Telegram's parse modes, its entity offsets (UTF-16) and entity detection


@dataclass(frozen=True)
class _Span:
    """An entity over the parsed text, in Python string indices."""

    kind: str
    start: int
    end: int
    extra: tuple[tuple[str, str], ...] = ()


def utf16_length(text: str) -> int:
    """Return the length of `text` in UTF-16 code units (the unit of Telegram entity offsets)."""
    return len(text.encode("utf-16-le")) // 2


def _spans_to_entities(text: str, spans: Iterable[_Span]) -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = []
    for span in sorted(spans, key=lambda s: (s.start, s.start - s.end)):
        if span.end <= span.start:
            continue
        entity: dict[str, Any] = {
            "type": span.kind,
            "offset": utf16_length(text[: span.start]),
            "length": utf16_length(text[span.start : span.end]),
        }
        entity.update(span.extra)
        entities.append(entity)
    return entities


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
_HTML_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_HTML_PLAIN_RUN = re.compile(r"[^<&]+")


def _html_entity_at(source: str, index: int) -> tuple[str, int] | None:
    """Decode the HTML entity at `index`: (text, end index), or None if there is none."""
    match = _HTML_ENTITY.match(source, index)
    if match is None:
        return None
    named, decimal, hexadecimal = match.groups()
    if named:
        return _HTML_NAMED_ENTITIES[named], match.end()
    code = int(decimal, 10) if decimal else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


def _html_unescape(value: str) -> str:
    parts: list[str] = []
    index = 0
    while index < len(value):
        if value[index] == "&":
            decoded = _html_entity_at(value, index)
            if decoded is not None:
                parts.append(decoded[0])
                index = decoded[1]
                continue
        parts.append(value[index])
        index += 1
    return "".join(parts)


def _html_attributes(
    source: str, index: int, tag: str, tag_start: int
) -> tuple[dict[str, str], int]:
    """Parse attributes after a start tag name; return them and the index after '>'."""
    attributes: dict[str, str] = {}
    length = len(source)

    def unclosed() -> MarkupError:
        return MarkupError(
            f'Unclosed start tag "{tag}" at byte offset {_byte_offset(source, tag_start)}'
        )

    while True:
        while index < length and source[index].isspace():
            index += 1
        if index >= length:
            raise unclosed()
        if source[index] == ">":
            return attributes, index + 1
        name_start = index
        while index < length and (source[index].isalnum() or source[index] in "-_:"):
            index += 1
        if index == name_start:
            raise MarkupError(
                f'Empty attribute name in the tag "{tag}" at byte offset '
                f"{_byte_offset(source, index)}"
            )
        name = source[name_start:index].lower()
        while index < length and source[index].isspace():
            index += 1
        value = ""
        if index < length and source[index] == "=":
            index += 1
            while index < length and source[index].isspace():
                index += 1
            if index >= length:
                raise unclosed()
            if source[index] in "\"'":
                quote = source[index]
                closing = source.find(quote, index + 1)
                if closing == -1:
                    raise unclosed()
                value = _html_unescape(source[index + 1 : closing])
                index = closing + 1
            else:
                value_start = index
                while index < length and not source[index].isspace() and source[index] != ">":
                    index += 1
                value = _html_unescape(source[value_start:index])
        attributes.setdefault(name, value)


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram-flavoured HTML into plain text and entities, or raise MarkupError."""
    out: list[str] = []
    position = 0
    # (tag, start position in output, attributes, index of '<' in source)
    stack: list[tuple[str, int, dict[str, str], int]] = []
    spans: list[_Span] = []
    index = 0
    length = len(source)
    while index < length:
        char = source[index]
        if char == "&":
            decoded = _html_entity_at(source, index)
            piece, index = decoded if decoded is not None else ("&", index + 1)
            out.append(piece)
            position += len(piece)
            continue
        if char != "<":
            run = _HTML_PLAIN_RUN.match(source, index)
            assert run is not None
            out.append(run.group())
            position += len(run.group())
            index = run.end()
            continue
        tag_start = index
        if source.startswith("</", index):
            closing = source.find(">", index + 2)
            if closing == -1:
                raise MarkupError(
                    f"Unclosed end tag at byte offset {_byte_offset(source, tag_start)}"
                )
            name = source[index + 2 : closing].rstrip().lower()
            if not stack:
                raise MarkupError(
                    f"Unexpected end tag at byte offset {_byte_offset(source, tag_start)}"
                )
            open_tag, start, attributes, _ = stack.pop()
            if name != open_tag:
                raise MarkupError(
                    f"Unmatched end tag at byte offset {_byte_offset(source, tag_start)}, "
                    f'expected "</{open_tag}>", found "</{name}>"'
                )
            span = _html_span(open_tag, start, position, attributes, stack)
            if span is not None:
                spans.append(span)
            index = closing + 1
            continue
        name_end = index + 1
        while name_end < length and not source[name_end].isspace() and source[name_end] != ">":
            name_end += 1
        if name_end >= length:
            raise MarkupError(
                f"Unclosed start tag at byte offset {_byte_offset(source, tag_start)}"
            )
        name = source[index + 1 : name_end].lower()
        if name not in _HTML_TAGS:
            raise MarkupError(
                f'Unsupported start tag "{name}" at byte offset {_byte_offset(source, tag_start)}'
            )
        attributes, index = _html_attributes(source, name_end, name, tag_start)
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise MarkupError('Tag "span" must have class "tg-spoiler"')
        stack.append((name, position, attributes, tag_start))
    if stack:
        raise MarkupError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    text = "".join(out)
    return text, _spans_to_entities(text, spans)


def _html_span(
    tag: str,
    start: int,
    end: int,
    attributes: dict[str, str],
    stack: list[tuple[str, int, dict[str, str], int]],
) -> _Span | None:
    kind = _HTML_TAGS[tag]
    if tag == "a":
        href = attributes.get("href", "").strip()
        return _Span("text_link", start, end, (("url", href),)) if href else None
    if tag == "code":
        language = attributes.get("class", "")
        if stack and stack[-1][0] == "pre" and language.startswith("language-"):
            # <pre><code class="language-x"> is one pre entity with a language.
            stack[-1][2]["\0language"] = language.removeprefix("language-")
            return None
    if tag == "pre":
        pre_language = attributes.get("\0language")
        extra = (("language", pre_language),) if pre_language else ()
        return _Span("pre", start, end, extra)
    if tag == "blockquote" and "expandable" in attributes:
        kind = "expandable_blockquote"
    return _Span(kind, start, end)


_MARKDOWN_V2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MARKDOWN_V2_NAMES = {
    "*": "Bold",
    "_": "Italic",
    "__": "Underline",
    "~": "Strikethrough",
    "||": "Spoiler",
    "[": "TextUrl",
}
_MARKDOWN_V2_KINDS = {
    "*": "bold",
    "_": "italic",
    "__": "underline",
    "~": "strikethrough",
    "||": "spoiler",
}


def _find_unescaped(source: str, needle: str, start: int) -> int:
    index = start
    while index < len(source):
        if source[index] == "\\":
            index += 2
            continue
        if source.startswith(needle, index):
            return index
        index += 1
    return -1


def _unescape_markdown_v2(value: str) -> str:
    return re.sub(r"\\([\x01-\x7e])", r"\1", value)


def parse_markdown_v2(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse MarkdownV2 into plain text and entities, or raise MarkupError like Telegram."""
    out: list[str] = []
    position = 0
    stack: list[tuple[str, int, int]] = []  # (marker, output position, source index)
    spans: list[_Span] = []
    quote_start: int | None = None
    index = 0
    length = len(source)
    while index < length:
        char = source[index]
        at_line_start = index == 0 or source[index - 1] == "\n"
        if at_line_start and quote_start is not None and char != ">":
            spans.append(_Span("blockquote", quote_start, max(quote_start, position - 1)))
            quote_start = None
        if char == "\\" and index + 1 < length and 0 < ord(source[index + 1]) < 127:
            out.append(source[index + 1])
            position += 1
            index += 2
            continue
        if char == "`":
            fence = "```" if source.startswith("```", index) else "`"
            closing = _find_unescaped(source, fence, index + len(fence))
            if closing == -1:
                entity = "Pre" if fence == "```" else "Code"
                raise MarkupError(
                    f"Can't find end of {entity} entity at byte offset "
                    f"{_byte_offset(source, index)}"
                )
            body = source[index + len(fence) : closing]
            extra: tuple[tuple[str, str], ...] = ()
            if fence == "```":
                first_line, newline, rest = body.partition("\n")
                if newline and first_line and not any(c.isspace() for c in first_line):
                    extra = (("language", first_line),)
                    body = rest
            content = _unescape_markdown_v2(body)
            out.append(content)
            kind = "pre" if fence == "```" else "code"
            spans.append(_Span(kind, position, position + len(content), extra))
            position += len(content)
            index = closing + len(fence)
            continue
        if char == ">" and at_line_start:
            if quote_start is None:
                quote_start = position
            index += 1
            continue
        marker = ""
        if source.startswith("__", index):
            marker = "__"
        elif source.startswith("||", index):
            marker = "||"
        elif char in "*_~":
            marker = char
        if marker:
            if marker == "__" and stack and stack[-1][0] == "_":
                marker = "_"
            if stack and stack[-1][0] == marker:
                _, start, _ = stack.pop()
                spans.append(_Span(_MARKDOWN_V2_KINDS[marker], start, position))
            else:
                stack.append((marker, position, index))
            index += len(marker)
            continue
        if char == "[":
            stack.append(("[", position, index))
            index += 1
            continue
        if char == "]" and stack and stack[-1][0] == "[":
            _, start, opened = stack.pop()
            if not source.startswith("(", index + 1):
                raise MarkupError(
                    f"Can't find end of a URL at byte offset {_byte_offset(source, opened)}"
                )
            closing = _find_unescaped(source, ")", index + 2)
            if closing == -1:
                raise MarkupError(
                    f"Can't find end of a URL at byte offset {_byte_offset(source, index + 1)}"
                )
            url = _unescape_markdown_v2(source[index + 2 : closing])
            spans.append(_Span("text_link", start, position, (("url", url),)))
            index = closing + 1
            continue
        if char in _MARKDOWN_V2_RESERVED:
            raise MarkupError(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        out.append(char)
        position += 1
        index += 1
    if stack:
        marker, _, opened = stack[-1]
        raise MarkupError(
            f"Can't find end of {_MARKDOWN_V2_NAMES[marker]} entity at byte offset "
            f"{_byte_offset(source, opened)}"
        )
    if quote_start is not None:
        spans.append(_Span("blockquote", quote_start, position))
    text = "".join(out)
    return text, _spans_to_entities(text, spans)


def parse_markdown(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse legacy Markdown (*bold*, _italic_, `code`, ```pre```, [text](url))."""
    out: list[str] = []
    position = 0
    spans: list[_Span] = []
    index = 0
    length = len(source)
    kinds = {"*": "bold", "_": "italic"}
    while index < length:
        char = source[index]
        if char == "\\" and index + 1 < length and source[index + 1] in "_*`[":
            out.append(source[index + 1])
            position += 1
            index += 2
            continue
        if char in "*_`[":
            fence = "```" if source.startswith("```", index) else char
            closer = "]" if char == "[" else fence
            closing = source.find(closer, index + len(fence))
            url = ""
            if char == "[" and closing != -1:
                if source.startswith("(", closing + 1) and ")" in source[closing + 2 :]:
                    url_end = source.index(")", closing + 2)
                    url = source[closing + 2 : url_end]
                else:
                    closing = -1
            if closing == -1:
                raise MarkupError(
                    "Can't find end of the entity starting at byte offset "
                    f"{_byte_offset(source, index)}"
                )
            body = source[index + len(fence) : closing]
            extra: tuple[tuple[str, str], ...] = ()
            if fence == "```":
                first_line, newline, rest = body.partition("\n")
                if newline and first_line and " " not in first_line:
                    extra = (("language", first_line),)
                    body = rest
                kind = "pre"
            elif char == "`":
                kind = "code"
            elif char == "[":
                kind = "text_link"
                extra = (("url", url),)
            else:
                kind = kinds[char]
            out.append(body)
            spans.append(_Span(kind, position, position + len(body), extra))
            position += len(body)
            index = (url_end + 1) if char == "[" else closing + len(fence)
            continue
        out.append(char)
        position += 1
        index += 1
    text = "".join(out)
    return text, _spans_to_entities(text, spans)


def parse_formatted(source: str, parse_mode: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse `source` in the given parse mode (case-insensitive, like Telegram)."""
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(source)
    if mode == "markdownv2":
        return parse_markdown_v2(source)
    if mode == "markdown":
        return parse_markdown(source)
    raise ValueError(f"unsupported parse_mode {parse_mode!r}")


_DETECTED_ENTITIES = re.compile(
    r"(?P<bot_command>(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/]))"
    r"|(?P<url>\bhttps?://[^\s<>\"]+[^\s<>\".,;:!?)\]])"
    r"|(?P<mention>(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}\b)"
    r"|(?P<hashtag>(?<![\w#])#\w+)"
)


def detect_entities(text: str) -> list[dict[str, Any]]:
    """Return the entities Telegram marks in plain user text (commands, URLs, mentions, tags)."""
    spans = [
        _Span(match.lastgroup or "", match.start(), match.end())
        for match in _DETECTED_ENTITIES.finditer(text)
    ]
    return _spans_to_entities(text, spans)


# --------------------------------------------------------------------------------------------
# Images: Telegram reads the dimensions of every photo it accepts


def image_size(data: bytes) -> tuple[int, int] | None:
    """Return (width, height) of a PNG, JPEG, GIF or WebP image, or None if not an image."""
    size: tuple[int, int] | None = None
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        size = (width, height)
    elif data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        size = (width, height)
    elif data.startswith(b"\xff\xd8"):
        size = _jpeg_size(data)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        size = _webp_size(data)
    if size is None or size[0] <= 0 or size[1] <= 0:
        return None
    return size


def image_mime_type(data: bytes) -> str:
    """Return the MIME type of PNG, GIF or WebP data; JPEG otherwise (Telegram's photo format)."""
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:4] == b"GIF8":
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            index += 1
            continue
        marker = data[index + 1]
        if marker == 0xFF:
            index += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            index += 2
            continue
        (segment_length,) = struct.unpack(">H", data[index + 2 : index + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return width, height
        index += 2 + segment_length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return width, height
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


# --------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    file_name: str
    mime_type: str | None
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        """Return the size in bytes."""
        return len(self.data)


@dataclass
class RequestRecord:
    """One Bot API call the bot made: method, decoded parameters, files and the answer."""

    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    http_method: str
    at: float
    status: int = 0
    response: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """Return whether Telegram would have answered ok."""
        return self.status == 200


@dataclass
class _Fault:
    status: int | None
    description: str | None
    retry_after: int | None
    delay: float
    disconnect: bool
    remaining: int


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    kind: str
    data: bytes = field(repr=False)
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    # For photos: every size of the same upload, smallest first, so a photo re-sent by
    # file_id carries the same PhotoSize list.
    photo_sizes: list[dict[str, Any]] | None = None


@dataclass
class _Message:
    chat_id: int
    message_id: int
    from_bot: bool
    sender: dict[str, Any]
    date: int
    kind: str
    text: str | None = None
    source_text: str | None = None
    parse_mode: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    media: dict[str, Any] = field(default_factory=dict)
    reply_to: int | None = None
    edit_date: int | None = None
    edits: int = 0
    deleted: bool = False
    file_id: str | None = None

    @property
    def inline_keyboard(self) -> dict[str, Any] | None:
        if self.reply_markup is not None and "inline_keyboard" in self.reply_markup:
            return self.reply_markup
        return None


@dataclass
class _Chat:
    chat: dict[str, Any]
    members: list[int]
    started: bool = True
    blocked: bool = False
    next_message_id: int = 1
    messages: dict[int, _Message] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)
    bot_ids: list[int] = field(default_factory=list)
    cursor: int = 0
    reply_keyboard: dict[str, Any] | None = None
    last_action: str | None = None
    last_action_at: float | None = None

    @property
    def chat_id(self) -> int:
        return int(self.chat["id"])

    @property
    def is_private(self) -> bool:
        return self.chat["type"] == "private"


class _Params:
    """Typed access to Bot API parameters that arrive as JSON values or as form strings."""

    def __init__(self, values: dict[str, Any], files: dict[str, UploadedFile]) -> None:
        self.values = values
        self.files = files

    def raw(self, name: str) -> Any:
        value = self.values.get(name)
        return None if value == "" else value

    def string(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str, *, required: bool = False) -> int | None:
        value = self.raw(name)
        if value is None:
            if required:
                raise _bad(f"{name} is empty")
            return None
        if isinstance(value, bool):
            raise _bad(f'field "{name}" must be of type Integer')
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _bad(f'field "{name}" must be of type Integer') from None

    def number(self, name: str, *, required: bool = False) -> float | None:
        value = self.raw(name)
        if value is None:
            if required:
                raise _bad(f"{name} is empty")
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise _bad(f'field "{name}" must be of type Float') from None

    def boolean(self, name: str) -> bool:
        value = self.raw(name)
        if isinstance(value, str):
            return value.lower() in ("true", "1")
        return bool(value)

    def json_value(self, name: str) -> Any:
        value = self.raw(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise _bad(f"can't parse {name} JSON object") from None
        return value


# --------------------------------------------------------------------------------------------
# The emulator


def _user_of(fields: Mapping[str, Any]) -> int | None:
    """Return the acting user's id from an injection request, if it names one."""
    value = fields.get("user_id")
    return int(value) if value not in (None, "") else None


def _update_chat_key(update: dict[str, Any]) -> object:
    """The chat an update belongs to (its update id when it has none), for in-order delivery."""
    for value in update.values():
        if not isinstance(value, dict):
            continue
        message = value.get("message") if "chat" not in value else value
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            return message["chat"].get("id")
        if isinstance(value.get("chat"), dict):
            return value["chat"].get("id")
    return ("update", update.get("update_id"))


class TelegramEmulator:
    """An in-memory Telegram Bot API server with an injection API for tests and the sandbox."""

    def __init__(
        self,
        token: str = "123456789:TEST-emulator-token",
        *,
        bot_username: str = "hotline_test_bot",
        bot_first_name: str = "Tổng đài 1022",
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
        first_update_id: int = 100_000,
        webhook_retry_delay: float = 0.2,
    ) -> None:
        if not _TOKEN_SHAPE.fullmatch(token):
            raise ValueError("token must look like '<digits>:<letters, digits, _ or ->'")
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self._host = host
        self._port = port
        self._clock = clock
        self._webhook_retry_delay = webhook_retry_delay
        self._server_url: str | None = None
        self._prefix = ""
        self._runner: web.AppRunner | None = None
        self._closing = False

        self._users: dict[int, dict[str, Any]] = {}
        self._chats: dict[int, _Chat] = {}
        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._file_counter = 0
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = first_update_id
        self._delivered_ids: list[int] = []
        self._allowed_updates: list[str] | None = None
        self._poll_generation = 0
        self._callback_queries: dict[str, dict[str, Any]] = {}
        self._callback_answers: dict[str, dict[str, Any]] = {}
        self._callback_counter = 0
        self._commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._requests: list[RequestRecord] = []
        self._inflight = 0
        self._last_activity = 0.0

        self._webhook_url: str | None = None
        self._webhook_secret: str | None = None
        self._webhook_max_connections = 40
        self._webhook_last_error: tuple[int, str] | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_session: aiohttp.ClientSession | None = None
        self._webhook_sent: dict[int, dict[str, Any]] = {}
        self._webhook_failures = 0

        self._version = 0
        self._changed = asyncio.Event()
        self._methods: dict[str, tuple[str, Callable[[_Params], Any]]] = {
            name.lower(): (name, handler)
            for name, handler in (
                ("getMe", self._api_get_me),
                ("getUpdates", self._api_get_updates),
                ("setWebhook", self._api_set_webhook),
                ("deleteWebhook", self._api_delete_webhook),
                ("getWebhookInfo", self._api_get_webhook_info),
                ("sendMessage", self._api_send_message),
                ("editMessageText", self._api_edit_message_text),
                ("editMessageCaption", self._api_edit_message_caption),
                ("editMessageReplyMarkup", self._api_edit_message_reply_markup),
                ("deleteMessage", self._api_delete_message),
                ("answerCallbackQuery", self._api_answer_callback_query),
                ("sendPhoto", self._api_send_photo),
                ("sendDocument", self._api_send_document),
                ("sendLocation", self._api_send_location),
                ("sendChatAction", self._api_send_chat_action),
                ("getFile", self._api_get_file),
                ("setMyCommands", self._api_set_my_commands),
                ("getMyCommands", self._api_get_my_commands),
                ("deleteMyCommands", self._api_delete_my_commands),
            )
        }

    # ---------------------------------------------------------------- lifecycle and mounting

    async def __aenter__(self) -> TelegramEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Serve the emulator on its own aiohttp server (port 0 picks a free port)."""
        if self._runner is not None:
            raise RuntimeError("TelegramEmulator is already running")
        self._closing = False
        # No access log: request paths carry the bot token.
        runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        await site.start()
        host, port = runner.addresses[0][:2]
        self._server_url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        self._runner = runner
        _LOGGER.info("Telegram emulator listening on %s", self._server_url)

    async def stop(self) -> None:
        """Release long polls, stop webhook delivery and the server (idempotent)."""
        await self._shutdown_background()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _shutdown_background(self) -> None:
        self._closing = True
        self._wake()
        task, self._webhook_task = self._webhook_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        session, self._webhook_session = self._webhook_session, None
        if session is not None:
            await session.close()

    def make_app(self) -> web.Application:
        """Return a standalone aiohttp app serving the Bot API, files and `/_emulator/`."""
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.add_routes(self.routes())
        return app

    def attach_to(
        self, app: web.Application, *, prefix: str = "", server_url: str | None = None
    ) -> None:
        """Mount the emulator's routes into `app` (before it starts) under `prefix`.

        Give the host's root URL as `server_url` here or later with `set_server_url` (once the
        port is known). The host app should allow large bodies (`client_max_size`) if bots
        upload files.
        """
        app.add_routes(self.routes(prefix))
        self._prefix = prefix.rstrip("/")
        if server_url is not None:
            self.set_server_url(server_url)

        async def on_shutdown(_: web.Application) -> None:
            await self._shutdown_background()

        app.on_shutdown.append(on_shutdown)

    def routes(self, prefix: str = "") -> list[web.RouteDef]:
        """Return the emulator's route table, every path under `prefix`."""
        p = prefix.rstrip("/")
        api = p + "/_emulator"
        return [
            web.get(p + "/bot{token}/{method}", self._handle_bot_api, allow_head=False),
            web.post(p + "/bot{token}/{method}", self._handle_bot_api),
            web.get(p + "/file/bot{token}/{file_path:.+}", self._handle_file_download),
            web.get(api + "/state", self._http_state),
            web.post(api + "/chats", self._http_register_chat),
            web.get(api + "/chats/{chat_id}/history", self._http_history),
            web.post(api + "/chats/{chat_id}/messages", self._http_send_text),
            web.post(api + "/chats/{chat_id}/callback", self._http_press_button),
            web.post(api + "/chats/{chat_id}/photo", self._http_send_photo),
            web.post(api + "/chats/{chat_id}/document", self._http_send_document),
            web.post(api + "/chats/{chat_id}/contact", self._http_share_contact),
            web.post(api + "/chats/{chat_id}/location", self._http_share_location),
            web.post(api + "/chats/{chat_id}/sticker", self._http_send_sticker),
            web.post(api + "/chats/{chat_id}/block", self._http_block),
            web.post(api + "/chats/{chat_id}/unblock", self._http_unblock),
            web.post(api + "/faults", self._http_fail_next),
            web.get(api + "/requests", self._http_requests),
            web.get(api + "/files/{file_id}", self._http_file),
        ]

    def set_server_url(self, server_url: str) -> None:
        """Set the root URL of the host app the emulator was attached to."""
        self._server_url = server_url.rstrip("/")

    @property
    def server_url(self) -> str:
        """Return the root URL the emulator is served at (e.g. "http://127.0.0.1:PORT")."""
        if self._server_url is None:
            raise RuntimeError("TelegramEmulator is not serving: use start() or attach_to()")
        return self._server_url + self._prefix

    @property
    def base_url(self) -> str:
        """Return the Bot API base URL for PTB's `base_url` (the token is appended to it)."""
        return self.server_url + "/bot"

    @property
    def base_file_url(self) -> str:
        """Return the file base URL for PTB's `base_file_url`."""
        return self.server_url + "/file/bot"

    # ---------------------------------------------------------------- change notification

    def _wake(self) -> None:
        """Wake every coroutine waiting for a state change."""
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    def _touch(self) -> None:
        """Record a visible state change (bumps the version the sandbox page polls)."""
        self._version += 1
        self._last_activity = time.monotonic()
        self._wake()

    async def _wait_changed(self, event: asyncio.Event, seconds: float | None) -> bool:
        """Wait for `event` (taken before checking state); return False on timeout."""
        try:
            async with asyncio.timeout(seconds):
                await event.wait()
        except TimeoutError:
            return False
        return True

    async def _sleep_unless_closing(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not self._closing and (remaining := deadline - loop.time()) > 0:
            await self._wait_changed(self._changed, remaining)

    async def wait_until(
        self,
        condition: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - a test helper's own deadline
        describe: Callable[[], str] | None = None,
        poll_interval: float = 0.02,
    ) -> None:
        """Wait until `condition()` holds, re-checking on every emulator state change and
        every `poll_interval` seconds (for conditions on state outside the emulator)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._changed
            if condition():
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                detail = f": {describe()}" if describe is not None else ""
                raise TimeoutError(f"condition not met within {timeout:g}s{detail}")
            await self._wait_changed(event, min(remaining, poll_interval))

    # ---------------------------------------------------------------- HTTP: the Bot API

    async def _handle_bot_api(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        if not _TOKEN_SHAPE.fullmatch(token):
            return self._json(ApiError(404, "Not Found").payload(), 404)
        if token != self.token:
            return self._json(ApiError(401, "Unauthorized").payload(), 401)
        entry = self._methods.get(request.match_info["method"].lower())
        if entry is None:
            return self._json(ApiError(404, "Not Found").payload(), 404)
        name, handler = entry
        try:
            params = await self._read_params(request)
        except ApiError as error:
            return self._json(error.payload(), error.status)
        record = RequestRecord(
            method=name,
            params={key: self._decoded_param(key, value) for key, value in params.values.items()},
            files=dict(params.files),
            http_method=request.method,
            at=self._clock(),
        )
        self._requests.append(record)
        counted = name != "getUpdates"
        if counted:
            self._inflight += 1
            self._last_activity = time.monotonic()
            self._wake()
        try:
            fault = self._take_fault(name)
            if fault is not None:
                if fault.delay:
                    await self._sleep_unless_closing(fault.delay)
                if fault.disconnect:
                    record.status = 0
                    if request.transport is not None:
                        request.transport.abort()
                    # Nothing reaches the client: its connection is already gone.
                    return web.Response(status=500)
                if fault.status is not None:
                    injected = self._fault_error(fault)
                    record.status, record.response = injected.status, injected.payload()
                    return self._json(record.response, injected.status)
            try:
                result = await handler(params)
            except ApiError as error:
                record.status, record.response = error.status, error.payload()
                return self._json(record.response, error.status)
            record.status, record.response = 200, {"ok": True, "result": result}
            return self._json(record.response, 200)
        finally:
            if counted:
                self._inflight -= 1
                self._last_activity = time.monotonic()
                self._wake()

    @staticmethod
    def _decoded_param(name: str, value: Any) -> Any:
        if name in _JSON_PARAMETERS and isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    @staticmethod
    def _json(payload: Any, status: int) -> web.Response:
        return web.Response(
            body=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            status=status,
            content_type="application/json",
        )

    async def _read_params(self, request: web.Request) -> _Params:
        values: dict[str, Any] = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if request.method != "POST" or not request.body_exists:
            return _Params(values, files)
        content_type = request.content_type
        if content_type == "application/json":
            try:
                body = json.loads(await request.read() or b"{}")
            except ValueError:
                raise _bad("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise _bad("JSON object expected")
            values.update(body)
        elif content_type == "multipart/form-data":
            reader = await request.multipart()
            total = 0
            while (part := await reader.next()) is not None:
                if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                    continue
                if part.filename is None:
                    values[part.name] = await part.text()
                    continue
                data = bytes(await part.read())
                total += len(data)
                if total > MAX_UPLOAD_BYTES:
                    raise ApiError(413, "Request Entity Too Large")
                mime = part.headers.get(aiohttp.hdrs.CONTENT_TYPE)
                files[part.name] = UploadedFile(part.filename, mime, data)
        else:
            form = await request.post()
            values.update({key: value for key, value in form.items() if isinstance(value, str)})
        return _Params(values, files)

    async def _handle_file_download(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        if token != self.token:
            status, text = (401, "Unauthorized") if _TOKEN_SHAPE.fullmatch(token) else (404, "")
            return self._json(ApiError(status, text or "Not Found").payload(), status)
        stored = self._files_by_path.get(request.match_info["file_path"])
        if stored is None:
            return self._json(ApiError(404, "Not Found").payload(), 404)
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    # ---------------------------------------------------------------- failure injection

    def fail_next(
        self,
        method: str,
        status: int = 429,
        *,
        retry_after: int | None = None,
        description: str | None = None,
        count: int = 1,
    ) -> None:
        """Make the next `count` calls of `method` ("*" = any) fail with `status`.

        429 answers carry `parameters.retry_after` (default 1 second) and Telegram's
        "Too Many Requests: retry after N" text.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        self._add_fault(method, _Fault(status, description, retry_after, 0.0, False, count))

    def delay_next(self, method: str, seconds: float, *, count: int = 1) -> None:
        """Hold the next `count` answers to `method` for `seconds` before answering normally."""
        self._add_fault(method, _Fault(None, None, None, seconds, False, count))

    def drop_next(self, method: str, *, count: int = 1) -> None:
        """Close the connection instead of answering the next `count` calls of `method`."""
        self._add_fault(method, _Fault(None, None, None, 0.0, True, count))

    def clear_faults(self) -> None:
        """Forget every pending injected fault."""
        self._faults.clear()

    def _add_fault(self, method: str, fault: _Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("count must be at least 1")
        key = method.lower()
        if key != "*" and key not in self._methods:
            raise ValueError(f"unknown Bot API method {method!r}")
        self._faults.setdefault(key, []).append(fault)

    def _take_fault(self, method: str) -> _Fault | None:
        for key in (method.lower(), "*"):
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.pop(0)
                return fault
        return None

    @staticmethod
    def _fault_error(fault: _Fault) -> ApiError:
        assert fault.status is not None
        if fault.status == 429:
            retry_after = fault.retry_after or 1
            return ApiError(
                429,
                fault.description or f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
            )
        defaults = {
            400: "Bad Request",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found",
            409: "Conflict",
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
        }
        parameters = {"retry_after": fault.retry_after} if fault.retry_after else None
        text = fault.description or defaults.get(fault.status, f"Error {fault.status}")
        return ApiError(fault.status, text, parameters)

    # ---------------------------------------------------------------- users and chats

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    async def register_private_chat(
        self,
        user_id: int,
        first_name: str,
        *,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "vi",
        started: bool = True,
    ) -> dict[str, Any]:
        """Register a user and their private chat with the bot; return the Chat JSON.

        With `started=False` the user has never written to the bot, so the bot gets
        403 "bot can't initiate conversation with a user" until they do.
        """
        if user_id <= 0:
            raise ValueError("private chats (users) have positive ids")
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        chat: dict[str, Any] = {"id": user_id, "type": "private", "first_name": first_name}
        if last_name:
            user["last_name"] = chat["last_name"] = last_name
        if username:
            user["username"] = chat["username"] = username
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        existing = self._chats.get(user_id)
        if existing is not None:
            existing.chat = chat
        else:
            self._chats[user_id] = _Chat(chat=chat, members=[user_id], started=started)
        self._touch()
        return dict(chat)

    async def register_group(
        self,
        chat_id: int,
        title: str,
        *,
        supergroup: bool = False,
        members: Iterable[int] = (),
        username: str | None = None,
    ) -> dict[str, Any]:
        """Register a group (negative id) whose `members` are registered users."""
        if chat_id >= 0:
            raise ValueError("group chats have negative ids")
        member_ids = list(members)
        for user_id in member_ids:
            self._user(user_id)
        chat: dict[str, Any] = {
            "id": chat_id,
            "type": "supergroup" if supergroup else "group",
            "title": title,
        }
        if username:
            chat["username"] = username
        self._chats[chat_id] = _Chat(chat=chat, members=member_ids)
        self._touch()
        return dict(chat)

    async def add_member(self, chat_id: int, user_id: int) -> None:
        """Add a registered user to a group."""
        chat = self._chat(chat_id)
        self._user(user_id)
        if user_id not in chat.members:
            chat.members.append(user_id)

    def _user(self, user_id: int) -> dict[str, Any]:
        user = self._users.get(user_id)
        if user is None:
            raise LookupError(f"user {user_id} is not registered (register_private_chat)")
        return user

    def _chat(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            raise LookupError(f"chat {chat_id} is not registered")
        return chat

    def _sender(self, chat: _Chat, user_id: int | None) -> dict[str, Any]:
        if user_id is None:
            if not chat.members:
                raise ValueError(f"chat {chat.chat_id} has no members; pass user_id")
            user_id = chat.members[0]
        if user_id not in chat.members:
            raise ValueError(f"user {user_id} is not a member of chat {chat.chat_id}")
        return self._user(user_id)

    def chats(self) -> list[dict[str, Any]]:
        """Return every registered chat with its emulator-side state."""
        return [self._chat_view(chat) for chat in self._chats.values()]

    def _chat_view(self, chat: _Chat) -> dict[str, Any]:
        return {
            "chat": dict(chat.chat),
            "members": [dict(self._users[user_id]) for user_id in chat.members],
            "blocked": chat.blocked,
            "started": chat.started,
            "reply_keyboard": chat.reply_keyboard,
            "last_action": chat.last_action,
            "last_action_at": chat.last_action_at,
        }

    def reply_keyboard(self, chat_id: int) -> dict[str, Any] | None:
        """Return the custom (reply) keyboard the user currently sees in the chat, if any."""
        return self._chat(chat_id).reply_keyboard

    async def block_bot(self, chat_id: int) -> None:
        """Have the user block the bot (or the group kick it): the bot gets 403 from now on."""
        chat = self._chat(chat_id)
        if chat.blocked:
            return
        chat.blocked = True
        self._member_status_update(chat, "member", "kicked")

    async def unblock_bot(self, chat_id: int) -> None:
        """Undo `block_bot`."""
        chat = self._chat(chat_id)
        if not chat.blocked:
            return
        chat.blocked = False
        self._member_status_update(chat, "kicked", "member")

    def _member_status_update(self, chat: _Chat, old: str, new: str) -> None:
        def member(status: str) -> dict[str, Any]:
            body: dict[str, Any] = {"status": status, "user": self._bot_user()}
            if status == "kicked":
                body["until_date"] = 0
            return body

        actor = self._users[chat.members[0]] if chat.members else self._bot_user()
        self._enqueue_update(
            "my_chat_member",
            {
                "chat": dict(chat.chat),
                "from": dict(actor),
                "date": self._now(),
                "old_chat_member": member(old),
                "new_chat_member": member(new),
            },
        )

    # ---------------------------------------------------------------- messages and updates

    def _now(self) -> int:
        return int(self._clock())

    def _enqueue_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        self._updates.append(update)
        self._touch()
        return update

    def _new_message(
        self, chat: _Chat, *, from_bot: bool, sender: dict[str, Any], kind: str
    ) -> _Message:
        message = _Message(
            chat_id=chat.chat_id,
            message_id=chat.next_message_id,
            from_bot=from_bot,
            sender=dict(sender),
            date=self._now(),
            kind=kind,
        )
        chat.next_message_id += 1
        return message

    def _store_message(self, chat: _Chat, message: _Message) -> None:
        chat.messages[message.message_id] = message
        chat.order.append(message.message_id)
        if message.from_bot:
            chat.bot_ids.append(message.message_id)
        self._touch()

    def _telegram_message(self, message: _Message, *, nested: bool = False) -> dict[str, Any]:
        chat = self._chats[message.chat_id]
        body: dict[str, Any] = {
            "message_id": message.message_id,
            "from": dict(message.sender),
            "chat": dict(chat.chat),
            "date": message.date,
        }
        if message.edit_date is not None:
            body["edit_date"] = message.edit_date
        if message.reply_to is not None and not nested:
            replied = chat.messages.get(message.reply_to)
            if replied is not None and not replied.deleted:
                body["reply_to_message"] = self._telegram_message(replied, nested=True)
        if message.kind == "text":
            body["text"] = message.text
            if message.entities:
                body["entities"] = message.entities
        else:
            body.update(message.media)
            if message.text:
                body["caption"] = message.text
                if message.entities:
                    body["caption_entities"] = message.entities
        if message.inline_keyboard is not None:
            body["reply_markup"] = message.inline_keyboard
        return body

    def _history_entry(self, message: _Message) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "message_id": message.message_id,
            "chat_id": message.chat_id,
            "from_bot": message.from_bot,
            "user_id": message.sender["id"],
            "kind": message.kind,
            "text": message.text,
            "source_text": message.source_text,
            "parse_mode": message.parse_mode,
            "entities": [dict(entity) for entity in message.entities],
            "reply_markup": json.loads(json.dumps(message.reply_markup))
            if message.reply_markup is not None
            else None,
            "date": message.date,
            "edit_date": message.edit_date,
            "edits": message.edits,
            "deleted": message.deleted,
            "reply_to_message_id": message.reply_to,
            "file_id": message.file_id,
        }
        for key, value in message.media.items():
            entry[key] = json.loads(json.dumps(value))
        return entry

    async def _user_message(
        self,
        chat_id: int,
        user_id: int | None,
        kind: str,
        *,
        text: str | None = None,
        entities: list[dict[str, Any]] | None = None,
        media: dict[str, Any] | None = None,
        file_id: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        chat = self._chat(chat_id)
        sender = self._sender(chat, user_id)
        if reply_to_message_id is not None and reply_to_message_id not in chat.messages:
            raise ValueError(f"message {reply_to_message_id} does not exist in chat {chat_id}")
        if chat.blocked:
            # Writing to a bot you blocked means unblocking it first.
            await self.unblock_bot(chat_id)
        chat.started = True
        message = self._new_message(chat, from_bot=False, sender=sender, kind=kind)
        message.text = text
        message.source_text = text
        message.entities = entities or []
        message.media = media or {}
        message.file_id = file_id
        message.reply_to = reply_to_message_id
        self._store_message(chat, message)
        keyboard = chat.reply_keyboard
        if keyboard is not None and keyboard.get("one_time_keyboard"):
            chat.reply_keyboard = None
        body = self._telegram_message(message)
        self._enqueue_update("message", body)
        return body

    async def send_text(
        self,
        chat_id: int,
        text: str,
        user_id: int | None = None,
        *,
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        """Have a user send `text`; return the Message JSON the bot receives.

        Commands, URLs, @mentions and #hashtags get entities like Telegram marks them.
        """
        if not text.strip():
            raise ValueError("Telegram clients do not send empty messages")
        if len(text) > MAX_TEXT_LENGTH:
            raise ValueError(
                f"a single message holds at most {MAX_TEXT_LENGTH} characters; "
                "use send_long_text to split it the way Telegram clients do"
            )
        return await self._user_message(
            chat_id,
            user_id,
            "text",
            text=text,
            entities=detect_entities(text),
            reply_to_message_id=reply_to_message_id,
        )

    async def send_long_text(
        self, chat_id: int, text: str, user_id: int | None = None
    ) -> list[dict[str, Any]]:
        """Send `text` as consecutive messages of at most 4096 characters, like clients do."""
        pieces = [text[i : i + MAX_TEXT_LENGTH] for i in range(0, len(text), MAX_TEXT_LENGTH)]
        return [await self.send_text(chat_id, piece, user_id) for piece in pieces if piece.strip()]

    async def send_photo(
        self,
        chat_id: int,
        data: bytes,
        caption: str | None = None,
        user_id: int | None = None,
    ) -> dict[str, Any]:
        """Have a user send a photo (PNG, JPEG, GIF or WebP bytes); return the Message JSON."""
        dimensions = image_size(data)
        if dimensions is None:
            raise ValueError("photo data is not a PNG, JPEG, GIF or WebP image")
        stored = self._store_photo(data, dimensions)
        assert stored.photo_sizes is not None
        return await self._user_message(
            chat_id,
            user_id,
            "photo",
            text=caption,
            media={"photo": stored.photo_sizes},
            file_id=stored.file_id,
        )

    async def send_document(
        self,
        chat_id: int,
        data: bytes,
        file_name: str,
        mime_type: str | None = None,
        caption: str | None = None,
        user_id: int | None = None,
    ) -> dict[str, Any]:
        """Have a user send a file; return the Message JSON."""
        if not data:
            raise ValueError("Telegram clients do not send empty files")
        mime = mime_type or mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        stored = self._store_file("document", data, file_name=file_name, mime_type=mime)
        return await self._user_message(
            chat_id,
            user_id,
            "document",
            text=caption,
            media={"document": self._document_json(stored)},
            file_id=stored.file_id,
        )

    async def share_contact(
        self,
        chat_id: int,
        phone_number: str,
        first_name: str,
        user_id: int | None = None,
        *,
        last_name: str | None = None,
    ) -> dict[str, Any]:
        """Have a user share a contact (their own when `user_id` is omitted in a private chat)."""
        chat = self._chat(chat_id)
        sender = self._sender(chat, user_id if user_id in chat.members else None)
        contact: dict[str, Any] = {
            "phone_number": phone_number,
            "first_name": first_name,
            "user_id": user_id if user_id is not None else sender["id"],
        }
        if last_name:
            contact["last_name"] = last_name
        return await self._user_message(
            chat_id, sender["id"], "contact", media={"contact": contact}
        )

    async def share_location(
        self, chat_id: int, latitude: float, longitude: float, user_id: int | None = None
    ) -> dict[str, Any]:
        """Have a user share a location; return the Message JSON."""
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise ValueError("latitude must be within ±90 and longitude within ±180")
        location = {"latitude": latitude, "longitude": longitude}
        return await self._user_message(chat_id, user_id, "location", media={"location": location})

    async def send_sticker(
        self, chat_id: int, user_id: int | None = None, *, emoji: str = "👍"
    ) -> dict[str, Any]:
        """Have a user send a sticker; return the Message JSON."""
        # A minimal lossless WebP header is enough for a downloadable 512x512 sticker file.
        bits = 511 | (511 << 14)
        data = b"RIFF\x11\x00\x00\x00WEBPVP8L\x05\x00\x00\x00\x2f" + bits.to_bytes(4, "little")
        stored = self._store_file("sticker", data, file_name=None, mime_type="image/webp")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": len(data),
        }
        return await self._user_message(
            chat_id, user_id, "sticker", media={"sticker": sticker}, file_id=stored.file_id
        )

    async def press_button(
        self,
        chat_id: int,
        message_id: int,
        callback_data: str,
        user_id: int | None = None,
        *,
        strict: bool = True,
    ) -> dict[str, Any]:
        """Have a user press an inline button; return the CallbackQuery JSON (with its "id").

        With `strict` (the default) the message must currently show a button carrying
        `callback_data`, as in a real client.
        """
        chat = self._chat(chat_id)
        sender = self._sender(chat, user_id)
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise LookupError(f"message {message_id} does not exist in chat {chat_id}")
        if strict and callback_data not in self._callback_data_of(message):
            raise ValueError(
                f"message {message_id} has no button with callback_data {callback_data!r}; "
                f"it has {sorted(self._callback_data_of(message))}"
            )
        self._callback_counter += 1
        digest = hashlib.sha1(f"{chat_id}".encode()).hexdigest()[:12]
        query_id = f"{self.bot_id % 10_000}{self._callback_counter:012d}"
        query: dict[str, Any] = {
            "id": query_id,
            "from": dict(sender),
            "message": self._telegram_message(message),
            "chat_instance": str(int(digest, 16)),
            "data": callback_data,
        }
        self._callback_queries[query_id] = {"chat_id": chat_id, "message_id": message_id}
        self._enqueue_update("callback_query", query)
        return query

    async def press_button_labelled(
        self, chat_id: int, message_id: int, label: str, user_id: int | None = None
    ) -> dict[str, Any]:
        """Press the inline button whose text is `label`."""
        message = self._chat(chat_id).messages.get(message_id)
        keyboard = message.inline_keyboard if message is not None else None
        for row in (keyboard or {}).get("inline_keyboard", []):
            for button in row:
                if button.get("text") == label and "callback_data" in button:
                    return await self.press_button(
                        chat_id, message_id, button["callback_data"], user_id
                    )
        raise LookupError(f"message {message_id} in chat {chat_id} has no button {label!r}")

    @staticmethod
    def _callback_data_of(message: _Message) -> set[str]:
        keyboard = message.inline_keyboard or {}
        return {
            button["callback_data"]
            for row in keyboard.get("inline_keyboard", [])
            for button in row
            if "callback_data" in button
        }

    def callback_answer(self, callback_query_id: str) -> dict[str, Any] | None:
        """Return how the bot answered a callback query, or None if it has not (yet)."""
        answer = self._callback_answers.get(callback_query_id)
        return dict(answer) if answer is not None else None

    def callback_answers(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Return every answerCallbackQuery call, optionally only for one chat."""
        return [
            dict(answer)
            for answer in self._callback_answers.values()
            if chat_id is None or answer["chat_id"] == chat_id
        ]

    async def wait_for_callback_answer(
        self,
        callback_query_id: str,
        timeout: float = 5.0,  # noqa: ASYNC109 - a test helper's own deadline
    ) -> dict[str, Any]:
        """Wait until the bot answers the callback query; return the answer."""
        await self.wait_until(
            lambda: callback_query_id in self._callback_answers,
            timeout,
            lambda: f"callback query {callback_query_id} was not answered",
        )
        return dict(self._callback_answers[callback_query_id])

    async def redeliver(self, update_id: int) -> None:
        """Deliver an already delivered update again (webhook mode; Telegram retries do this)."""
        update = self._webhook_sent.get(update_id)
        if update is None:
            raise LookupError(f"update {update_id} was not delivered to a webhook")
        self._updates.insert(0, update)
        self._touch()

    # ---------------------------------------------------------------- history and waiting

    def history(self, chat_id: int, *, include_deleted: bool = True) -> list[dict[str, Any]]:
        """Return every message in the chat, both directions, oldest first, edits applied."""
        chat = self._chat(chat_id)
        return [
            self._history_entry(chat.messages[message_id])
            for message_id in chat.order
            if include_deleted or not chat.messages[message_id].deleted
        ]

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """Return the messages the bot sent to the chat, oldest first."""
        chat = self._chat(chat_id)
        return [self._history_entry(chat.messages[message_id]) for message_id in chat.bot_ids]

    def message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        """Return one message of the chat as a history entry."""
        message = self._chat(chat_id).messages.get(message_id)
        if message is None:
            raise LookupError(f"message {message_id} does not exist in chat {chat_id}")
        return self._history_entry(message)

    def new_bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """Return the bot messages after the cursor without waiting, and move the cursor."""
        chat = self._chat(chat_id)
        fresh = chat.bot_ids[chat.cursor :]
        chat.cursor = len(chat.bot_ids)
        return [self._history_entry(chat.messages[message_id]) for message_id in fresh]

    async def wait_for_bot_message(
        self,
        chat_id: int,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a test helper's own deadline
    ) -> dict[str, Any]:
        """Return the first bot message after the chat's cursor that matches `predicate`.

        The cursor then moves past it (messages passed over are not returned again), so
        consecutive calls read "the next reply".
        """
        chat = self._chat(chat_id)
        found: list[dict[str, Any]] = []

        def check() -> bool:
            while chat.cursor < len(chat.bot_ids):
                entry = self._history_entry(chat.messages[chat.bot_ids[chat.cursor]])
                chat.cursor += 1
                if predicate is None or predicate(entry):
                    found.append(entry)
                    return True
            return False

        await self.wait_until(check, timeout, lambda: self._describe_chat(chat))
        return found[0]

    async def wait_for_edit(
        self,
        chat_id: int,
        message_id: int,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a test helper's own deadline
    ) -> dict[str, Any]:
        """Wait until the message is edited (again) into a state matching `predicate`."""
        chat = self._chat(chat_id)
        message = chat.messages.get(message_id)
        if message is None:
            raise LookupError(f"message {message_id} does not exist in chat {chat_id}")
        edits_before = message.edits

        def check() -> bool:
            return message.edits > edits_before and (
                predicate is None or predicate(self._history_entry(message))
            )

        await self.wait_until(check, timeout, lambda: self._describe_chat(chat))
        return self._history_entry(message)

    async def wait_idle(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109 - a test helper's own deadline
        quiet: float = 0.05,
    ) -> None:
        """Wait until every update was fetched and confirmed and the bot made no call for
        `quiet` seconds (a heuristic for "the bot has finished reacting")."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._changed
            idle_for = time.monotonic() - self._last_activity
            if not self._updates and self._inflight == 0 and idle_for >= quiet:
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"bot not idle within {timeout:g}s: {len(self._updates)} update(s) pending, "
                    f"{self._inflight} call(s) in flight"
                )
            await self._wait_changed(event, min(remaining, max(quiet - idle_for, 0.005)))

    def _describe_chat(self, chat: _Chat) -> str:
        lines = [f"chat {chat.chat_id}, cursor {chat.cursor}/{len(chat.bot_ids)}; last messages:"]
        for message_id in chat.order[-8:]:
            message = chat.messages[message_id]
            who = "bot" if message.from_bot else "user"
            lines.append(f"  #{message_id} {who} {message.kind}: {message.text!r}")
        return "\n".join(lines)

    # ---------------------------------------------------------------- request log

    def requests(self, method: str | None = None) -> list[RequestRecord]:
        """Return the Bot API calls received (optionally of one method), oldest first."""
        if method is None:
            return list(self._requests)
        key = method.lower()
        return [record for record in self._requests if record.method.lower() == key]

    def clear_requests(self) -> None:
        """Forget the request log."""
        self._requests.clear()

    def delivered_update_ids(self) -> list[int]:
        """Return the update ids in every getUpdates answer, in order (repeats included)."""
        return list(self._delivered_ids)

    @property
    def pending_update_count(self) -> int:
        """Return how many updates are not yet confirmed (polling) or delivered (webhook)."""
        return len(self._updates)

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[Any]:
        """Return the bot's command list for a scope and language, as set by setMyCommands."""
        return list(self._commands.get((self._scope_key(scope), language_code), []))

    # ---------------------------------------------------------------- files

    def _new_file_ids(self, kind: str) -> tuple[str, str, int]:
        self._file_counter += 1
        number = self._file_counter
        prefix = {"photo": "AgACAgUAAx", "document": "BQACAgUAAx", "sticker": "CAACAgUAAx"}[kind]
        digest = hashlib.sha256(f"{self.token}:{number}".encode()).digest()
        file_id = prefix + base64.urlsafe_b64encode(digest).decode().rstrip("=") + f"{number:06d}"
        unique = "AQAD" + base64.urlsafe_b64encode(digest[:9]).decode()
        return file_id, unique, number

    def _store_file(
        self, kind: str, data: bytes, *, file_name: str | None, mime_type: str | None
    ) -> _StoredFile:
        file_id, unique, number = self._new_file_ids(kind)
        extension = ""
        if file_name and "." in file_name:
            extension = "." + file_name.rsplit(".", 1)[1].lower()
        elif mime_type:
            extension = mimetypes.guess_extension(mime_type) or ""
        folder = {"photo": "photos", "document": "documents", "sticker": "stickers"}[kind]
        stored = _StoredFile(
            file_id=file_id,
            file_unique_id=unique,
            kind=kind,
            data=data,
            file_path=f"{folder}/file_{number}{extension}",
            file_name=file_name,
            mime_type=mime_type,
        )
        self._files[file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _store_photo(self, data: bytes, dimensions: tuple[int, int]) -> _StoredFile:
        width, height = dimensions
        mime = image_mime_type(data)
        sizes: list[tuple[int, int]] = []
        for bound in (90, 320, 800):
            if max(width, height) > bound:
                scale = bound / max(width, height)
                sizes.append((max(1, round(width * scale)), max(1, round(height * scale))))
        sizes.append((width, height))
        stored_sizes = [
            self._store_file("photo", data, file_name=None, mime_type=mime) for _ in sizes
        ]
        photo_sizes = [
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "width": size[0],
                "height": size[1],
                "file_size": len(data),
            }
            for stored, size in zip(stored_sizes, sizes, strict=True)
        ]
        for stored in stored_sizes:
            stored.photo_sizes = photo_sizes
        return stored_sizes[-1]

    @staticmethod
    def _document_json(stored: _StoredFile) -> dict[str, Any]:
        document: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        if stored.file_name:
            document["file_name"] = stored.file_name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return document

    def file_bytes(self, file_id: str) -> bytes:
        """Return the content of a stored file (sent by the bot or by a user)."""
        stored = self._files.get(file_id)
        if stored is None:
            raise LookupError(f"no file {file_id!r}")
        return stored.data

    def _input_file(self, params: _Params, name: str) -> UploadedFile | _StoredFile:
        upload = params.files.get(name)
        if upload is not None:
            return upload
        value = params.string(name)
        if not value:
            raise _bad(f"there is no {name} in the request")
        if value.startswith("attach://"):
            attached = params.files.get(value.removeprefix("attach://"))
            if attached is None:
                raise _bad(f"file {value} not found in the request")
            return attached
        stored = self._files.get(value)
        if stored is None:
            # The emulator never fetches URLs: there is no network beyond loopback.
            raise _bad("wrong file identifier/HTTP URL specified")
        return stored

    # ---------------------------------------------------------------- Bot API: helpers

    def _target_chat(self, params: _Params, *, sending: bool = False) -> _Chat:
        raw = params.raw("chat_id")
        if raw is None:
            raise _bad("chat_id is empty")
        chat: _Chat | None = None
        if isinstance(raw, str) and raw.startswith("@"):
            name = raw[1:].lower()
            chat = next(
                (c for c in self._chats.values() if c.chat.get("username", "").lower() == name),
                None,
            )
        else:
            try:
                chat = self._chats.get(int(raw))
            except (TypeError, ValueError):
                chat = None
        if chat is None:
            raise _bad("chat not found")
        if chat.blocked:
            if chat.is_private:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            raise ApiError(403, "Forbidden: bot was kicked from the group chat")
        if sending and chat.is_private and not chat.started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return chat

    def _formatted(
        self, params: _Params, name: str, entities_name: str, *, caption: bool
    ) -> tuple[str | None, list[dict[str, Any]], str | None, str | None]:
        """Return (display text, entities, parse mode, source) of a text or caption field."""
        source = params.string(name)
        if source is None or source == "":
            if caption:
                return None, [], None, None
            raise _bad("message text is empty")
        parse_mode = params.string("parse_mode") or None
        if parse_mode:
            try:
                text, entities = parse_formatted(source, parse_mode)
            except MarkupError as error:
                raise _bad(f"can't parse entities: {error}") from None
            except ValueError:
                raise _bad("unsupported parse_mode") from None
        else:
            text = source
            given = params.json_value(entities_name)
            if given is not None and not isinstance(given, list):
                raise _bad(f"can't parse {entities_name} JSON object")
            entities = list(given or [])
        if not text.strip():
            if caption:
                return None, [], parse_mode, source
            raise _bad("message text is empty")
        limit = MAX_CAPTION_LENGTH if caption else MAX_TEXT_LENGTH
        if len(text) > limit:
            raise _bad("message caption is too long" if caption else "message is too long")
        return text, entities, parse_mode, source

    def _reply_markup(
        self, params: _Params, *, inline_only: bool = False
    ) -> dict[str, Any] | None:
        markup = params.json_value("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            self._check_inline_keyboard(markup["inline_keyboard"])
        elif inline_only:
            raise _bad("inline keyboard expected")
        elif "keyboard" in markup:
            self._check_reply_keyboard(markup["keyboard"])
        elif not markup.get("remove_keyboard") and not markup.get("force_reply"):
            raise _bad("can't parse reply keyboard markup JSON object")
        return markup

    @staticmethod
    def _check_inline_keyboard(rows: Any) -> None:
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
        if sum(len(row) for row in rows) > MAX_BUTTONS:
            raise _bad("BUTTONS_TOO_MUCH")
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise _bad("can't parse inline keyboard button: Text is empty")
                if not button["text"]:
                    raise _bad("BUTTON_TEXT_INVALID")
                actions = [key for key in _INLINE_BUTTON_ACTIONS if key in button]
                if not actions:
                    raise _bad(
                        "can't parse inline keyboard button: "
                        "Text buttons are unallowed in the inline keyboard"
                    )
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not (
                        1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
                    ):
                        raise _bad("BUTTON_DATA_INVALID")
                if "url" in button:
                    scheme = urlsplit(str(button["url"])).scheme.lower()
                    if scheme not in ("http", "https", "tg"):
                        raise _bad("BUTTON_URL_INVALID")

    @staticmethod
    def _check_reply_keyboard(rows: Any) -> None:
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad('field "keyboard" of the ReplyKeyboardMarkup must be an Array')
        for row in rows:
            for button in row:
                text = button if isinstance(button, str) else (button or {}).get("text")
                if not isinstance(text, str) or not text:
                    raise _bad("BUTTON_TEXT_INVALID")

    def _apply_reply_keyboard(self, chat: _Chat, markup: dict[str, Any] | None) -> None:
        if markup is None:
            return
        if "keyboard" in markup:
            chat.reply_keyboard = markup
        elif markup.get("remove_keyboard"):
            chat.reply_keyboard = None

    def _reply_target(self, chat: _Chat, params: _Params) -> int | None:
        reply = params.json_value("reply_parameters")
        message_id: int | None
        allow_missing = params.boolean("allow_sending_without_reply")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = bool(reply.get("allow_sending_without_reply", allow_missing))
        else:
            message_id = params.integer("reply_to_message_id")
        if message_id is None:
            return None
        target = chat.messages.get(int(message_id))
        if target is None or target.deleted:
            if allow_missing:
                return None
            raise _bad("message to be replied not found")
        return int(message_id)

    def _send(
        self,
        chat: _Chat,
        params: _Params,
        kind: str,
        *,
        text: str | None,
        entities: list[dict[str, Any]],
        parse_mode: str | None,
        source: str | None,
        markup: dict[str, Any] | None,
        media: dict[str, Any] | None = None,
        file_id: str | None = None,
    ) -> dict[str, Any]:
        reply_to = self._reply_target(chat, params)
        message = self._new_message(chat, from_bot=True, sender=self._bot_user(), kind=kind)
        message.text = text
        message.entities = entities
        message.parse_mode = parse_mode
        message.source_text = source
        message.reply_markup = markup
        message.media = media or {}
        message.file_id = file_id
        message.reply_to = reply_to
        self._apply_reply_keyboard(chat, markup)
        chat.last_action = None
        self._store_message(chat, message)
        return self._telegram_message(message)

    def _editable(self, params: _Params, *, action: str = "edit") -> tuple[_Chat, _Message]:
        if params.raw("inline_message_id") is not None:
            raise _bad("inline messages are not supported by the emulator")
        chat = self._target_chat(params)
        message_id = params.integer("message_id", required=True)
        assert message_id is not None
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise _bad(f"message to {action} not found")
        if action == "edit" and not message.from_bot:
            raise _bad("message can't be edited")
        return chat, message

    def _finish_edit(self, message: _Message) -> dict[str, Any]:
        message.edit_date = self._now()
        message.edits += 1
        self._touch()
        return self._telegram_message(message)

    @staticmethod
    def _not_modified() -> ApiError:
        return _bad(
            "message is not modified: specified new message content and reply markup are "
            "exactly the same as a current content and reply markup of the message"
        )

    @staticmethod
    def _scope_key(scope: Any) -> str:
        if not scope:
            return '{"type": "default"}'
        return json.dumps(scope, sort_keys=True)

    # ---------------------------------------------------------------- Bot API: methods

    async def _api_get_me(self, params: _Params) -> dict[str, Any]:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _api_get_updates(self, params: _Params) -> list[dict[str, Any]]:
        if self._webhook_url is not None:
            raise self._webhook_conflict()
        offset = params.integer("offset")
        limit = min(max(params.integer("limit") or 100, 1), 100)
        timeout = max(params.number("timeout") or 0.0, 0.0)
        allowed = params.json_value("allowed_updates")
        if allowed is not None:
            if not isinstance(allowed, list):
                raise _bad("can't parse allowed_updates JSON object")
            self._allowed_updates = [str(kind) for kind in allowed]
        if offset is not None:
            self._confirm(offset)
        # A newer getUpdates call terminates an older one still waiting, like Telegram does.
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._changed
            if self._closing:
                return []
            if self._webhook_url is not None:
                raise self._webhook_conflict()
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            updates = list(self._deliverable(limit))
            remaining = deadline - loop.time()
            if updates or remaining <= 0:
                self._delivered_ids.extend(update["update_id"] for update in updates)
                return updates
            await self._wait_changed(event, remaining)

    @staticmethod
    def _webhook_conflict() -> ApiError:
        return ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )

    def _confirm(self, offset: int) -> None:
        before = len(self._updates)
        if offset < 0:
            self._updates = self._updates[offset:]
        else:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if len(self._updates) != before:
            self._touch()

    def _allowed(self, update: dict[str, Any]) -> bool:
        kind = next(key for key in update if key != "update_id")
        if not self._allowed_updates:
            return kind not in _OPT_IN_UPDATE_TYPES
        return kind in self._allowed_updates

    def _deliverable(self, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """The pending updates in order, up to `limit`, read only as far as they are taken.

        Updates of types the bot did not ask for are dropped, not kept for later. Lazy because
        the webhook loop reads a few each time a delivery ends, with thousands waiting.
        """
        taken = 0
        dropped: list[dict[str, Any]] = []
        try:
            for update in self._updates:
                if limit is not None and taken >= limit:
                    return
                if self._allowed(update):
                    taken += 1
                    yield update
                else:
                    dropped.append(update)
        finally:
            if dropped:
                gone = {id(update) for update in dropped}
                self._updates = [update for update in self._updates if id(update) not in gone]

    async def _api_send_message(self, params: _Params) -> dict[str, Any]:
        chat = self._target_chat(params, sending=True)
        text, entities, parse_mode, source = self._formatted(
            params, "text", "entities", caption=False
        )
        markup = self._reply_markup(params)
        return self._send(
            chat,
            params,
            "text",
            text=text,
            entities=entities,
            parse_mode=parse_mode,
            source=source,
            markup=markup,
        )

    async def _api_edit_message_text(self, params: _Params) -> dict[str, Any]:
        _, message = self._editable(params)
        if message.kind != "text":
            raise _bad("there is no text in the message to edit")
        text, entities, parse_mode, source = self._formatted(
            params, "text", "entities", caption=False
        )
        # Omitting reply_markup removes the inline keyboard, as on Telegram.
        markup = self._reply_markup(params, inline_only=True)
        unchanged = text == message.text and entities == message.entities
        if unchanged and markup == message.inline_keyboard:
            raise self._not_modified()
        message.text, message.entities = text, entities
        message.parse_mode, message.source_text = parse_mode, source
        message.reply_markup = markup
        return self._finish_edit(message)

    async def _api_edit_message_caption(self, params: _Params) -> dict[str, Any]:
        _, message = self._editable(params)
        if message.kind not in ("photo", "document"):
            raise _bad("there is no caption in the message to edit")
        text, entities, parse_mode, source = self._formatted(
            params, "caption", "caption_entities", caption=True
        )
        markup = self._reply_markup(params, inline_only=True)
        unchanged = text == message.text and entities == message.entities
        if unchanged and markup == message.inline_keyboard:
            raise self._not_modified()
        message.text, message.entities = text, entities
        message.parse_mode, message.source_text = parse_mode, source
        message.reply_markup = markup
        return self._finish_edit(message)

    async def _api_edit_message_reply_markup(self, params: _Params) -> dict[str, Any]:
        _, message = self._editable(params)
        markup = self._reply_markup(params, inline_only=True)
        if markup == message.inline_keyboard:
            raise self._not_modified()
        message.reply_markup = markup
        return self._finish_edit(message)

    async def _api_delete_message(self, params: _Params) -> bool:
        _, message = self._editable(params, action="delete")
        if self._now() - message.date > MESSAGE_DELETE_WINDOW_SECONDS:
            raise _bad("message can't be deleted")
        message.deleted = True
        self._touch()
        return True

    async def _api_answer_callback_query(self, params: _Params) -> bool:
        query_id = params.string("callback_query_id")
        query = self._callback_queries.get(query_id or "")
        if query_id is None or query is None or query_id in self._callback_answers:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = params.string("text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad("MESSAGE_TOO_LONG")
        self._callback_answers[query_id] = {
            "callback_query_id": query_id,
            "chat_id": query["chat_id"],
            "message_id": query["message_id"],
            "text": text,
            "show_alert": params.boolean("show_alert"),
            "url": params.string("url"),
            "cache_time": params.integer("cache_time") or 0,
        }
        self._touch()
        return True

    async def _api_send_photo(self, params: _Params) -> dict[str, Any]:
        chat = self._target_chat(params, sending=True)
        source_file = self._input_file(params, "photo")
        if isinstance(source_file, _StoredFile):
            if source_file.kind != "photo" or source_file.photo_sizes is None:
                raise _bad(f"can't use file of type {source_file.kind.title()} as Photo")
            stored = source_file
        else:
            if not source_file.data:
                raise _bad("file must be non-empty")
            dimensions = image_size(source_file.data)
            if dimensions is None:
                raise _bad("IMAGE_PROCESS_FAILED")
            width, height = dimensions
            if width + height > 10_000 or max(width, height) > 20 * min(width, height):
                raise _bad("PHOTO_INVALID_DIMENSIONS")
            stored = self._store_photo(source_file.data, dimensions)
        text, entities, parse_mode, source = self._formatted(
            params, "caption", "caption_entities", caption=True
        )
        markup = self._reply_markup(params)
        assert stored.photo_sizes is not None
        return self._send(
            chat,
            params,
            "photo",
            text=text,
            entities=entities,
            parse_mode=parse_mode,
            source=source,
            markup=markup,
            media={"photo": stored.photo_sizes},
            file_id=stored.file_id,
        )

    async def _api_send_document(self, params: _Params) -> dict[str, Any]:
        chat = self._target_chat(params, sending=True)
        source_file = self._input_file(params, "document")
        if isinstance(source_file, _StoredFile):
            if source_file.kind != "document":
                raise _bad(f"can't use file of type {source_file.kind.title()} as Document")
            stored = source_file
        else:
            if not source_file.data:
                raise _bad("file must be non-empty")
            mime = source_file.mime_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(source_file.file_name)[0] or mime
            stored = self._store_file(
                "document", source_file.data, file_name=source_file.file_name, mime_type=mime
            )
        text, entities, parse_mode, source = self._formatted(
            params, "caption", "caption_entities", caption=True
        )
        markup = self._reply_markup(params)
        return self._send(
            chat,
            params,
            "document",
            text=text,
            entities=entities,
            parse_mode=parse_mode,
            source=source,
            markup=markup,
            media={"document": self._document_json(stored)},
            file_id=stored.file_id,
        )

    async def _api_send_location(self, params: _Params) -> dict[str, Any]:
        chat = self._target_chat(params, sending=True)
        latitude = params.number("latitude", required=True)
        longitude = params.number("longitude", required=True)
        assert latitude is not None and longitude is not None
        if not -90 <= latitude <= 90 or not -180 <= longitude <= 180:
            raise _bad("wrong coordinates specified")
        markup = self._reply_markup(params)
        return self._send(
            chat,
            params,
            "location",
            text=None,
            entities=[],
            parse_mode=None,
            source=None,
            markup=markup,
            media={"location": {"latitude": latitude, "longitude": longitude}},
        )

    async def _api_send_chat_action(self, params: _Params) -> bool:
        chat = self._target_chat(params, sending=True)
        action = params.string("action")
        if action not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        chat.last_action = action
        chat.last_action_at = self._clock()
        self._touch()
        return True

    async def _api_get_file(self, params: _Params) -> dict[str, Any]:
        file_id = params.string("file_id")
        if not file_id:
            raise _bad("file_id is empty")
        stored = self._files.get(file_id)
        if stored is None:
            raise _bad("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD_BYTES:
            raise _bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    async def _api_set_my_commands(self, params: _Params) -> bool:
        commands = params.json_value("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands specified")
        cleaned: list[dict[str, str]] = []
        for command in commands:
            if not isinstance(command, dict):
                raise _bad("can't parse BotCommand")
            name = str(command.get("command", "")).removeprefix("/")
            description = str(command.get("description", ""))
            if not _COMMAND_NAME.fullmatch(name):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _bad("command description must be non-empty")
            cleaned.append({"command": name, "description": description})
        key = (self._scope_key(params.json_value("scope")), params.string("language_code") or "")
        self._commands[key] = cleaned
        self._touch()
        return True

    async def _api_get_my_commands(self, params: _Params) -> list[dict[str, str]]:
        key = (self._scope_key(params.json_value("scope")), params.string("language_code") or "")
        return list(self._commands.get(key, []))

    async def _api_delete_my_commands(self, params: _Params) -> bool:
        key = (self._scope_key(params.json_value("scope")), params.string("language_code") or "")
        self._commands.pop(key, None)
        self._touch()
        return True

    # ---------------------------------------------------------------- Bot API: webhooks

    async def _api_set_webhook(self, params: _Params) -> bool:
        url = params.string("url") or ""
        if not url:
            return await self._api_delete_webhook(params)
        parts = urlsplit(url)
        loopback_http = parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK_HOSTS
        # Telegram insists on HTTPS; plain HTTP is allowed here for loopback receivers only.
        if parts.scheme != "https" and not loopback_http:
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.string("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(secret):
            raise _bad("secret token contains unallowed characters")
        allowed = params.json_value("allowed_updates")
        if allowed is not None:
            if not isinstance(allowed, list):
                raise _bad("can't parse allowed_updates JSON object")
            self._allowed_updates = [str(kind) for kind in allowed]
        if params.boolean("drop_pending_updates"):
            self._updates.clear()
        self._webhook_url = url
        self._webhook_secret = secret
        self._webhook_max_connections = params.integer("max_connections") or 40
        self._webhook_last_error = None
        self._poll_generation += 1
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.get_running_loop().create_task(self._webhook_loop())
        self._touch()
        return True

    async def _api_delete_webhook(self, params: _Params) -> bool:
        if params.boolean("drop_pending_updates"):
            self._updates.clear()
        self._webhook_url = None
        self._webhook_secret = None
        self._touch()
        return True

    async def _api_get_webhook_info(self, params: _Params) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self._webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook_url is not None:
            info["max_connections"] = self._webhook_max_connections
            if self._allowed_updates:
                info["allowed_updates"] = list(self._allowed_updates)
        if self._webhook_last_error is not None:
            info["last_error_date"], info["last_error_message"] = self._webhook_last_error
        return info

    async def _webhook_loop(self) -> None:
        """Deliver pending updates to the webhook, retrying failures with backoff.

        Like Telegram, up to `max_connections` updates are in flight at once, but never two of
        one chat: a chat's next update waits until the previous one was answered with 200.
        """
        inflight: dict[int, asyncio.Task[None]] = {}
        busy: set[object] = set()
        try:
            while not self._closing and self._webhook_url is not None:
                event = self._changed
                url = self._webhook_url
                for update in self._deliverable():
                    if len(inflight) >= max(self._webhook_max_connections, 1):
                        break
                    key = _update_chat_key(update)
                    if update["update_id"] in inflight or key in busy:
                        # Later updates of a busy chat wait behind it, in order.
                        busy.add(key)
                        continue
                    busy.add(key)
                    inflight[update["update_id"]] = asyncio.create_task(
                        self._deliver_to_webhook(url, update, inflight)
                    )
                busy.clear()
                await self._wait_changed(event, None)
        finally:
            for task in inflight.values():
                task.cancel()
            await asyncio.gather(*inflight.values(), return_exceptions=True)

    async def _deliver_to_webhook(
        self, url: str, update: dict[str, Any], inflight: dict[int, asyncio.Task[None]]
    ) -> None:
        """POST one update; on success drop it from the queue, on failure back off first."""
        try:
            error = await self._post_to_webhook(url, update)
            if error is None:
                self._webhook_failures = 0
                for index, queued in enumerate(self._updates):
                    if queued is update:
                        del self._updates[index]
                        break
                self._webhook_sent[update["update_id"]] = update
                self._delivered_ids.append(update["update_id"])
                return
            self._webhook_failures += 1
            self._webhook_last_error = (self._now(), error)
            _LOGGER.debug("webhook delivery failed: %s", error)
            delay = self._webhook_retry_delay * 2 ** (self._webhook_failures - 1)
            await asyncio.sleep(min(delay, 5.0))
        finally:
            inflight.pop(update["update_id"], None)
            self._touch()

    async def _post_to_webhook(self, url: str, update: dict[str, Any]) -> str | None:
        """POST one update; return None on success or Telegram's last_error_message text."""
        if self._webhook_session is None or self._webhook_session.closed:
            self._webhook_session = aiohttp.ClientSession()
        headers = {"Content-Type": "application/json"}
        if self._webhook_secret:
            headers[_WEBHOOK_SECRET_HEADER] = self._webhook_secret
        try:
            async with self._webhook_session.post(
                url,
                data=json.dumps(update, ensure_ascii=False).encode("utf-8"),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=10),
            ) as response:
                body = await response.read()
                if not 200 <= response.status < 300:
                    return f"Wrong response from the webhook: {response.status} {response.reason}"
        except TimeoutError:
            return "Read timeout expired"
        except aiohttp.ClientConnectorError:
            return "Connection refused"
        except aiohttp.ClientError as error:
            return f"Connection error: {type(error).__name__}"
        await self._run_webhook_reply(body)
        return None

    async def _run_webhook_reply(self, body: bytes) -> None:
        """Execute a method the webhook answered with, as Telegram does with such replies."""
        try:
            reply = json.loads(body) if body.strip() else None
        except ValueError:
            return
        if not isinstance(reply, dict) or not isinstance(reply.get("method"), str):
            return
        entry = self._methods.get(reply["method"].lower())
        if entry is None or entry[0] == "getUpdates":
            return
        values = {key: value for key, value in reply.items() if key != "method"}
        name, handler = entry
        self._requests.append(RequestRecord(name, values, {}, "WEBHOOK-REPLY", self._clock()))
        try:
            await handler(_Params(values, {}))
        except ApiError as error:
            _LOGGER.debug("webhook reply %s failed: %s", name, error.description)

    # ---------------------------------------------------------------- HTTP: injection API

    @staticmethod
    def _api_json(payload: Any, status: int = 200) -> web.Response:
        return web.json_response(
            payload, status=status, dumps=lambda value: json.dumps(value, ensure_ascii=False)
        )

    async def _http_call(self, action: Callable[[], Any]) -> web.Response:
        try:
            result = await action()
        except KeyError as error:
            return self._api_json({"error": f"missing field {error}"}, 400)
        except LookupError as error:
            return self._api_json({"error": str(error)}, 404)
        except (ValueError, TypeError) as error:
            return self._api_json({"error": str(error)}, 400)
        return self._api_json(result)

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        if not request.body_exists:
            return {}
        try:
            body = await request.json()
        except ValueError:
            raise ValueError("request body must be a JSON object") from None
        if not isinstance(body, dict):
            raise ValueError("request body must be a JSON object")
        return body

    @staticmethod
    def _chat_id(request: web.Request) -> int:
        try:
            return int(request.match_info["chat_id"])
        except ValueError:
            raise LookupError("chat id must be an integer") from None

    async def _http_state(self, request: web.Request) -> web.Response:
        async def action() -> dict[str, Any]:
            return {
                "version": self._version,
                "bot": self._bot_user(),
                "chats": self.chats(),
                "pending_update_count": len(self._updates),
                "webhook_url": self._webhook_url,
            }

        return await self._http_call(action)

    async def _http_register_chat(self, request: web.Request) -> web.Response:
        async def action() -> dict[str, Any]:
            body = await self._body(request)
            kind = body.get("type", "private")
            if kind == "private":
                return await self.register_private_chat(
                    int(body["user_id"]),
                    str(body["first_name"]),
                    username=body.get("username"),
                    last_name=body.get("last_name"),
                    language_code=body.get("language_code", "vi"),
                    started=bool(body.get("started", True)),
                )
            if kind in ("group", "supergroup"):
                return await self.register_group(
                    int(body["chat_id"]),
                    str(body["title"]),
                    supergroup=kind == "supergroup",
                    members=[int(member) for member in body.get("members", [])],
                )
            raise ValueError(f"unknown chat type {kind!r}")

        return await self._http_call(action)

    async def _http_history(self, request: web.Request) -> web.Response:
        async def action() -> dict[str, Any]:
            chat_id = self._chat_id(request)
            chat = self._chat(chat_id)
            since = int(request.query.get("since_version", "-1"))
            wait = min(float(request.query.get("wait", "0")), 30.0)
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await self.wait_until(lambda: self._version > since, wait, poll_interval=wait)
            return {
                "version": self._version,
                **self._chat_view(chat),
                "messages": self.history(chat_id),
                "callback_answers": self.callback_answers(chat_id),
            }

        return await self._http_call(action)

    async def _http_send_text(self, request: web.Request) -> web.Response:
        async def action() -> dict[str, Any]:
            body = await self._body(request)
            return await self.send_text(
                self._chat_id(request),
                str(body.get("text", "")),
                _user_of(body),
            )

        return await self._http_call(action)

    async def _http_press_button(self, request: web.Request) -> web.Response:
        async def action() -> dict[str, Any]:
            body = await self._body(request)
            return await self.press_button(
                self._chat_id(request),
                int(body["message_id"]),
                str(body["callback_data"]),
                _user_of(body),
            )

        return await self._http_call(action)

    async def _upload_from_request(
        self, request: web.Request, field_name: str
    ) -> tuple[bytes, str, str | None, dict[str, str]]:
        """Read an upload as multipart (field `field_name`) or JSON with base64 `data`."""
        if request.content_type == "multipart/form-data":
            form = await request.post()
            upload = form.get(field_name)
            if not isinstance(upload, web.FileField):
                raise ValueError(f"multipart field {field_name!r} with a file is required")
            fields = {key: value for key, value in form.items() if isinstance(value, str)}
            return upload.file.read(), upload.filename, upload.content_type, fields
        body = await self._body(request)
        try:
            data = base64.b64decode(str(body["data_base64"]), validate=True)
        except (KeyError, ValueError):
            raise ValueError("JSON field data_base64 (base64 file content) is required") from None
        fields = {key: str(value) for key, value in body.items() if key != "data_base64"}
        return data, fields.get("file_name", "file"), fields.get("mime_type"), fields

    async def _http_send_photo(self, request: web.Request) -> web.Response:
        async def action() -> dict[str, Any]:
            data, _, _, fields = await self._upload_from_request(request, "photo")
            return await self.send_photo(
                self._chat_id(request),
                data,
                fields.get("caption") or None,
                _user_of(fields),
            )

        return await self._http_call(action)

    async def _http_send_document(self, request: web.Request) -> web.Response:
        async def action() -> dict[str, Any]:
            data, file_name, mime, fields = await self._upload_from_request(request, "document")
            return await self.send_document(
                self._chat_id(request),
                data,
                file_name,
                mime,
                fields.get("caption") or None,
                _user_of(fields),
            )

        return await self._http_call(action)

    async def _http_share_contact(self, request: web.Request) -> web.Response:
        async def action() -> dict[str, Any]:
            body = await self._body(request)
            return await self.share_contact(
                self._chat_id(request),
                str(body["phone_number"]),
                str(body["first_name"]),
                _user_of(body),
            )

        return await self._http_call(action)

    async def _http_share_location(self, request: web.Request) -> web.Response:
        async def action() -> dict[str, Any]:
            body = await self._body(request)
            return await self.share_location(
                self._chat_id(request),
                float(body["latitude"]),
                float(body["longitude"]),
                _user_of(body),
            )

        return await self._http_call(action)

    async def _http_send_sticker(self, request: web.Request) -> web.Response:
        async def action() -> dict[str, Any]:
            body = await self._body(request)
            return await self.send_sticker(self._chat_id(request), _user_of(body))

        return await self._http_call(action)

    async def _http_block(self, request: web.Request) -> web.Response:
        async def action() -> dict[str, Any]:
            await self.block_bot(self._chat_id(request))
            return {"ok": True}

        return await self._http_call(action)

    async def _http_unblock(self, request: web.Request) -> web.Response:
        async def action() -> dict[str, Any]:
            await self.unblock_bot(self._chat_id(request))
            return {"ok": True}

        return await self._http_call(action)

    async def _http_fail_next(self, request: web.Request) -> web.Response:
        async def action() -> dict[str, Any]:
            body = await self._body(request)
            retry_after = body.get("retry_after")
            self.fail_next(
                str(body["method"]),
                int(body.get("status", 429)),
                retry_after=int(retry_after) if retry_after is not None else None,
                description=body.get("description"),
                count=int(body.get("count", 1)),
            )
            return {"ok": True}

        return await self._http_call(action)

    async def _http_requests(self, request: web.Request) -> web.Response:
        async def action() -> list[dict[str, Any]]:
            return [
                {
                    "method": record.method,
                    "params": record.params,
                    "files": {
                        name: {"file_name": f.file_name, "mime_type": f.mime_type, "size": f.size}
                        for name, f in record.files.items()
                    },
                    "status": record.status,
                    "at": record.at,
                }
                for record in self.requests(request.query.get("method"))
            ]

        return await self._http_call(action)

    async def _http_file(self, request: web.Request) -> web.StreamResponse:
        stored = self._files.get(request.match_info["file_id"])
        if stored is None:
            return self._api_json({"error": "no such file"}, 404)
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )
