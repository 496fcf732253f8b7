"""HTTP routes of `hotline run`: health and the Telegram and Zalo webhooks."""

from __future__ import annotations

import hmac
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web
from telegram import Update

from bot.web.console import add_console  # console (issue 8)

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
    expected = hotline.config.telegram.secret_token
    given = request.headers.get(TELEGRAM_SECRET_HEADER, "")
    if application is None:
        return web.json_response({"error": "telegram channel is not enabled"}, status=404)
    if expected and not hmac.compare_digest(given.encode(), expected.encode()):
        log.warning("telegram webhook call with a wrong secret token from %s", request.remote)
        return web.json_response({"error": "forbidden"}, status=403)
    try:
        data: Any = await request.json()
        update = Update.de_json(data, application.bot)
    except (ValueError, TypeError, KeyError) as exc:
        return web.json_response({"error": f"not a Telegram update: {exc}"}, status=400)
    if update is None:
        return web.json_response({"error": "empty update"}, status=400)
    await application.process_update(update)
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
