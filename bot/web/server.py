"""HTTP routes of `hotline run`: health and the Telegram and Zalo webhooks."""

from __future__ import annotations

import hmac
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web
from telegram.error import TelegramError

from bot.channels import zalo_oa
from bot.evidence import EVIDENCE_PATH, EvidenceTooLarge, EvidenceUnavailable
from bot.metrics import CONTENT_TYPE
from bot.web import open311
from bot.web.console import add_console  # console (issue 8)
from bot.web.public import add_public_routes

if TYPE_CHECKING:
    from bot.app import HotlineApp

log = logging.getLogger(__name__)
HOTLINE_APP = web.AppKey("hotline_app", object)
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ZALO_SECRET_HEADER = "X-Bot-Api-Secret-Token"


def build_web_app(web_app: web.Application, hotline: HotlineApp) -> web.Application:
    """Add the service routes to `web_app` (the sandbox adds its own beside them)."""
    web_app[HOTLINE_APP] = hotline
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_post("/telegram/webhook", telegram_webhook)
    web_app.router.add_post("/zalo/webhook", zalo_webhook)
    # --- reports (issue 9): the public accountability page ---
    add_public_routes(web_app, db=hotline.db, config=hotline.config, clock=hotline.clock)
    # --- Zalo Official Account and evidence links (issue 11) ---
    web_app.router.add_post("/zalo-oa/webhook", zalo_oa_webhook)
    web_app.router.add_get(EVIDENCE_PATH + "{token}", evidence_file)
    # --- Open311 GeoReport v2 and metrics (issue 9) ---
    open311.add_routes(web_app, hotline)
    web_app.router.add_get("/metrics", metrics)
    # --- console (issue 8): the operators', leaders' and agencies' web console ---
    add_console(web_app, hotline)
    return web_app


def _hotline(request: web.Request) -> HotlineApp:
    return request.app[HOTLINE_APP]  # type: ignore[return-value]


async def healthz(request: web.Request) -> web.Response:
    """Report that the process is up and its database answers."""
    hotline = _hotline(request)
    try:
        await hotline.db.ping()
    except Exception as exc:  # a health check reports failures, it does not raise them
        log.warning("health check: database unavailable: %s", exc)
        return web.json_response({"status": "error", "database": "unavailable"}, status=503)
    return web.json_response({"status": "ok"})


async def telegram_webhook(request: web.Request) -> web.Response:
    """Receive an update from Telegram; it is stored before 200 is answered."""
    hotline = _hotline(request)
    application = hotline.telegram
    intake = hotline.telegram_intake
    expected = hotline.config.telegram.secret_token
    given = request.headers.get(TELEGRAM_SECRET_HEADER, "")
    if application is None or intake is None:
        return web.json_response({"error": "telegram channel is not enabled"}, status=404)
    if expected and not hmac.compare_digest(given.encode(), expected.encode()):
        log.warning("telegram webhook call with a wrong secret token from %s", request.remote)
        return web.json_response({"error": "forbidden"}, status=403)
    try:
        update: Any = await request.json()
    except ValueError as exc:
        return web.json_response({"error": f"not JSON: {exc}"}, status=400)
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        return web.json_response({"error": "not a Telegram update"}, status=400)
    try:
        await intake.submit(update)
    except Exception as exc:  # not stored: Telegram retries it later
        log.warning("telegram update %s not stored: %s", update["update_id"], exc)
        return web.json_response({"error": "not stored, try again"}, status=503)
    return web.json_response({"ok": True})


async def zalo_webhook(request: web.Request) -> web.Response:
    """Receive an update from Zalo; it is handled and stored before 200 is answered."""
    hotline = _hotline(request)
    channel = hotline.zalo
    if channel is None:
        return web.json_response({"error": "zalo channel is not enabled"}, status=404)
    expected = hotline.config.zalo.secret_token
    given = request.headers.get(ZALO_SECRET_HEADER, "")
    if expected and not hmac.compare_digest(given.encode(), expected.encode()):
        log.warning("zalo webhook call with a wrong secret token from %s", request.remote)
        return web.json_response({"error": "forbidden"}, status=403)
    try:
        data: Any = await request.json()
    except ValueError as exc:
        return web.json_response({"error": f"not JSON: {exc}"}, status=400)
    if not isinstance(data, dict):
        return web.json_response({"error": "not a Zalo update"}, status=400)
    await channel.receive(data)
    return web.json_response({"ok": True})


# --- metrics (issue 9) ---
async def metrics(request: web.Request) -> web.Response:
    """Serve the Prometheus metrics, the database gauges read now."""
    hotline = _hotline(request)
    try:
        await hotline.metrics.refresh(hotline.db, hotline.clock())
    except Exception as exc:  # counters still tell something while the database is away
        log.warning("metrics: database gauges not refreshed: %s", exc)
    for channel, poller in hotline.pollers().items():
        hotline.metrics.polling.labels(channel=channel).set(int(poller.polling))
    return web.Response(body=hotline.metrics.render(), headers={"Content-Type": CONTENT_TYPE})


# --- Zalo Official Account and evidence links (issue 11) ---
async def zalo_oa_webhook(request: web.Request) -> web.Response:
    """Receive an OA event: verify its signature, record it, answer; it is handled after."""
    hotline = _hotline(request)
    channel = hotline.zalo_oa
    if channel is None:
        return web.json_response({"error": "zalo oa channel is not enabled"}, status=404)
    body = await request.read()
    event = zalo_oa.parse_event(body)
    if event is None:
        return web.json_response({"error": "not a JSON object"}, status=400)
    header = request.headers.get(zalo_oa.SIGNATURE_HEADER, "")
    if not zalo_oa.signature_matches(header, body=body, event=event, config=channel.config):
        log.warning("zalo oa webhook call with a wrong signature from %s", request.remote)
        return web.json_response({"error": "bad signature"}, status=401)
    if str(event.get("event_name") or "").startswith("oa_"):
        return web.json_response({"ok": True, "ignored": "echo of the OA's own message"})
    recorded = await channel.record(event)
    return web.json_response({"ok": True, "duplicate": not recorded})


async def evidence_file(request: web.Request) -> web.StreamResponse:
    """Serve a file behind a signed link; 403 when the link is tampered with or expired."""
    hotline = _hotline(request)
    ref = hotline.evidence_links.read(request.match_info["token"], hotline.clock())
    if ref is None:
        return web.json_response({"error": "link invalid or expired"}, status=403)
    try:
        data, content_type = await hotline.fetch_evidence(ref)
    except EvidenceTooLarge:
        return web.json_response({"error": "file too large"}, status=413)
    except (EvidenceUnavailable, TelegramError) as exc:
        log.warning("evidence link: could not fetch the file: %s", exc)
        return web.json_response({"error": "file unavailable"}, status=502)
    disposition = "inline" if ref.kind == "photo" else "attachment"
    headers = {"Cache-Control": "private, max-age=300"}
    if ref.file_name:
        headers["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(ref.file_name)}"
    return web.Response(body=data, content_type=content_type, headers=headers)
