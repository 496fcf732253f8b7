"""An aiohttp-based HTTP transport for python-telegram-bot (a `telegram.request.BaseRequest`)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_LOGGER = logging.getLogger(__name__)

# The bot token travels in the URL path (`/bot<token>/method`, `/file/bot<token>/path`), and
# aiohttp puts the URL into some exception texts; these patterns keep it out of messages and logs.
_URL_TOKEN = re.compile(r"/bot[^/?#\s'\"]+")
_BARE_TOKEN = re.compile(r"\b\d{3,}:[A-Za-z0-9_-]{8,}")

_POOL_TIMEOUT_MESSAGE = (
    "Pool timeout: All connections in the connection pool are occupied. Request was *not* sent "
    "to Telegram. Consider adjusting the connection pool size or the pool timeout."
)


def redact_token(text: str) -> str:
    """Return `text` with anything that looks like a bot token (or a URL carrying one) masked."""
    return _BARE_TOKEN.sub("<token>", _URL_TOKEN.sub("/bot<token>", text))


def _endpoint(url: str) -> str:
    """Return the last path segment of a Bot API URL (the method name), never the token."""
    return redact_token(url.rsplit("/", 1)[-1].split("?", 1)[0])


class AiohttpRequest(BaseRequest):
    """PTB transport over one `aiohttp.ClientSession` per instance.

    Timeouts follow PTB's meaning: `connect_timeout` bounds establishing a connection
    (`ClientTimeout.sock_connect`), `read_timeout` bounds each wait for data from the server
    (`ClientTimeout.sock_read`), `pool_timeout` bounds waiting for a free slot among
    `connection_pool_size` concurrent requests. aiohttp has no per-write timeout, so
    `write_timeout` (or `media_write_timeout` for uploads) is enforced as part of a deadline on
    the whole exchange up to the response headers: connect + write + read.

    PTB uses two instances, one for `getUpdates` (whose read timeout PTB extends by the long-poll
    timeout on every call) and one for everything else; each owns its own session.
    """

    __slots__ = (
        "_connect_timeout",
        "_connection_pool_size",
        "_init_lock",
        "_media_write_timeout",
        "_pool_slots",
        "_pool_timeout",
        "_proxy",
        "_read_timeout",
        "_session",
        "_shut_down",
        "_trust_env",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
        proxy: str | None = None,
        trust_env: bool = False,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._connection_pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._proxy = proxy
        self._trust_env = trust_env
        self._session: aiohttp.ClientSession | None = None
        self._pool_slots: asyncio.Semaphore | None = None
        self._init_lock: asyncio.Lock | None = None
        self._shut_down = False

    @property
    def read_timeout(self) -> float | None:
        """Return the default read timeout in seconds (see `BaseRequest.read_timeout`)."""
        return self._read_timeout

    @property
    def connection_pool_size(self) -> int:
        """Return the maximum number of concurrent requests (and pooled connections)."""
        return self._connection_pool_size

    @property
    def is_initialized(self) -> bool:
        """Return whether a live session exists."""
        return self._session is not None and not self._session.closed

    async def initialize(self) -> None:
        """Create the client session (idempotent; also re-opens after `shutdown`)."""
        self._shut_down = False
        await self._ensure_session()

    async def shutdown(self) -> None:
        """Close the client session and its connections (idempotent)."""
        self._shut_down = True
        session, self._session = self._session, None
        if session is None or session.closed:
            _LOGGER.debug("AiohttpRequest already shut down")
            return
        await session.close()

    async def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is not None and not self._session.closed:
            return self._session
        if self._init_lock is None:
            self._init_lock = asyncio.Lock()
        async with self._init_lock:
            if self._session is None or self._session.closed:
                self._session = self._build_session()
                self._pool_slots = asyncio.Semaphore(self._connection_pool_size)
        return self._session

    def _build_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self._connection_pool_size, limit_per_host=0)
        return aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=self._connect_timeout, sock_read=self._read_timeout
            ),
            headers={"User-Agent": self.USER_AGENT},
            trust_env=self._trust_env,
        )

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request and return its HTTP status and body (see `BaseRequest.do_request`)."""
        if self._shut_down:
            raise RuntimeError("This AiohttpRequest is shut down; call initialize() first")
        session = await self._ensure_session()
        # Keep our own reference: a shutdown()+initialize() meanwhile installs a new semaphore.
        slots = self._pool_slots
        assert slots is not None

        has_files = request_data is not None and request_data.contains_files
        read = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = (
            self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout
        )
        pool = self._pool_timeout if isinstance(pool_timeout, DefaultValue) else pool_timeout
        if isinstance(write_timeout, DefaultValue):
            write = self._media_write_timeout if has_files else self._write_timeout
        else:
            write = write_timeout

        body, headers = self._encode_body(request_data)
        endpoint = _endpoint(url)
        try:
            async with asyncio.timeout(pool):
                await slots.acquire()
        except TimeoutError as exc:
            raise TimedOut(_POOL_TIMEOUT_MESSAGE) from exc
        try:
            return await self._exchange(
                session, url, method, body, headers, read=read, write=write, connect=connect
            )
        except TimedOut:
            raise
        except TimeoutError as exc:
            # aiohttp's connect/read timeouts subclass TimeoutError; so does our own deadline.
            phase = "Connect timed out" if isinstance(exc, aiohttp.ConnectionTimeoutError) else ""
            _LOGGER.debug("%s %s timed out (%s)", method, endpoint, type(exc).__name__)
            raise TimedOut(phase or "Timed out") from None
        except (aiohttp.ClientError, OSError) as exc:
            text = str(exc)
            safe = redact_token(text)
            _LOGGER.debug("%s %s failed: %s", method, endpoint, type(exc).__name__)
            error = NetworkError(f"aiohttp.{type(exc).__name__}: {safe}")
            if safe != text:
                # The original exception (and so a chained traceback) names the token.
                raise error from None
            raise error from exc
        finally:
            slots.release()

    async def _exchange(
        self,
        session: aiohttp.ClientSession,
        url: str,
        method: str,
        body: Any,
        headers: dict[str, str],
        *,
        read: float | None,
        write: float | None,
        connect: float | None,
    ) -> tuple[int, bytes]:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read)
        deadline: float | None = None
        if read is not None and write is not None and connect is not None:
            deadline = connect + write + read
        async with asyncio.timeout(deadline):
            response = await session.request(
                method,
                url,
                data=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                proxy=self._proxy,
            )
        async with response:
            # Past the headers only sock_read applies, like a per-chunk read timeout.
            payload = await response.read()
        _LOGGER.debug("%s %s -> %s", method, _endpoint(url), response.status)
        return response.status, payload

    @staticmethod
    def _encode_body(request_data: RequestData | None) -> tuple[Any, dict[str, str]]:
        """Return the request body and extra headers: JSON, or multipart with files.

        The Bot API takes JSON bodies for every method but uploads; encoding one costs a tenth
        of percent-encoding the same Vietnamese text as a form.
        """
        if request_data is None:
            return None, {}
        if not request_data.contains_files:
            parameters = request_data.parameters
            if not parameters:
                return None, {}
            encoded = json.dumps(parameters, ensure_ascii=False).encode("utf-8")
            return encoded, {"Content-Type": "application/json"}
        # quote_fields=False sends UTF-8 file names as they are (Vietnamese names stay readable),
        # the way httpx does, instead of percent-encoding them.
        form = aiohttp.FormData(quote_fields=False, charset="utf-8")
        for name, value in request_data.json_parameters.items():
            form.add_field(name, value)
        for name, (file_name, content, mime_type) in request_data.multipart_data.items():
            form.add_field(name, content, filename=file_name, content_type=mime_type)
        return form, {}
