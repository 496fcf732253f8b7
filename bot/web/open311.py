"""Open311 GeoReport v2 (JSON) under /open311/v2/: services, requests, and filing a request.

A request filed here goes through the same triage and routing as a chat complaint: the
classifier reads the description, the `service_code` is the category asked for and is routed
like a citizen's own choice (bot/domain/routing.py), the ticket is opened and the agency's card
is queued in the same transaction. What is read back never carries the reporter's identity, and
the text of a conduct complaint (a denunciation of an official) is never shown.
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import math
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.chat import Attachment
from bot.config import CategoryConfig, Config
from bot.domain.tickets import Reporter, default_privacy, open_ticket
from bot.outbox import outbox_rows
from handlers import cards
from handlers.messages import t
from storage import open311 as open311_store
from storage import outbox as outbox_store
from storage.models import Privacy, Ticket

if TYPE_CHECKING:
    from bot.app import HotlineApp

log = logging.getLogger(__name__)

BASE = "/open311/v2"
CHANNEL = "open311"  # tickets filed by other systems: no chat to answer in
MAX_DESCRIPTION = 20_000
STATUSES = {"open": False, "closed": True}


class Open311Error(Exception):
    """A request GeoReport answers with an error list: HTTP status and description."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def error_response(status: int, description: str) -> web.Response:
    """Answer GeoReport's error form: a list of {code, description}."""
    return web.json_response([{"code": status, "description": description}], status=status)


def add_routes(web_app: web.Application, hotline: HotlineApp) -> None:
    """Add the Open311 routes; handlers find the app through `hotline`."""
    endpoints = Open311(hotline)
    web_app.router.add_get(f"{BASE}/services.json", endpoints.services)
    web_app.router.add_get(f"{BASE}/requests.json", endpoints.requests)
    web_app.router.add_post(f"{BASE}/requests.json", endpoints.create)
    web_app.router.add_get(BASE + "/requests/{code}.json", endpoints.request)
    web_app.router.add_route("*", BASE + "/{path:.*}", endpoints.unknown)


class Open311:
    """The GeoReport endpoints of one hotline."""

    def __init__(self, hotline: HotlineApp) -> None:
        self.hotline = hotline

    @property
    def config(self) -> Config:
        """Return the hotline's configuration."""
        return self.hotline.config

    async def services(self, request: web.Request) -> web.Response:
        """`GET services.json`: one service per category."""
        return web.json_response([service_of(self.config, c) for c in self.config.categories])

    async def requests(self, request: web.Request) -> web.Response:
        """`GET requests.json`: requests by id, service, dates and status, newest first."""
        try:
            filters = parse_filters(self.config, request.query)
        except Open311Error as exc:
            return error_response(exc.status, exc.description)
        async with self.hotline.db.transaction() as session:
            tickets = await open311_store.list_requests(
                session=session, limit=self.config.open311.max_requests, **filters
            )
            media = await open311_store.first_media_urls(
                session=session, ticket_ids=[x.id for x in tickets if x.id is not None]
            )
        return web.json_response([self._request_of(x, media) for x in tickets])

    async def request(self, request: web.Request) -> web.Response:
        """`GET requests/{id}.json`: one request, as a list of one (GeoReport's form)."""
        code = request.match_info["code"]
        async with self.hotline.db.transaction() as session:
            tickets = await open311_store.list_requests(session=session, codes=[code], limit=1)
            media = await open311_store.first_media_urls(
                session=session, ticket_ids=[x.id for x in tickets if x.id is not None]
            )
        if not tickets:
            return error_response(404, f"no service request {code}")
        return web.json_response([self._request_of(tickets[0], media)])

    async def unknown(self, request: web.Request) -> web.Response:
        """Any other path or format: GeoReport errors, JSON only."""
        if request.path.endswith(".xml"):
            return error_response(400, "only the JSON format is served; use .json")
        return error_response(404, f"no such Open311 endpoint: {request.path}")

    async def create(self, request: web.Request) -> web.Response:
        """`POST requests.json`: file a complaint; answer its code and what happens next."""
        try:
            fields = await _fields_of(request)
            key = self._check_key(fields.get("api_key", ""))
            filed = parse_new_request(self.config, fields)
        except Open311Error as exc:
            return error_response(exc.status, exc.description)
        hotline = self.hotline
        now = hotline.clock()
        decision = hotline.classifier.classify(filed.text)
        if filed.category.id != decision.category:
            chosen = hotline.classifier.route_as(filed.text, filed.category.id)
            decision = dataclasses.replace(chosen, confidence=decision.confidence)
        reporter = Reporter(
            channel=CHANNEL,
            chat_id="",
            user_id=key,
            language="vi",
            name=filed.name,
            phone=filed.phone,
            privacy=(
                default_privacy(decision.track) if filed.name or filed.phone else Privacy.ANONYMOUS
            ),
        )
        media = [Attachment("photo", filed.media_url)] if filed.media_url else []
        async with hotline.db.transaction() as session:
            ticket = await open_ticket(
                session=session,
                config=self.config,
                reporter=reporter,
                text=filed.text,
                decision=decision,
                category_id=filed.category.id,
                now=now,
                attachments=[{"kind": a.kind, "file_id": a.file_id} for a in media],
                location=filed.location,
            )
            replies = cards.ticket_cards(self.config, ticket, media)
            rows = outbox_rows(replies)
            await outbox_store.enqueue_many(session=session, messages=rows, now=now)
        hotline.outbox.wake()
        log.info("open311 request filed as %s (%s)", ticket.code, ticket.category_id)
        notice = t(
            "open311.notice.routed" if ticket.agency_id else "open311.notice.triage",
            "vi",
            code=ticket.code,
        )
        return web.json_response(
            [{"service_request_id": ticket.code, "service_notice": notice}], status=201
        )

    def _check_key(self, given: str) -> str:
        """Return a short, non-secret name of the key used; 403 for a missing or wrong key."""
        if not given:
            raise Open311Error(403, "api_key is required to file a service request")
        for index, key in enumerate(self.config.open311.api_keys):
            if hmac.compare_digest(given.encode(), key.encode()):
                return f"key{index + 1}"
        log.warning("open311 request with a wrong api_key")
        raise Open311Error(403, "api_key is not valid")

    def _request_of(self, ticket: Ticket, media: dict[int, str]) -> dict[str, Any]:
        return request_of(self.config, ticket, media.get(ticket.id or 0))


# --- pure parts: what a request reads as, what a filter means --------------------------------


def service_of(config: Config, category: CategoryConfig) -> dict[str, Any]:
    """Describe one category as a GeoReport service."""
    agency = config.agency(category.agency) if category.agency else None
    return {
        "service_code": category.id,
        "service_name": category.name,
        "description": category.name_en or category.name,
        "metadata": False,
        "type": "realtime",
        "keywords": ", ".join(k.phrase for k in category.keywords[:12]),
        "group": agency.name if agency else t("complaint.triage_agency", "vi"),
    }


def is_conduct(config: Config, ticket: Ticket) -> bool:
    """Tell whether the ticket denounces an official: its text is never published."""
    category = config.category(ticket.category_id)
    return (
        ticket.track == "to-cao"
        or ticket.subject_agency_id is not None
        or bool(category and category.conflict_of_interest)
    )


def request_of(config: Config, ticket: Ticket, media_url: str | None = None) -> dict[str, Any]:
    """Describe one ticket as a GeoReport service request, without identity."""
    category = config.category(ticket.category_id)
    agency = config.agency(ticket.agency_id) if ticket.agency_id else None
    closed = ticket.state in open311_store.CLOSED_STATES
    conduct = is_conduct(config, ticket)
    state_label = t(f"state.{ticket.state.value}", "vi")
    notes = ticket.answer if ticket.answer and not conduct else state_label
    tz = config.work_calendar.tz
    instants = [
        x
        for x in (
            ticket.created_at,
            ticket.routed_at,
            ticket.accepted_at,
            ticket.resolved_at,
            ticket.closed_at,
        )
        if x is not None
    ]
    return {
        "service_request_id": ticket.code,
        "status": "closed" if closed else "open",
        "status_notes": notes,
        "service_code": ticket.category_id,
        "service_name": category.name if category else ticket.category_id,
        "description": None if conduct else ticket.text,
        "agency_responsible": agency.name if agency else t("complaint.triage_agency", "vi"),
        "requested_datetime": _iso(ticket.created_at, tz),
        "updated_datetime": _iso(max(instants) if instants else None, tz),
        "expected_datetime": _iso(ticket.resolve_due_at, tz),
        "address": ticket.ward,
        "lat": None if conduct else ticket.latitude,
        "long": None if conduct else ticket.longitude,
        "media_url": None if conduct else media_url,
    }


def _iso(instant: datetime | None, tz: Any) -> str | None:
    return instant.astimezone(tz).isoformat(timespec="seconds") if instant else None


def parse_instant(name: str, value: str, config: Config) -> datetime:
    """Read an ISO 8601 instant; one without an offset is in the province's time zone."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise Open311Error(400, f"{name} is not an ISO 8601 date-time: {value!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=config.work_calendar.tz)
    return parsed


def parse_filters(config: Config, query: Any) -> dict[str, Any]:
    """Read requests.json's query string into `storage.open311.list_requests` arguments."""
    codes = _comma_list(query.get("service_request_id", ""))
    categories = _comma_list(query.get("service_code", ""))
    unknown = [c for c in categories if config.category(c) is None]
    if unknown:
        raise Open311Error(400, f"unknown service_code: {', '.join(unknown)}")
    start, end = (
        parse_instant(name, query[name], config) if name in query else None
        for name in ("start_date", "end_date")
    )
    if start and end and start > end:
        raise Open311Error(400, "start_date is after end_date")
    statuses = _comma_list(query.get("status", ""))
    bad = [s for s in statuses if s not in STATUSES]
    if bad:
        raise Open311Error(400, f"status must be open or closed, not {', '.join(bad)}")
    wanted = {STATUSES[s] for s in statuses}
    return {
        "codes": codes,
        "categories": categories,
        "start": start,
        "end": end,
        "closed": wanted.pop() if len(wanted) == 1 else None,
    }


def _comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


@dataclasses.dataclass(frozen=True)
class NewRequest:
    """A service request to file, checked."""

    category: CategoryConfig
    text: str
    name: str
    phone: str
    media_url: str
    location: tuple[float, float] | None


def parse_new_request(config: Config, fields: dict[str, str]) -> NewRequest:
    """Check a POSTed request's fields; 400 with the reason for the first bad one."""
    code = fields.get("service_code", "").strip()
    if not code:
        raise Open311Error(400, "service_code is required")
    category = config.category(code)
    if category is None:
        raise Open311Error(400, f"unknown service_code: {code}")
    description = fields.get("description", "").strip()
    if not description:
        raise Open311Error(400, "description is required")
    if len(description) > MAX_DESCRIPTION:
        raise Open311Error(400, f"description is longer than {MAX_DESCRIPTION} characters")
    location = _location(fields)
    media_url = fields.get("media_url", "").strip()
    if media_url and not media_url.startswith(("https://", "http://")):
        raise Open311Error(400, "media_url must be an http:// or https:// address")
    address = fields.get("address_string", "").strip()
    # Stored as typed (texts are escaped where shown): the label alone comes from the messages.
    label = t("open311.address_label", "vi")
    text = description + (f"\n\n{label}: {address}" if address else "")
    name = " ".join(
        part
        for part in (fields.get("first_name", "").strip(), fields.get("last_name", "").strip())
        if part
    )
    email = fields.get("email", "").strip()
    if email and "@" not in email:
        raise Open311Error(400, "email is not an e-mail address")
    if email:
        name = f"{name} <{email}>".strip()
    return NewRequest(
        category=category,
        text=text,
        name=name[:120],
        phone=fields.get("phone", "").strip()[:20],
        media_url=media_url,
        location=location,
    )


def _location(fields: dict[str, str]) -> tuple[float, float] | None:
    lat, long = fields.get("lat", "").strip(), fields.get("long", "").strip()
    if not lat and not long:
        return None
    try:
        latitude, longitude = float(lat), float(long)
    except ValueError as exc:
        raise Open311Error(400, "lat and long must both be numbers") from exc
    if not (
        math.isfinite(latitude)
        and math.isfinite(longitude)
        and -90 <= latitude <= 90
        and -180 <= longitude <= 180
    ):
        raise Open311Error(400, "lat or long is out of range")
    return latitude, longitude


async def _fields_of(request: web.Request) -> dict[str, str]:
    """Read a POST's fields: form-encoded (GeoReport's own) or a JSON object."""
    if request.content_type == "application/json":
        try:
            data = await request.json()
        except ValueError as exc:
            raise Open311Error(400, f"the body is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise Open311Error(400, "the body must be a JSON object")
        return {str(k): "" if v is None else str(v) for k, v in data.items()}
    form = await request.post()
    return {k: v for k, v in form.items() if isinstance(v, str)}
