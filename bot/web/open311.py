"""Open311 GeoReport v2 (JSON) under /open311/v2/: services, requests, and filing a request.

Reading needs no key; filing needs an `api_key` from `[open311] api_keys`. A filed request goes
through the same intake as a chat complaint (bot/domain/intake.py) and its card goes to the
agency through the outbox. Nothing published carries the reporter's identity, and the text of a
conduct ticket (track `to-cao`, or a conflict-of-interest category) is withheld.
"""

from __future__ import annotations

import functools
import hmac
import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.config import Config
from bot.domain import intake
from bot.domain.tickets import Reporter, agency_name, default_privacy
from handlers import cards
from handlers.messages import fmt_datetime, t
from storage import open311 as open311_store
from storage import outbox as outbox_store
from storage.models import OPEN_STATES, Ticket

if TYPE_CHECKING:
    from bot.app import HotlineApp

PREFIX = "/open311/v2"
DEFAULT_WINDOW = timedelta(days=90)  # GeoReport v2: without dates, the last 90 days
MAX_DESCRIPTION = 20_000
MAX_FIELD = 1_000
CHANNEL = "open311"
# Vietnamese stays readable in the JSON (UTF-8), not \u-escaped.
DUMPS = functools.partial(json.dumps, ensure_ascii=False)
# Contact details a reporter may have typed into the text itself are masked when published.
PHONE_IN_TEXT = re.compile(r"(?:\+?84|0)(?:[\s.\-]?\d){8,10}")
EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


class Open311Error(Exception):
    """A request the API refuses, with its HTTP status."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def add_routes(web_app: web.Application) -> None:
    """Add the Open311 routes to the web app."""
    router = web_app.router
    router.add_get(PREFIX + "/services.{fmt}", services)
    router.add_get(PREFIX + "/requests.{fmt}", list_requests)
    router.add_post(PREFIX + "/requests.{fmt}", post_request)
    router.add_get(PREFIX + "/requests/{code:[^/.]+}.{fmt}", get_request)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=DUMPS)


def _error(status: int, description: str) -> web.Response:
    return _json([{"code": status, "description": description}], status=status)


def _json_only(request: web.Request) -> None:
    fmt = request.match_info["fmt"]
    if fmt != "json":
        raise Open311Error(400, f"format {fmt!r} is not offered; this server answers JSON only")


def _hotline(request: web.Request) -> HotlineApp:
    from bot.web.server import HOTLINE_APP

    return request.app[HOTLINE_APP]  # type: ignore[return-value]


# --- services ----------------------------------------------------------------------------------


def service_list(config: Config, lang: str = "vi") -> list[dict[str, Any]]:
    """Return one GeoReport service per category of the directory."""
    result = []
    for category in config.categories:
        agency = agency_name(config, category.agency, lang)
        result.append(
            {
                "service_code": category.id,
                "service_name": category.name,
                "description": t(
                    "open311.service_description",
                    lang,
                    name=category.name,
                    agency=agency,
                    days=f"{category.sla_hours / 8:g}",
                ),
                "metadata": False,
                "type": "realtime",
                "keywords": ", ".join(k.phrase for k in category.keywords if k.weight > 0),
                "group": agency,
            }
        )
    return result


async def services(request: web.Request) -> web.Response:
    """GET services.json: every category as a service."""
    try:
        _json_only(request)
    except Open311Error as exc:
        return _error(exc.status, exc.description)
    return _json(service_list(_hotline(request).config))


# --- reading requests --------------------------------------------------------------------------


def is_conduct(config: Config, ticket: Ticket) -> bool:
    """Tell whether a ticket is about an official's conduct (its text is never published)."""
    category = config.category(ticket.category_id)
    return ticket.track == "to-cao" or bool(category and category.conflict_of_interest)


def public_description(text: str) -> str:
    """Mask phone numbers and email addresses typed into a complaint's text."""
    return EMAIL_IN_TEXT.sub("…", PHONE_IN_TEXT.sub("…", text))


def _when(value: datetime | None, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).isoformat(timespec="seconds") if value else None


def request_view(config: Config, ticket: Ticket, lang: str = "vi") -> dict[str, Any]:
    """Return the GeoReport fields of a ticket: no identity, no conduct text."""
    tz = config.work_calendar.tz
    category = config.category(ticket.category_id)
    conduct = is_conduct(config, ticket)
    updated = max(
        at
        for at in (
            ticket.created_at,
            ticket.routed_at,
            ticket.accepted_at,
            ticket.paused_at,
            ticket.resolved_at,
            ticket.closed_at,
        )
        if at is not None
    )
    located = not conduct and ticket.latitude is not None and ticket.longitude is not None
    return {
        "service_request_id": ticket.code,
        "status": "open" if ticket.state in OPEN_STATES else "closed",
        "status_notes": t(f"open311.notes.{ticket.state.value}", lang),
        "service_code": ticket.category_id,
        "service_name": category.name if category else ticket.category_id,
        "description": t("open311.withheld", lang) if conduct else public_description(ticket.text),
        "agency_responsible": agency_name(config, ticket.agency_id, lang),
        "requested_datetime": _when(ticket.created_at, tz),
        "updated_datetime": _when(updated, tz),
        "expected_datetime": _when(ticket.resolve_due_at, tz),
        # Where a conduct complaint was filed from could point at who filed it.
        "address": None if conduct else (ticket.address or ticket.ward or None),
        "lat": ticket.latitude if located else None,
        "long": ticket.longitude if located else None,
        "media_url": None if conduct else (ticket.media_url or None),
    }


def parse_instant(value: str, name: str, tz: ZoneInfo) -> datetime:
    """Parse an ISO 8601 date or datetime (local time when it has no offset), or refuse it."""
    text = value.strip()
    # An unencoded "+07:00" arrives as " 07:00" in a query string.
    candidates = [text, text.replace(" ", "+")] if " " in text else [text]
    for candidate in candidates:
        try:
            parsed = datetime.fromisoformat(candidate)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    raise Open311Error(400, f"{name} {value!r} is not an ISO 8601 date or datetime")


def _filters(query: Mapping[str, str], config: Config, now: datetime) -> dict[str, Any]:
    tz = config.work_calendar.tz
    codes = [c.strip() for c in query.get("service_request_id", "").split(",") if c.strip()]
    services_asked = [c.strip() for c in query.get("service_code", "").split(",") if c.strip()]
    for code in services_asked:
        if config.category(code) is None:
            raise Open311Error(400, f"service_code {code!r} is not a service; see services.json")
    status = query.get("status", "").strip().lower() or None
    if status not in (None, "open", "closed"):
        raise Open311Error(400, f"status {query['status']!r} must be 'open' or 'closed'")
    start = parse_instant(query["start_date"], "start_date", tz) if "start_date" in query else None
    end = parse_instant(query["end_date"], "end_date", tz) if "end_date" in query else None
    if start is not None and end is not None and start > end:
        raise Open311Error(400, "start_date is after end_date")
    if not codes and start is None and end is None:
        start = now - DEFAULT_WINDOW
    return {"codes": codes, "category_ids": services_asked, "start": start, "end": end,
            "status": status}  # fmt: skip


async def list_requests(request: web.Request) -> web.Response:
    """GET requests.json: the requests matching the filters, newest first, at most 1,000."""
    hotline = _hotline(request)
    try:
        _json_only(request)
        filters = _filters(request.query, hotline.config, hotline.clock())
    except Open311Error as exc:
        return _error(exc.status, exc.description)
    async with hotline.db.transaction() as session:
        tickets = await open311_store.list_requests(session=session, **filters)
        views = [request_view(hotline.config, ticket) for ticket in tickets]
    return _json(views)


async def get_request(request: web.Request) -> web.Response:
    """GET requests/{id}.json: one request, as a list of one (GeoReport v2)."""
    hotline = _hotline(request)
    code = request.match_info["code"]
    try:
        _json_only(request)
    except Open311Error as exc:
        return _error(exc.status, exc.description)
    async with hotline.db.transaction() as session:
        ticket = await open311_store.get_request(session=session, code=code)
        if ticket is None:
            return _error(404, f"no service request {code!r}")
        view = request_view(hotline.config, ticket)
    return _json([view])


# --- filing a request --------------------------------------------------------------------------


def check_api_key(config: Config, given: str | None) -> None:
    """Refuse a missing or unknown key (compared in constant time with every key)."""
    if not given:
        raise Open311Error(403, "api_key is required to file a service request")
    keys = config.open311.api_keys
    # Every key is compared (no early exit), so timing does not tell which one nearly matched.
    matches = [hmac.compare_digest(given.encode(), key.encode()) for key in keys]
    if not any(matches):
        raise Open311Error(403, "api_key is not valid")


def _text_field(form: Mapping[str, Any], name: str, limit: int = MAX_FIELD) -> str:
    value = form.get(name)
    text = "" if value is None else str(value).strip()
    if len(text) > limit:
        raise Open311Error(400, f"{name} is longer than {limit} characters")
    return text


def _coordinate(form: Mapping[str, Any], name: str, bound: float) -> float | None:
    raw = _text_field(form, name)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, f"{name} {raw!r} is not a number") from None
    if not -bound <= value <= bound:
        raise Open311Error(400, f"{name} must be between -{bound:g} and {bound:g}")
    return value


def parse_submission(config: Config, form: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the fields of a POST (after the key): service, text, place, contact."""
    service_code = _text_field(form, "service_code")
    if not service_code:
        raise Open311Error(400, "service_code is required; see services.json")
    if config.category(service_code) is None:
        raise Open311Error(400, f"service_code {service_code!r} is not a service")
    description = _text_field(form, "description", MAX_DESCRIPTION)
    if not description:
        raise Open311Error(400, "description is required")
    lat, long = _coordinate(form, "lat", 90), _coordinate(form, "long", 180)
    if (lat is None) != (long is None):
        raise Open311Error(400, "lat and long must be given together")
    media_url = _text_field(form, "media_url", 2048)
    if media_url and not re.match(r"https?://\S+$", media_url):
        raise Open311Error(400, "media_url must be an http(s) URL")
    email = _text_field(form, "email", 254)
    if email and not EMAIL_IN_TEXT.fullmatch(email):
        raise Open311Error(400, f"email {email!r} is not an email address")
    name = " ".join(
        part for part in (_text_field(form, "first_name"), _text_field(form, "last_name")) if part
    )
    return {
        "service_code": service_code,
        "description": description,
        "location": (lat, long) if lat is not None and long is not None else None,
        "address": _text_field(form, "address_string"),
        "media_url": media_url,
        "email": email,
        "name": name,
        "phone": _text_field(form, "phone", 32),
    }


async def _form_of(request: web.Request) -> Mapping[str, Any]:
    if request.content_type == "application/json":
        try:
            data = await request.json()
        except ValueError as exc:
            raise Open311Error(400, f"the body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise Open311Error(400, "the JSON body must be an object of fields")
        return data
    return await request.post()


async def post_request(request: web.Request) -> web.Response:
    """POST requests.json: file a complaint; answer its code and a notice (201)."""
    hotline = _hotline(request)
    config = hotline.config
    try:
        _json_only(request)
        form = await _form_of(request)
        check_api_key(config, str(form["api_key"]) if form.get("api_key") else None)
        fields = parse_submission(config, form)
    except Open311Error as exc:
        return _error(exc.status, exc.description)
    category = config.category(fields["service_code"])
    assert category is not None  # parse_submission checked it
    now = hotline.clock()
    reporter = Reporter(
        channel=CHANNEL,
        chat_id="",
        user_id="",
        name=fields["name"],
        phone=fields["phone"],
        privacy=default_privacy(category.track),
    )
    async with hotline.db.transaction() as session:
        decision, dossier_code = await intake.classify(
            session=session, classifier=hotline.classifier, text=fields["description"]
        )
        ticket = await intake.file_complaint(
            session=session,
            config=config,
            complaint=intake.Complaint(
                text=fields["description"],
                reporter=reporter,
                category_id=category.id,
                decision=decision,
                dossier_code=dossier_code,
                location=fields["location"],
                email=fields["email"],
                address=fields["address"],
                media_url=fields["media_url"],
            ),
            now=now,
        )
        for reply in cards.ticket_cards(config, ticket):
            await outbox_store.enqueue(
                session=session,
                channel=reply.channel or "",
                chat_id=reply.chat_id or "",
                payload=reply.to_payload(),
                now=now,
                ticket_id=reply.ticket_id,
            )
        notice = t(
            "open311.notice",
            "vi",
            code=ticket.code,
            agency=agency_name(config, ticket.agency_id),
            due=fmt_datetime(ticket.resolve_due_at or ticket.triage_due_at),
        )
        code = ticket.code
    hotline.outbox.wake()
    return _json([{"service_request_id": code, "service_notice": notice}], status=201)
