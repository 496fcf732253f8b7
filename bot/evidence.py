"""Evidence across channels: files fetched from a chat app's URL, and signed links to files.

A photo sent on Zalo arrives as a URL on Zalo's servers; Telegram cannot fetch it, so the bot
downloads it (with a size limit) and uploads the bytes. A photo sent on Telegram is a file id
only the bot can read; a Zalo agency gets a link to the bot's own web server instead, signed
and expiring, which the server answers by fetching the file from Telegram.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp

log = logging.getLogger(__name__)

EVIDENCE_PATH = "/evidence/"
_CHUNK = 64 * 1024


class EvidenceTooLarge(Exception):
    """The file is over the configured size limit."""


class EvidenceUnavailable(Exception):
    """The file could not be fetched (network error, not found, not a file)."""


@dataclass(frozen=True)
class Download:
    """A fetched file: its bytes, content type and a name to give it."""

    data: bytes
    content_type: str
    file_name: str


@dataclass(frozen=True)
class EvidenceRef:
    """What a signed link points at: a file of a channel, until an instant."""

    channel: str
    file_id: str
    kind: str
    file_name: str
    expires_at: datetime


def is_url(value: str) -> bool:
    """Tell whether a file id is a web address (Zalo gives files as URLs)."""
    return value.startswith(("https://", "http://"))


class EvidenceLinks:
    """Signs and reads the links under `/evidence/` (HMAC-SHA256 over the link's content)."""

    def __init__(self, key: bytes, public_url: str, lifetime: timedelta) -> None:
        self._key = key
        self.public_url = public_url.rstrip("/")
        self.lifetime = lifetime

    def link(
        self, *, channel: str, file_id: str, kind: str, file_name: str, now: datetime
    ) -> tuple[str, datetime]:
        """Return a link to the file and the instant it stops working."""
        expires_at = now + self.lifetime
        body = json.dumps(
            [channel, file_id, kind, file_name, int(expires_at.timestamp())],
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        token = _b64(body) + "." + _b64(self._sign(body))
        return f"{self.public_url}{EVIDENCE_PATH}{token}", expires_at.replace(microsecond=0)

    def read(self, token: str, now: datetime) -> EvidenceRef | None:
        """Return what a link's token points at; None if tampered with, malformed or expired."""
        head, _, tail = token.partition(".")
        try:
            body, signature = _unb64(head), _unb64(tail)
        except (ValueError, binascii.Error):
            return None
        if not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            channel, file_id, kind, file_name, expires = json.loads(body)
            expires_at = datetime.fromtimestamp(int(expires), UTC)
        except (ValueError, TypeError):
            return None
        if now >= expires_at:
            return None
        return EvidenceRef(str(channel), str(file_id), str(kind), str(file_name), expires_at)

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not text:
        raise ValueError("empty")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Downloader:
    """Fetches files by URL over HTTP, refusing anything over `max_bytes`."""

    def __init__(self, max_bytes: int, timeout: float = 30.0) -> None:
        self.max_bytes = max_bytes
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def fetch(self, url: str, file_name: str = "") -> Download:
        """Download `url`; raise EvidenceTooLarge or EvidenceUnavailable."""
        if not is_url(url):
            raise EvidenceUnavailable("not a web address")
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        timeout = aiohttp.ClientTimeout(total=self.timeout, connect=10.0)
        try:
            async with self._session.get(url, timeout=timeout) as response:
                if response.status != 200:
                    raise EvidenceUnavailable(f"HTTP {response.status}")
                if (response.content_length or 0) > self.max_bytes:
                    raise EvidenceTooLarge(f"{response.content_length} bytes")
                data = bytearray()
                async for chunk in response.content.iter_chunked(_CHUNK):
                    data.extend(chunk)
                    if len(data) > self.max_bytes:
                        # Stop reading: a server may announce no length and send gigabytes.
                        raise EvidenceTooLarge(f"over {self.max_bytes} bytes")
                content_type = response.content_type or "application/octet-stream"
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise EvidenceUnavailable(str(exc) or type(exc).__name__) from exc
        name = file_name or url.rsplit("/", 1)[-1].split("?", 1)[0] or "file"
        return Download(bytes(data), content_type, name)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None
