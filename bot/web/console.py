"""The web console under `/console/`: sign-in, the queue, a ticket, the agency view, dashboard.

Server-rendered with Jinja2 (autoescape on: everything user-written is escaped), no JavaScript.
Sessions live in the database (bot/domain/accounts.py), so any instance serves any browser.
Every form carries the session's CSRF token; the sign-in form, before any session, a
double-submit cookie. Operators see and act on every ticket; leaders read; an agency's staff
see and act on their agency's tickets only (any other is 403) and never see internal notes.
The actions call the same services as the chats, and queue their notices in the outbox in the
same transaction.
"""

from __future__ import annotations

import hmac
import logging
import math
import mimetypes
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web
from markupsafe import Markup
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chat import Reply
from bot.domain import accounts, operations
from bot.domain.operations import OperationError, TicketView
from bot.domain.outcomes import TicketOutcome
from bot.domain.tickets import (
    Action,
    TransitionError,
    apply_agency_action,
    is_overdue,
    load_for_change,
)
from handlers.messages import LANGUAGES, TEXTS, fmt_date, fmt_datetime, t
from handlers.notices import agency_name, render
from handlers.operator_notices import (
    category_label,
    event_label,
    outcome_replies,
    reporter_label,
)
from storage import console as console_store
from storage import outbox as outbox_store
from storage import tickets as ticket_store
from storage.console import QueueFilter
from storage.models import ConsoleUser, Ticket, TicketState, WebSession

if TYPE_CHECKING:
    from bot.app import HotlineApp

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).parent
SESSION_COOKIE = "hotline_session"
SIGNIN_COOKIE = "hotline_signin"  # the sign-in form's double-submit CSRF token
LANG_COOKIE = "hotline_lang"
PAGE_SIZE = 25
OPERATOR_ACTIONS = ("assign", "note", "reply", "merge", "close", "reopen")
AGENCY_ACTIONS = ("accept", "return", "ask", "resolve")
CONSOLE_KEY = web.AppKey("console", object)
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Visitor:
    """The signed-in user of a request and their session."""

    user: ConsoleUser
    web_session: WebSession

    @property
    def is_operator(self) -> bool:
        """Tell whether the user may act as an operator."""
        return self.user.role == "operator"

    @property
    def actor(self) -> str:
        """Name the user in the trail."""
        return f"console:{self.user.name}"

    def may_see(self, ticket: Ticket) -> bool:
        """Operators and leaders see every ticket; agency staff their agency's only."""
        return self.user.role != "agency" or ticket.agency_id == self.user.agency_id


def _language(request: web.Request, visitor: Visitor | None = None) -> str:
    lang = request.cookies.get(LANG_COOKIE) or (visitor.web_session.language if visitor else "")
    return lang if lang in LANGUAGES else "vi"


def _redirect(location: str) -> web.Response:
    """Answer 303 See Other (a form's result is then fetched with GET)."""
    return web.Response(status=303, headers={"Location": location})


def _local_next(value: str) -> str:
    """Keep a redirect inside the console (no open redirect to another site)."""
    return value if value.startswith("/console/") and "//" not in value[1:] else "/console/"


class Console:
    """The console's routes, bound to one running HotlineApp."""

    def __init__(self, hotline: HotlineApp) -> None:
        self.hotline = hotline
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(WEB_DIR / "templates" / "console"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )

    def add_routes(self, app: web.Application) -> None:
        """Add the console's pages, forms and static files to `app`."""
        app[CONSOLE_KEY] = self
        router = app.router
        router.add_get("/console", self.home)
        router.add_get("/console/", self.home)
        router.add_get("/console/signin", self.signin_page)
        router.add_post("/console/signin", self.signin)
        router.add_post("/console/signout", self.signout)
        router.add_get("/console/lang/{lang}", self.switch_language)
        router.add_get("/console/queue", self.queue)
        router.add_get("/console/dashboard", self.dashboard)
        router.add_get("/console/tickets/{code}", self.ticket_page)
        router.add_post("/console/tickets/{code}/{action}", self.ticket_action)
        router.add_get("/console/files/{attachment_id:\\d+}", self.file)
        router.add_static("/console/static", WEB_DIR / "static", append_version=False)

    # --- rendering ---------------------------------------------------------------------------

    def render(
        self,
        request: web.Request,
        template: str,
        *,
        visitor: Visitor | None,
        status: int = 200,
        **values: Any,
    ) -> web.Response:
        """Render a page in the visitor's language."""
        lang = _language(request, visitor)

        def tr(key: str, **fill: Any) -> Markup:
            # t() escapes the values it fills in; the texts themselves are reviewed HTML.
            return Markup(t(key, lang, **fill))  # noqa: S704

        html = self.env.get_template(template).render(
            tr=tr,
            lang=lang,
            visitor=visitor,
            csrf=visitor.web_session.csrf_token if visitor else "",
            path=request.path_qs,
            fmt_datetime=fmt_datetime,
            fmt_date=fmt_date,
            **values,
        )
        return web.Response(
            text=html, status=status, content_type="text/html", headers=PAGE_HEADERS
        )

    def error(
        self, request: web.Request, visitor: Visitor | None, status: int, key: str
    ) -> web.Response:
        """Render an error page with its status."""
        return self.render(request, "error.html", visitor=visitor, status=status, message=key)

    # --- who is asking -------------------------------------------------------------------------

    async def _visitor(self, request: web.Request, session: AsyncSession) -> Visitor | None:
        token = request.cookies.get(SESSION_COOKIE, "")
        if not token:
            return None
        found = await console_store.get_session(
            session=session, token_hash=accounts.token_hash(token), now=self.hotline.clock()
        )
        return Visitor(user=found[1], web_session=found[0]) if found else None

    def _to_signin(self, request: web.Request) -> web.Response:
        """Send a visitor without a session to the sign-in form, and back afterwards."""
        query = urlencode({"next": request.path_qs})
        return _redirect(f"/console/signin?{query}")

    async def _form(self, request: web.Request, visitor: Visitor) -> dict[str, str] | None:
        """Return the posted form, or None when its CSRF token is missing or wrong."""
        form = await request.post()
        given = str(form.get("csrf", ""))
        if not hmac.compare_digest(given.encode(), visitor.web_session.csrf_token.encode()):
            log.warning("console: refused a form without its CSRF token on %s", request.path)
            return None
        return {key: str(value) for key, value in form.items()}

    def _cookie_secure(self) -> bool:
        return self.hotline.config.web.public_url.startswith("https://")

    # --- sign-in ------------------------------------------------------------------------------

    async def home(self, request: web.Request) -> web.StreamResponse:
        """Send the visitor to their first page."""
        async with self.hotline.db.transaction() as session:
            visitor = await self._visitor(request, session)
        if visitor is None:
            return self._to_signin(request)
        if visitor.user.role == "leader":
            return _redirect("/console/dashboard")
        return _redirect("/console/queue")

    async def signin_page(
        self, request: web.Request, *, message: str = "", status: int = 200, **values: Any
    ) -> web.Response:
        """Show the sign-in form (with a fresh double-submit token)."""
        token = secrets.token_urlsafe(24)
        response = self.render(
            request,
            "signin.html",
            visitor=None,
            status=status,
            signin_csrf=token,
            message=message,
            next=_local_next(request.query.get("next", "/console/")),
            name=values.get("name", ""),
            values=values,
        )
        response.set_cookie(
            SIGNIN_COOKIE,
            token,
            path="/console/",
            httponly=True,
            samesite="Lax",
            secure=self._cookie_secure(),
        )
        return response

    async def signin(self, request: web.Request) -> web.StreamResponse:
        """Check the name and password; on success set the session cookie."""
        form = await request.post()
        given = str(form.get("csrf", ""))
        expected = request.cookies.get(SIGNIN_COOKIE, "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            log.warning("console: refused a sign-in without its CSRF token")
            return self.error(request, None, 403, "console.error.csrf")
        name = str(form.get("name", "")).strip()
        now = self.hotline.clock()
        async with self.hotline.db.transaction() as session:
            result = await accounts.sign_in(
                session=session,
                name=name,
                password=str(form.get("password", "")),
                language=_language(request),
                now=now,
            )
        if result.refused == "locked":
            log.warning("console: sign-in of %s refused, locked", name)
            minutes = math.ceil(((result.locked_until or now) - now).total_seconds() / 60)
            return await self.signin_page(
                request,
                message=t("console.error.locked", _language(request), minutes=max(minutes, 1)),
                status=429,
                name=name,
            )
        if result.refused or result.token is None:
            log.info("console: wrong password for %s", name)
            return await self.signin_page(
                request,
                message=t("console.error.bad_login", _language(request)),
                status=401,
                name=name,
            )
        log.info("console: %s signed in", name)
        target = _local_next(str(form.get("next", "/console/")))
        response = _redirect(target)
        response.set_cookie(
            SESSION_COOKIE,
            result.token,
            path="/console/",
            httponly=True,
            samesite="Lax",
            secure=self._cookie_secure(),
            max_age=accounts.SESSION_HOURS * 3600,
        )
        response.del_cookie(SIGNIN_COOKIE, path="/console/")
        return response

    async def signout(self, request: web.Request) -> web.StreamResponse:
        """End the session (a form with the CSRF token)."""
        async with self.hotline.db.transaction() as session:
            visitor = await self._visitor(request, session)
            if visitor is None:
                return self._to_signin(request)
            if await self._form(request, visitor) is None:
                return self.error(request, visitor, 403, "console.error.csrf")
            await console_store.drop_session(
                session=session, token_hash=visitor.web_session.token_hash
            )
        response = _redirect("/console/signin")
        response.del_cookie(SESSION_COOKIE, path="/console/")
        return response

    async def switch_language(self, request: web.Request) -> web.StreamResponse:
        """Remember the chosen language in a cookie and go back."""
        lang = request.match_info["lang"]
        if lang not in LANGUAGES:
            return self.error(request, None, 404, "console.error.not_found")
        response = _redirect(_local_next(request.query.get("next", "/console/")))
        response.set_cookie(
            LANG_COOKIE, lang, path="/console/", samesite="Lax", max_age=365 * 86400
        )
        return response

    # --- pages --------------------------------------------------------------------------------

    async def queue(self, request: web.Request) -> web.StreamResponse:
        """The queue: filters, sorted by due time, paged; an agency sees its own only."""
        query = request.query
        try:
            page = max(1, int(query.get("page", "1")))
        except ValueError:
            page = 1
        state = query.get("state", "open")
        if state not in ("", "open", *(s.value for s in TicketState)):
            state = "open"
        async with self.hotline.db.transaction() as session:
            visitor = await self._visitor(request, session)
            if visitor is None:
                return self._to_signin(request)
            agency = query.get("agency", "")
            if visitor.user.role == "agency":
                agency = visitor.user.agency_id or ""
            where = QueueFilter(
                state=state,
                agency_id=agency,
                category_id=query.get("category", ""),
                channel=query.get("channel", ""),
                overdue=query.get("overdue") == "1",
                text=query.get("q", "")[:200],
            )
            now = self.hotline.clock()
            found = await console_store.list_queue(
                session=session,
                where=where,
                now=now,
                offset=(page - 1) * PAGE_SIZE,
                limit=PAGE_SIZE,
            )
        pages = max(1, math.ceil(found.total / PAGE_SIZE))
        params = {k: v for k, v in query.items() if k != "page"}
        lang = _language(request, visitor)
        return self.render(
            request,
            "queue.html",
            visitor=visitor,
            rows=[self._row(ticket, now, lang) for ticket in found.tickets],
            total=found.total,
            page=page,
            pages=pages,
            prev_url=f"?{urlencode({**params, 'page': page - 1})}" if page > 1 else "",
            next_url=f"?{urlencode({**params, 'page': page + 1})}" if page < pages else "",
            where=where,
            states=["open", *(s.value for s in TicketState)],
            agencies=self.hotline.config.agencies,
            categories=[
                (c.id, category_label(self.hotline.config, c.id, lang))
                for c in self.hotline.config.categories
            ],
            channels=("telegram", "zalo", "open311"),
        )

    def _row(self, ticket: Ticket, now: datetime, lang: str) -> dict[str, Any]:
        config = self.hotline.config
        due = ticket.resolve_due_at or ticket.triage_due_at
        return {
            "code": ticket.code,
            "state": t(f"state.{ticket.state.value}", lang),
            "category": category_label(config, ticket.category_id, lang),
            "agency": agency_name(config, ticket.agency_id, lang),
            "channel": ticket.channel,
            "due": fmt_datetime(due),
            "overdue": is_overdue(ticket, now),
            "text": ticket.text if len(ticket.text) <= 140 else ticket.text[:139] + "…",
        }

    async def ticket_page(self, request: web.Request) -> web.StreamResponse:
        """A ticket: card, evidence, files, trail, notes, and the visitor's actions."""
        async with self.hotline.db.transaction() as session:
            visitor = await self._visitor(request, session)
            if visitor is None:
                return self._to_signin(request)
            ticket = await ticket_store.get_ticket_by_code(
                session=session, code=request.match_info["code"]
            )
            if ticket is None:
                return self.error(request, visitor, 404, "console.error.not_found")
            if not visitor.may_see(ticket):
                log.warning(
                    "console: %s (agency %s) refused %s of agency %s",
                    visitor.user.name,
                    visitor.user.agency_id,
                    ticket.code,
                    ticket.agency_id,
                )
                return self.error(request, visitor, 403, "console.error.forbidden")
            view = await operations.view_ticket(session=session, ticket=ticket)
        return self._ticket_response(request, visitor, view)

    def _ticket_response(
        self, request: web.Request, visitor: Visitor, view: TicketView
    ) -> web.Response:
        lang = _language(request, visitor)
        config = self.hotline.config
        ticket = view.ticket
        staff = visitor.user.role != "agency"
        events = [e for e in view.events if staff or e.kind != operations.NOTE]
        message = request.query.get("ok") or request.query.get("err") or ""
        if message not in TEXTS or not message.startswith(("op.", "ticket.error.", "console.")):
            message = ""
        return self.render(
            request,
            "ticket.html",
            visitor=visitor,
            ticket=ticket,
            view=view,
            state=t(f"state.{ticket.state.value}", lang),
            category=category_label(config, ticket.category_id, lang),
            agency=agency_name(config, ticket.agency_id, lang),
            reporter=reporter_label(ticket, lang, for_operators=staff),
            overdue=is_overdue(ticket, self.hotline.clock()),
            events=[(e, event_label(e.kind, lang)) for e in events],
            notes=view.notes if staff else [],
            agencies=[a for a in config.agencies if a.id != ticket.subject_agency_id],
            reasons=[r.value for r in operations.CloseReason],
            message=message,
            message_is_error="err" in request.query,
            message_values={
                "code": ticket.code,
                "state": t(f"state.{ticket.state.value}", lang),
                "agency": agency_name(config, ticket.agency_id, lang),
            },
            can_operate=visitor.is_operator,
            can_work=visitor.user.role == "agency" and ticket.agency_id == visitor.user.agency_id,
        )

    async def dashboard(self, request: web.Request) -> web.StreamResponse:
        """Today's and this month's numbers, the overdue list, per-agency on-time share."""
        async with self.hotline.db.transaction() as session:
            visitor = await self._visitor(request, session)
            if visitor is None:
                return self._to_signin(request)
            if visitor.user.role == "agency":
                return self.error(request, visitor, 403, "console.error.forbidden")
            now = self.hotline.clock()
            numbers = await operations.stats(session=session, config=self.hotline.config, now=now)
            overdue = await ticket_store.list_overdue(session=session, now=now, limit=50)
        lang = _language(request, visitor)
        day, month, _next = operations.day_and_month(self.hotline.config, now)
        shares = [
            {
                "agency": agency_name(self.hotline.config, row.agency_id, lang),
                "resolved": row.resolved,
                "on_time": row.on_time,
                "share": round(100 * row.on_time / row.resolved) if row.resolved else 0,
            }
            for row in numbers.on_time
        ]
        return self.render(
            request,
            "dashboard.html",
            visitor=visitor,
            numbers=numbers,
            day=fmt_date(day),
            month=month.strftime("%m/%Y"),
            overdue=[self._row(ticket, now, lang) for ticket in overdue.tickets],
            overdue_total=overdue.total,
            shares=shares,
        )

    async def file(self, request: web.Request) -> web.StreamResponse:
        """Serve an attachment of a ticket the visitor may see, fetched from its channel."""
        attachment_id = int(request.match_info["attachment_id"])
        async with self.hotline.db.transaction() as session:
            visitor = await self._visitor(request, session)
            if visitor is None:
                return self._to_signin(request)
            found = await console_store.get_attachment(
                session=session, attachment_id=attachment_id
            )
            if found is None:
                return self.error(request, visitor, 404, "console.error.not_found")
            attachment, ticket = found
            if not visitor.may_see(ticket):
                return self.error(request, visitor, 403, "console.error.forbidden")
        application = self.hotline.telegram
        if ticket.channel != "telegram" or application is None:
            return self.error(request, visitor, 404, "console.error.file_unavailable")
        try:
            remote = await application.bot.get_file(attachment.file_id)
            data = bytes(await remote.download_as_bytearray())
        except Exception as exc:  # the channel's failure is the visitor's 502, not a crash
            log.warning("console: file %s of %s unavailable: %s", attachment.id, ticket.code, exc)
            return self.error(request, visitor, 502, "console.error.file_unavailable")
        kind = attachment.mime_type or (
            "image/jpeg"
            if attachment.kind == "photo"
            else mimetypes.guess_type(attachment.file_name)[0] or "application/octet-stream"
        )
        disposition = "inline" if kind.startswith("image/") else "attachment"
        return web.Response(
            body=data,
            content_type=kind,
            headers={
                "Content-Disposition": disposition,
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "private, no-store",
            },
        )

    # --- actions ------------------------------------------------------------------------------

    async def ticket_action(self, request: web.Request) -> web.StreamResponse:
        """Apply one action to a ticket, queue its notices, go back to the ticket."""
        action = request.match_info["action"]
        code = request.match_info["code"]
        if action not in (*OPERATOR_ACTIONS, *AGENCY_ACTIONS):
            return self.error(request, None, 404, "console.error.not_found")
        now = self.hotline.clock()
        async with self.hotline.db.transaction() as session:
            visitor = await self._visitor(request, session)
            if visitor is None:
                return self._to_signin(request)
            form = await self._form(request, visitor)
            if form is None:
                return self.error(request, visitor, 403, "console.error.csrf")
            ticket = await self._lock(
                session, code, form.get("keep") if action == "merge" else None
            )
            if ticket is None:
                return self.error(request, visitor, 404, "console.error.not_found")
            allowed = (visitor.is_operator and action in OPERATOR_ACTIONS) or (
                visitor.user.role == "agency"
                and action in AGENCY_ACTIONS
                and ticket.agency_id == visitor.user.agency_id
            )
            if not allowed:
                log.warning("console: %s may not %s %s", visitor.user.name, action, ticket.code)
                return self.error(request, visitor, 403, "console.error.forbidden")
            try:
                done, replies = await self._apply(session, visitor, ticket, action, form, now)
            except (OperationError, TransitionError) as exc:
                key = f"op.error.{exc.reason}"
                if key not in TEXTS:
                    key = f"ticket.error.{exc.reason}"
                if key not in TEXTS:
                    key = "console.error.refused"
                return _redirect(f"/console/tickets/{ticket.code}?{urlencode({'err': key})}")
            for reply in replies:
                await self._queue(session, reply, now)
        if replies:
            self.hotline.outbox.wake()
        return _redirect(f"/console/tickets/{code}?{urlencode({'ok': done})}")

    @staticmethod
    async def _lock(session: AsyncSession, code: str, other: str | None) -> Ticket | None:
        """Lock the page's ticket (and the other one of a merge) for the change, in id order,
        so that two operators merging the same pair both ways cannot deadlock."""
        found = await ticket_store.get_ticket_by_code(session=session, code=code)
        if found is None:
            return None
        ids = {found.id or 0}
        partner = (
            await ticket_store.get_ticket_by_code(session=session, code=other) if other else None
        )
        if partner is not None:
            ids.add(partner.id or 0)
        locked = {i: await load_for_change(session=session, ticket_id=i) for i in sorted(ids)}
        return locked[found.id or 0]

    async def _queue(self, session: AsyncSession, reply: Reply, now: datetime) -> None:
        if reply.channel is None or reply.chat_id is None:
            return  # a confirmation meant for a chat; the console shows its own
        await outbox_store.enqueue(
            session=session,
            channel=reply.channel,
            chat_id=reply.chat_id,
            payload=reply.to_payload(),
            now=now,
            idempotency_key=reply.idempotency_key,
            ticket_id=reply.ticket_id,
        )

    async def _apply(
        self,
        session: AsyncSession,
        visitor: Visitor,
        ticket: Ticket,
        action: str,
        form: dict[str, str],
        now: datetime,
    ) -> tuple[str, list[Reply]]:
        """Run the action's service; return the confirmation's key and the notices."""
        config = self.hotline.config
        actor = visitor.actor
        text = form.get("text", "").strip()
        outcome: TicketOutcome
        if action == "assign":
            outcome = await operations.assign(
                session=session,
                config=config,
                ticket=ticket,
                agency_id=form.get("agency", ""),
                actor=actor,
                now=now,
            )
            return "console.done.assign", outcome_replies(config, outcome)
        if action == "note":
            await operations.add_note(
                session=session, ticket=ticket, text=text, actor=actor, now=now
            )
            return "console.done.note", []
        if action == "reply":
            outcome = await operations.reply_to_citizen(
                session=session, ticket=ticket, text=text, actor=actor, now=now
            )
            return "console.done.reply", outcome_replies(config, outcome)
        if action == "merge":
            keep = await ticket_store.get_ticket_by_code(
                session=session, code=form.get("keep", "")
            )
            if keep is None:
                raise OperationError("merge_unknown", ticket)
            outcome = await operations.merge(
                session=session, keep=keep, duplicate=ticket, actor=actor, now=now
            )
            return "console.done.merge", outcome_replies(config, outcome)
        if action == "close":
            reason = operations.parse_close_reason(form.get("reason", ""))
            if reason is None:
                raise OperationError("bad_reason", ticket)
            outcome = await operations.close(
                session=session, ticket=ticket, reason=reason, actor=actor, now=now
            )
            return "console.done.close", outcome_replies(config, outcome)
        if action == "reopen":
            outcome = await operations.reopen(
                session=session, config=config, ticket=ticket, actor=actor, now=now
            )
            return "console.done.reopen", outcome_replies(config, outcome)
        return await self._agency_action(session, visitor, ticket, action, text, now)

    async def _agency_action(
        self,
        session: AsyncSession,
        visitor: Visitor,
        ticket: Ticket,
        action: str,
        text: str,
        now: datetime,
    ) -> tuple[str, list[Reply]]:
        config = self.hotline.config
        agency_id = visitor.user.agency_id
        user = f"console:{visitor.user.name}"
        if action != "accept" and not text:
            raise OperationError("empty_text", ticket)
        outcome = await apply_agency_action(
            session=session,
            config=config,
            ticket=ticket,
            action=Action(action),
            agency_id=agency_id,
            user_id=user,
            text=text,
            now=now,
        )
        return f"console.done.{action}", render(config, outcome.notices)


def add_console(app: web.Application, hotline: HotlineApp) -> Console:
    """Mount the console on the service app."""
    console = Console(hotline)
    console.add_routes(app)
    return console
