"""Zalo Official Account wire (Open API v3): signed webhook events → `Incoming`; replies → cs.

Events reach `POST /zalo-oa/webhook`, signed with `X-ZEvent-Signature: mac=<hex>`, the SHA-256
of app id + raw body + the body's timestamp + the OA secret key. Each event is recorded in the
database before 200 is answered (Zalo turns off webhooks slower than 2 s) and handled after.

Replies go to `POST {api_base}/v3.0/oa/message/cs` with the `access_token` header. The access
token lives about 25 hours; the refresh token works once. A refresh runs inside a database
lock and commits the new pair before anything uses it, so two instances never spend the same
refresh token and a crash cannot leave the bot holding a pair the database does not know.

An OA may answer a follower for free only within 48 hours of their last message (8 messages).
A notice outside that window is held in the outbox, marked on its ticket and shown to the
operators, and sent when the citizen writes again, unless `proactive` sends it as a paid
transaction message.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.channels.zalo import (
    chat_language,
    file_links,
    option_pressed,
    plain_text,
    remember_options,
    render,
    split_labelled,
)
from bot.chat import Attachment, Incoming, Location, Reply
from bot.config import Config, ZaloOAConfig
from bot.evidence import EvidenceLinks
from bot.outbox import DeliveryError
from handlers.messages import t
from handlers.targets import operators_chat
from storage import outbox as outbox_store
from storage import tickets as ticket_store
from storage import zalo_oa as oa_store
from storage.db import Database
from storage.outbox import ClaimedMessage

log = logging.getLogger(__name__)
CHANNEL = "zalo_oa"
SIGNATURE_HEADER = "X-ZEvent-Signature"
MAX_TEXT_LENGTH = 2000
REPLY_WINDOW = timedelta(hours=48)
REPLIES_PER_WINDOW = 8
REFRESH_AHEAD = timedelta(hours=1)
TOKEN_CHECK_SECONDS = 300.0
DRAIN_AFTER = timedelta(seconds=30)  # an event not handled by then is picked up again
# Error codes of the Open API (its `error` field) that the bot acts on.
TOKEN_EXPIRED = -216
USER_NOT_FOLLOWING = -213  # unfollowed the OA: like a blocked chat
WINDOW_CLOSED = -230  # Zalo's own view that the follower has not written lately
RATE_LIMITED = -32
INVALID_PARAMETERS = -201
USER_EVENTS = frozenset(
    {
        "user_send_text",
        "user_send_image",
        "user_send_location",
        "user_send_file",
        "user_send_sticker",
        "follow",
    }
)

Handle = Callable[[Incoming], Awaitable[Any]]
Clock = Callable[[], datetime]


# --- webhook events ------------------------------------------------------------------------


def event_signature(app_id: str, body: bytes, timestamp: str, secret_key: str) -> str:
    """Return the hex SHA-256 Zalo puts after `mac=` for this event."""
    digest = hashlib.sha256()
    digest.update(app_id.encode())
    digest.update(body)
    digest.update(timestamp.encode())
    digest.update(secret_key.encode())
    return digest.hexdigest()


def signature_matches(
    header: str, *, body: bytes, event: dict[str, Any], config: ZaloOAConfig
) -> bool:
    """Check `X-ZEvent-Signature` against the raw body, in constant time."""
    given = header.strip()
    if not given.startswith("mac="):
        return False
    expected = event_signature(
        config.app_id, body, str(event.get("timestamp") or ""), config.secret_key
    )
    return hmac.compare_digest(given[4:].strip().lower().encode(), expected.encode())


def event_key(event: dict[str, Any]) -> str | None:
    """Return the id that makes a redelivered event recognisable (Zalo's msg_id)."""
    message = event.get("message")
    if isinstance(message, dict) and message.get("msg_id"):
        return str(message["msg_id"])[:128]
    if event.get("event_name") == "follow":
        follower = (event.get("follower") or {}).get("id") or ""
        return f"follow:{follower}:{event.get('timestamp') or ''}"[:128]
    return None


def sender_of(event: dict[str, Any]) -> str:
    """Return the follower's user id of a user event."""
    if event.get("event_name") == "follow":
        return str((event.get("follower") or {}).get("id") or "")
    return str((event.get("sender") or {}).get("id") or "")


def incoming_from_event(event: dict[str, Any]) -> Incoming | None:
    """Turn an OA webhook event into the channel-neutral `Incoming` (None for what we ignore)."""
    name = str(event.get("event_name") or "")
    if name not in USER_EVENTS:
        return None
    user_id, key = sender_of(event), event_key(event)
    if not user_id or key is None:
        return None
    if name == "follow":
        return Incoming(
            channel=CHANNEL, chat_id=user_id, user_id=user_id, update_id=key, text="/start"
        )
    message = event.get("message") or {}
    attachments: list[Attachment] = []
    location: Location | None = None
    for item in message.get("attachments") or ():
        if not isinstance(item, dict):
            continue
        kind, payload = str(item.get("type") or ""), item.get("payload") or {}
        if kind == "image" and payload.get("url"):
            attachments.append(Attachment("photo", str(payload["url"])))
        elif kind == "file" and payload.get("url"):
            attachments.append(
                Attachment(
                    "document",
                    str(payload["url"]),
                    str(payload.get("name") or ""),
                    str(payload.get("type") or ""),
                )
            )
        elif kind == "sticker":
            attachments.append(
                Attachment("sticker", str(payload.get("id") or payload.get("url") or ""))
            )
        elif kind == "location":
            location = _location(payload.get("coordinates") or {})
    if name == "user_send_location" and location is None:
        attachments.append(Attachment("other", ""))
    return Incoming(
        channel=CHANNEL,
        chat_id=user_id,
        user_id=user_id,
        update_id=key,
        text=str(message.get("text") or ""),
        attachments=tuple(attachments),
        location=location,
    )


def _location(coordinates: dict[str, Any]) -> Location | None:
    try:
        return Location(float(coordinates["latitude"]), float(coordinates["longitude"]))
    except (KeyError, TypeError, ValueError):
        return None


# --- the Open API ------------------------------------------------------------------------


class OAApiError(Exception):
    """An answer of the Open API whose `error` is not 0."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message


class OANetworkError(Exception):
    """The API could not be reached, or its answer was not JSON."""


@dataclass(frozen=True)
class TokenPair:
    """What a refresh returns: a new access token, a new refresh token, the lifetime."""

    access_token: str
    refresh_token: str
    expires_in: int


class OAClient:
    """A small client of the OA Open API and of its OAuth token endpoint."""

    def __init__(self, config: ZaloOAConfig) -> None:
        self.config = config
        self._session: aiohttp.ClientSession | None = None

    async def _post(
        self, url: str, *, headers: dict[str, str], json_body: Any = None, form: Any = None
    ) -> dict[str, Any]:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        timeout = aiohttp.ClientTimeout(total=20.0, connect=10.0)
        try:
            async with self._session.post(
                url, headers=headers, json=json_body, data=form, timeout=timeout
            ) as response:
                try:
                    body: Any = await response.json(content_type=None)
                except ValueError as exc:
                    raise OANetworkError(f"HTTP {response.status}: answer is not JSON") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise OANetworkError(type(exc).__name__) from exc  # never the headers: tokens
        if not isinstance(body, dict):
            raise OANetworkError("unexpected answer")
        return body

    async def send(self, access_token: str, kind: str, body: dict[str, Any]) -> str | None:
        """Post one message (`kind` is cs or transaction); return its message id."""
        answer = await self._post(
            f"{self.config.api_base}/v3.0/oa/message/{kind}",
            headers={"access_token": access_token},
            json_body=body,
        )
        code = _int(answer.get("error"))
        if code != 0:
            raise OAApiError(code, str(answer.get("message") or "error"))
        data = answer.get("data") or {}
        message_id = data.get("message_id") if isinstance(data, dict) else None
        return str(message_id) if message_id else None

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Trade the refresh token (once) for a new pair."""
        answer = await self._post(
            f"{self.config.oauth_base}/v4/oa/access_token",
            headers={"secret_key": self.config.app_secret},
            form={
                "refresh_token": refresh_token,
                "app_id": self.config.app_id,
                "grant_type": "refresh_token",
            },
        )
        access, refresh = answer.get("access_token"), answer.get("refresh_token")
        if not access or not refresh:
            code = _int(answer.get("error")) or -1
            reason = answer.get("error_description") or answer.get("error_name") or "no token"
            raise OAApiError(code, f"refresh refused: {reason}")
        # expires_in arrives as a string of seconds.
        return TokenPair(str(access), str(refresh), _int(answer.get("expires_in")) or 3600)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class OATokens:
    """The OA's token pair, kept in the database; refreshed by one instance at a time."""

    def __init__(self, db: Database, config: ZaloOAConfig, client: OAClient, clock: Clock) -> None:
        self.db = db
        self.config = config
        self.client = client
        self.clock = clock
        self._lock = asyncio.Lock()  # one refresh per process; the database lock does the rest

    async def seed(self) -> None:
        """Store the config's pair, unless the database holds one rotated from it."""
        async with self.db.transaction() as session:
            await oa_store.seed_token(
                session=session,
                app_id=self.config.app_id,
                access_token=self.config.access_token,
                refresh_token=self.config.refresh_token,
                now=self.clock(),
            )

    async def current(self) -> str:
        """Return the access token to use now, refreshing it first within an hour of expiry."""
        async with self.db.transaction() as session:
            row = await oa_store.load_token(session=session, app_id=self.config.app_id)
        if row is None:
            raise OAApiError(TOKEN_EXPIRED, "no token stored")
        if row.access_token and not self._due(row.expires_at):
            return row.access_token
        return await self.refresh(row.access_token)

    def _due(self, expires_at: datetime | None) -> bool:
        return expires_at is not None and self.clock() >= expires_at - REFRESH_AHEAD

    async def refresh(self, stale: str) -> str:
        """Refresh unless another caller already replaced `stale`; return the token to use."""
        async with self._lock, self.db.transaction() as session:
            row = await oa_store.load_token(session=session, app_id=self.config.app_id, lock=True)
            if row is None:
                raise OAApiError(TOKEN_EXPIRED, "no token stored")
            if row.access_token and row.access_token != stale and not self._due(row.expires_at):
                return row.access_token  # another instance refreshed while we waited
            pair = await self.client.refresh(row.refresh_token)
            now = self.clock()
            await oa_store.save_token(
                session=session,
                app_id=self.config.app_id,
                access_token=pair.access_token,
                refresh_token=pair.refresh_token,
                expires_at=now + timedelta(seconds=pair.expires_in),
                now=now,
            )
        # Committed when the block closed: only now may the new token be used.
        log.info("zalo oa access token refreshed")
        return pair.access_token


# --- delivery ------------------------------------------------------------------------------


def within_window(
    last_message_at: datetime | None, replies_since: int, needed: int, now: datetime
) -> bool:
    """Tell whether `needed` more replies fit the follower's free 48-hour window."""
    if last_message_at is None or now - last_message_at >= REPLY_WINDOW:
        return False
    return replies_since + needed <= REPLIES_PER_WINDOW


def cs_body(user_id: str, text: str, image_url: str | None = None) -> dict[str, Any]:
    """Build a consultation (cs) message: text, or an image by URL with the text beside it."""
    message: dict[str, Any] = {"text": text} if text else {}
    if image_url is not None:
        message["attachment"] = {
            "type": "template",
            "payload": {
                "template_type": "media",
                "elements": [{"media_type": "image", "url": image_url}],
            },
        }
    return {"recipient": {"user_id": user_id}, "message": message}


def transaction_body(user_id: str, title: str, text: str) -> dict[str, Any]:
    """Build a paid transaction message carrying a notice outside the reply window."""
    return {
        "recipient": {"user_id": user_id},
        "message": {
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "transaction_event",
                    "language": "VI",
                    "elements": [
                        {"type": "header", "content": title, "align": "left"},
                        {"type": "text", "content": text, "align": "left"},
                    ],
                },
            }
        },
    }


def delivery_error(exc: OAApiError | OANetworkError) -> DeliveryError:
    """Map an Open API failure onto the outbox's retry, blocked, held or permanent failure."""
    if isinstance(exc, OANetworkError):
        return DeliveryError(f"network: {exc}")
    if exc.code == USER_NOT_FOLLOWING:
        return DeliveryError(f"{exc.code} {exc.message}", blocked=True)
    if exc.code == WINDOW_CLOSED:
        return DeliveryError(f"{exc.code} {exc.message}", held=True)
    if exc.code == RATE_LIMITED:
        return DeliveryError(f"{exc.code} {exc.message}", retry_after=60.0)
    if exc.code == INVALID_PARAMETERS:
        return DeliveryError(f"{exc.code} {exc.message}", permanent=True)
    return DeliveryError(f"{exc.code} {exc.message}")


class ZaloOASender:
    """Delivers outbox Replies to OA followers, inside the reply window or as paid messages."""

    def __init__(
        self,
        client: OAClient,
        tokens: OATokens,
        db: Database,
        clock: Clock,
        *,
        links: EvidenceLinks | None = None,
        proactive: bool = False,
    ) -> None:
        self.client = client
        self.tokens = tokens
        self.db = db
        self.clock = clock
        self.links = links
        self.proactive = proactive

    async def deliver(self, chat_id: str, reply: Reply) -> str | None:
        """Send one Reply (several messages if long); map errors onto DeliveryError."""
        lang = await chat_language(self.db, CHANNEL, chat_id)
        text, options = render(reply, lang)
        shown, lines = file_links(reply, self.links, lang, self.clock())
        pieces = split_labelled(
            "\n\n".join(part for part in (text, *lines) if part),
            plain_text(str(reply.extra.get("continued", ""))),
            MAX_TEXT_LENGTH,
        )
        image = next((a.file_id for a in shown if a.kind == "photo"), None)
        if not pieces and image is None:
            return None
        needed = max(len(pieces), 1)
        async with self.db.transaction() as session:
            window = await oa_store.window_of(session=session, user_id=chat_id)
        free = window is not None and within_window(
            window.last_message_at, window.replies_since, needed, self.clock()
        )
        if not free and not self.proactive:
            raise DeliveryError("outside Zalo's reply window", held=True)
        if options:
            await remember_options(self.db, CHANNEL, chat_id, options, None, self.clock())
        elif reply.request_contact or reply.extra.get("force_reply"):
            await remember_options(self.db, CHANNEL, chat_id, None, None, self.clock())
        if free:
            bodies = [("cs", cs_body(chat_id, pieces[0] if pieces else "", image))]
            bodies += [("cs", cs_body(chat_id, piece)) for piece in pieces[1:]]
        else:
            title = plain_text(t("zalo_oa.transaction_title", lang))
            # A transaction message carries text only: an image goes as its address.
            texts = pieces or [str(image)]
            bodies = [("transaction", transaction_body(chat_id, title, p)) for p in texts]
        message_id = await self._send_all(chat_id, bodies, counted=free)
        if options and message_id:
            await remember_options(self.db, CHANNEL, chat_id, options, message_id, self.clock())
        return message_id

    async def _send_all(
        self, chat_id: str, bodies: list[tuple[str, dict[str, Any]]], *, counted: bool
    ) -> str | None:
        message_id: str | None = None
        sent = 0
        try:
            token = await self.tokens.current()
            for kind, body in bodies:
                try:
                    message_id = await self.client.send(token, kind, body) or message_id
                except OAApiError as exc:
                    if exc.code != TOKEN_EXPIRED:
                        raise
                    token = await self.tokens.refresh(token)
                    message_id = await self.client.send(token, kind, body) or message_id
                sent += 1
        except (OAApiError, OANetworkError) as exc:
            raise delivery_error(exc) from exc
        finally:
            if counted and sent:
                async with self.db.transaction() as session:
                    await oa_store.count_replies(session=session, user_id=chat_id, sent=sent)
        return message_id


async def record_held(
    session: AsyncSession, row: ClaimedMessage, now: datetime, config: Config
) -> None:
    """Mark a notice held outside the reply window on its ticket and tell the operators once."""
    if row.channel != CHANNEL or row.ticket_id is None:
        return
    ticket = await ticket_store.get_ticket(session=session, ticket_id=row.ticket_id)
    if ticket is None:
        return
    await ticket_store.add_event(
        session=session,
        ticket=ticket,
        kind="outside_reply_window",
        at=now,
        note=plain_text(t("zalo_oa.outside_window_event", "vi")),
        data={"outbox_id": row.id},
    )
    target = operators_chat(config)
    if target is None:
        return
    window = await oa_store.window_of(session=session, user_id=row.chat_id)
    last = window.last_message_at.isoformat() if window and window.last_message_at else "-"
    await outbox_store.enqueue(
        session=session,
        channel=target[0],
        chat_id=target[1],
        payload=Reply(t("zalo_oa.outside_window", "vi", code=ticket.code)).to_payload(),
        now=now,
        # Once per ticket and closed window, however many notices wait.
        idempotency_key=f"oa-window:{ticket.id}:{last}",
        ticket_id=ticket.id,
    )


# --- the channel ---------------------------------------------------------------------------


class ZaloOAChannel:
    """The running OA channel: token upkeep, recorded webhook events, the sender."""

    def __init__(
        self,
        config: Config,
        *,
        db: Database,
        handle: Handle,
        clock: Clock,
        links: EvidenceLinks | None = None,
        on_released: Callable[[], None] = lambda: None,
    ) -> None:
        self.config = config.zalo_oa
        self.db = db
        self.handle = handle
        self.clock = clock
        self.on_released = on_released
        self.client = OAClient(self.config)
        self.tokens = OATokens(db, self.config, self.client, clock)
        self.sender = ZaloOASender(
            self.client, self.tokens, db, clock, links=links, proactive=self.config.proactive
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._upkeep: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Store the configured tokens, handle events left from a stop, keep the token fresh."""
        await self.tokens.seed()
        self._upkeep = asyncio.create_task(self._keep_up(), name="zalo-oa-upkeep")
        log.info("zalo oa channel started")

    async def stop(self) -> None:
        """Finish handling recorded events, then close the HTTP session."""
        if self._upkeep is not None:
            self._upkeep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._upkeep
            self._upkeep = None
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=10)
        await self.client.close()

    async def record(self, event: dict[str, Any]) -> bool:
        """Record a verified event and open the follower's window; False for a duplicate.

        Handling starts in the background: the webhook answers as soon as this returns.
        """
        key, user_id = event_key(event), sender_of(event)
        if key is None or not user_id:
            return False
        now = self.clock()
        async with self.db.transaction() as session:
            fresh = await oa_store.record_inbound(
                session=session, msg_id=key, payload=event, now=now
            )
            if not fresh:
                return False
            await oa_store.open_window(session=session, user_id=user_id, now=now)
            released = await oa_store.release_held(
                session=session, channel=CHANNEL, chat_id=user_id, now=now
            )
        if released:
            log.info("zalo oa follower wrote again: %s held notices released", released)
            self.on_released()
        task = asyncio.create_task(self._process(key, event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _process(self, key: str, event: dict[str, Any]) -> None:
        try:
            incoming = incoming_from_event(event)
            if incoming is not None:
                await self.handle(await option_pressed(self.db, incoming))
            async with self.db.transaction() as session:
                await oa_store.drop_inbound(session=session, msg_id=key)
        except Exception:  # kept recorded: the upkeep loop tries it again
            log.exception("could not handle a zalo oa event")

    async def drain(self, *, all_recorded: bool = False) -> int:
        """Handle events recorded but not handled (a crash, a failed handler); return how many.

        Normally only events older than DRAIN_AFTER, which no handler is still working on;
        at start, every one (the inbox's processed-update row keeps any from running twice).
        """
        before = self.clock() if all_recorded else self.clock() - DRAIN_AFTER
        async with self.db.transaction() as session:
            rows = await oa_store.pending_inbound(session=session, received_before=before)
        for row in rows:
            await self._process(row.msg_id, row.payload)
        return len(rows)

    async def _keep_up(self) -> None:
        first = True
        while True:
            try:
                await self.drain(all_recorded=first)
                first = False
                await self.tokens.current()  # refreshes within an hour of expiry
            except (OAApiError, OANetworkError) as exc:
                log.warning("zalo oa token upkeep failed: %s", exc)
            except Exception:
                log.exception("zalo oa upkeep failed")
            await asyncio.sleep(TOKEN_CHECK_SECONDS)


def parse_event(body: bytes) -> dict[str, Any] | None:
    """Parse a webhook body; None if it is not a JSON object."""
    try:
        event = json.loads(body)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None
