"""The public accountability page `/thong-ke/` and its numbers at `/thong-ke/data.json`.

No sign-in and nothing personal: per agency, this month so far and the last one, how many
complaints it received and resolved, the share on time and how many are overdue now, with the
province's totals. The figures are computed at most once a minute per process (cached by the
minute of the clock), so a crowd reading the page costs the database one count a minute.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.config import Config
from bot.domain.reports import (
    PublicAgency,
    PublicFigures,
    PublicMonth,
    compute_public_figures,
    minute_of,
)
from handlers.messages import LOCAL_TZ, fmt_datetime, t
from handlers.reports import month_label
from storage.db import Database

log = logging.getLogger(__name__)
WEB_DIR = Path(__file__).parent
STATIC = {
    "sandbox.css": WEB_DIR / "static" / "sandbox.css",
    "public.css": WEB_DIR / "static" / "public.css",
}
PUBLIC_STATS = web.AppKey("public_stats", object)
PAGE_HEADERS = {
    "Cache-Control": "public, max-age=60",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class PublicStats:
    """Computes the public figures, keeping the last minute's in memory."""

    def __init__(self, *, db: Database, config: Config, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self._cached: tuple[datetime, PublicFigures] | None = None
        self._lock = asyncio.Lock()
        self.computed = 0  # how many times the database was asked (for tests and logs)

    async def figures(self) -> PublicFigures:
        """Return this minute's figures, computing them if this minute has none yet."""
        minute = minute_of(self.clock())
        async with self._lock:  # one computation per minute, however many readers wait
            if self._cached is not None and self._cached[0] == minute:
                return self._cached[1]
            figures = await compute_public_figures(db=self.db, config=self.config, now=minute)
            self.computed += 1
            self._cached = (minute, figures)
            return figures

    # Handlers bound to this instance, not found through request.app: the sandbox serves
    # these routes from an inner application (bot/web/sandbox_page.py's fallback).
    async def page(self, request: web.Request) -> web.Response:
        """Serve `/thong-ke/`."""
        html = render_page(await self.figures(), self.config)
        return web.Response(text=html, content_type="text/html", headers=PAGE_HEADERS)

    async def data(self, request: web.Request) -> web.Response:
        """Serve `/thong-ke/data.json`."""
        body = figures_json(await self.figures(), self.config)
        headers = {"Cache-Control": "public, max-age=60", "Access-Control-Allow-Origin": "*"}
        return web.json_response(body, headers=headers)


def figures_json(figures: PublicFigures, config: Config) -> dict[str, Any]:
    """Return the public figures as JSON-ready values (shares in [0, 1], or null)."""

    def agency(row: PublicAgency) -> dict[str, Any]:
        return {
            "received": row.received,
            "resolved": row.resolved,
            "on_time_share": None if row.on_time_share is None else round(row.on_time_share, 4),
            "overdue_now": row.overdue_now,
        }

    def month(index: int, item: PublicMonth) -> dict[str, Any]:
        return {
            "month": str(item.month),
            "current": index == 0,
            "agencies": [
                {"id": row.agency_id, "name": row.name, **agency(row)} for row in item.agencies
            ],
            "totals": agency(item.totals),
        }

    return {
        "hotline": config.hotline.name,
        "province": config.hotline.province,
        "as_of": figures.as_of.astimezone(LOCAL_TZ).isoformat(),
        "months": [month(index, item) for index, item in enumerate(figures.months)],
    }


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}%"


_ENVIRONMENT = Environment(
    loader=FileSystemLoader(WEB_DIR / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENVIRONMENT.filters["percent"] = _percent


def render_page(figures: PublicFigures, config: Config, lang: str = "vi") -> str:
    """Render the page's HTML."""
    months = [
        {
            "title": t(
                "public.month_current" if index == 0 else "public.month",
                lang,
                month=month_label(item.month),
            ),
            "id": str(item.month),
            "agencies": item.agencies,
            "totals": item.totals,
        }
        for index, item in enumerate(figures.months)
    ]
    labels = {
        key: t(f"report.col.{key}", lang)
        for key in ("agency", "received", "resolved", "on_time", "overdue")
    }
    return _ENVIRONMENT.get_template("public.html").render(
        lang=lang,
        title=t("public.title", lang),
        intro=t("public.intro", lang, hotline=config.hotline.name),
        updated=t("public.updated", lang, at=fmt_datetime(figures.as_of)),
        json_link=t("public.json_link", lang),
        totals_label=t("report.totals", lang),
        labels=labels,
        months=months,
    )


def _stylesheet(path: Path) -> Callable[[web.Request], Awaitable[web.FileResponse]]:
    """Return a handler serving one stylesheet (fixed paths: no name comes from the URL)."""

    async def serve(request: web.Request) -> web.FileResponse:
        return web.FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})

    return serve


async def redirect_to_page(request: web.Request) -> web.Response:
    """Send `/thong-ke` to `/thong-ke/`."""
    raise web.HTTPPermanentRedirect("/thong-ke/")


def add_public_routes(
    web_app: web.Application, *, db: Database, config: Config, clock: Callable[[], datetime]
) -> PublicStats:
    """Add the page, its data and its stylesheets to `web_app`."""
    stats = PublicStats(db=db, config=config, clock=clock)
    web_app[PUBLIC_STATS] = stats
    web_app.router.add_get("/thong-ke", redirect_to_page)
    web_app.router.add_get("/thong-ke/", stats.page)
    web_app.router.add_get("/thong-ke/data.json", stats.data)
    for name, path in STATIC.items():
        web_app.router.add_get(f"/thong-ke/static/{name}", _stylesheet(path))
    return stats
