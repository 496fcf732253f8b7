"""Work lists in the staff groups: what an agency holds, the triage queue, what is overdue.

In an agency's group, `/danhsach` (`/list`) lists the agency's open tickets, overdue ones first
and marked, then by resolve due time; `/quahan` (`/overdue`) only the overdue ones. In the
operators' group, `/hangdoi` (`/queue`) lists the triage queue by triage due time, with a
button per ticket (`wl:<ticket id>`) that posts the ticket's card with its routing buttons
(handlers/operator.py's), and `/quahan` (`/overdue`) lists every overdue open ticket, grouped
by the agency holding it. Each list shows at most LIST_LIMIT tickets and counts the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.chat import Button, Incoming, Reply
from bot.domain.tickets import TRIAGE, is_overdue
from handlers import cards
from handlers.context import Context
from handlers.messages import fmt_datetime, t
from handlers.notices import agency_name
from storage import tickets as ticket_store
from storage.models import Ticket, TicketState

log = logging.getLogger(__name__)

LIST_LIMIT = 30
MESSAGE_BUDGET = 3900  # characters per message, under Telegram's 4096
BUTTONS_PER_ROW = 2
WORKDAY_HOURS = 8  # how late is told in working days from one full working day on
BUTTON_PREFIXES = frozenset({"wl"})


def _category(ctx: Context, category_id: str) -> str:
    category = ctx.config.category(category_id)
    if category is None:
        return category_id
    return category.name_en if ctx.lang == "en" and category.name_en else category.name


def _state(ticket: Ticket, lang: str) -> str:
    return t(f"worklist.state.{ticket.state.value}", lang)


def _messages(
    header: str,
    lines: Sequence[tuple[str, Button | None]],
    footer: str = "",
) -> list[Reply]:
    """Pack lines into as few messages as fit, each with the buttons of its own lines."""
    replies: list[Reply] = []
    text = header
    buttons: list[Button] = []
    for line, button in lines:
        if len(text) + 1 + len(line) > MESSAGE_BUDGET:
            replies.append(Reply(text, buttons=_rows(buttons)))
            text, buttons = "", []
        text = f"{text}\n{line}" if text else line
        if button is not None:
            buttons.append(button)
    if footer:
        if len(text) + 1 + len(footer) > MESSAGE_BUDGET:
            replies.append(Reply(text, buttons=_rows(buttons)))
            text, buttons = "", []
        text = f"{text}\n{footer}" if text else footer
    replies.append(Reply(text, buttons=_rows(buttons)))
    return replies


def _rows(buttons: list[Button]) -> tuple[tuple[Button, ...], ...]:
    return tuple(
        tuple(buttons[i : i + BUTTONS_PER_ROW]) for i in range(0, len(buttons), BUTTONS_PER_ROW)
    )


def _more(page: ticket_store.TicketPage, lang: str) -> str:
    rest = page.total - len(page.tickets)
    return t("worklist.more", lang, count=rest) if rest > 0 else ""


# --- an agency's group ----------------------------------------------------------------------


async def agency_open(ctx: Context, msg: Incoming) -> list[Reply]:
    """`/danhsach`: the agency's open tickets, overdue first, then by resolve due time."""
    return await _agency_list(ctx, msg, overdue_only=False)


async def agency_overdue(ctx: Context, msg: Incoming) -> list[Reply]:
    """`/quahan` in an agency's group: only its overdue tickets."""
    return await _agency_list(ctx, msg, overdue_only=True)


async def _agency_list(ctx: Context, msg: Incoming, *, overdue_only: bool) -> list[Reply]:
    if msg.agency_id is None:
        return [Reply(t("not_allowed", ctx.lang))]
    lang = ctx.lang
    agency = agency_name(ctx.config, msg.agency_id, lang)
    page = await ticket_store.list_agency_work(
        session=ctx.session,
        agency_id=msg.agency_id,
        now=ctx.now,
        overdue_only=overdue_only,
        limit=LIST_LIMIT,
    )
    if not page.tickets:
        key = "worklist.agency.no_overdue" if overdue_only else "worklist.agency.empty"
        return [Reply(t(key, lang, agency=agency))]
    key = "worklist.agency.overdue_header" if overdue_only else "worklist.agency.header"
    header = t(key, lang, agency=agency, total=page.total)
    lines = [(agency_line(ctx, ticket), None) for ticket in page.tickets]
    return _messages(header, lines, _more(page, lang))


def agency_line(ctx: Context, ticket: Ticket) -> str:
    """One ticket of an agency's list: mark, code, category, due date, state."""
    lang = ctx.lang
    due = fmt_datetime(ticket.resolve_due_at)
    if ticket.state == TicketState.WAITING_CITIZEN:
        due += t("worklist.paused", lang)
    return t(
        "worklist.agency.line",
        lang,
        mark=t("worklist.overdue_mark", lang) if is_overdue(ticket, ctx.now) else "",
        code=ticket.code,
        category=_category(ctx, ticket.category_id),
        due=due,
        state=_state(ticket, lang),
    )


# --- the operators' group -------------------------------------------------------------------


async def triage_queue(ctx: Context, msg: Incoming) -> list[Reply]:
    """`/hangdoi`: the triage queue by triage due time, a card button for each ticket."""
    lang = ctx.lang
    page = await ticket_store.list_triage_queue(session=ctx.session, limit=LIST_LIMIT)
    if not page.tickets:
        return [Reply(t("worklist.queue.empty", lang))]
    header = t("worklist.queue.header", lang, total=page.total)
    lines: list[tuple[str, Button | None]] = []
    for ticket in page.tickets:
        button = Button(t("worklist.button.open", lang, code=ticket.code), f"wl:{ticket.id}")
        lines.append((queue_line(ctx, ticket), button))
    footer = "\n".join(
        part for part in (_more(page, lang), t("worklist.queue.hint", lang)) if part
    )
    return _messages(header, lines, footer)


def best_guess(ctx: Context, ticket: Ticket) -> str:
    """Return the classifier's first suggestion: category → agency (confidence)."""
    lang = ctx.lang
    category_id, agency_id, confidence = ticket.category_id, None, ticket.confidence
    if ticket.suggestions and len(ticket.suggestions[0]) >= 3:
        first = ticket.suggestions[0]
        category_id, agency_id = str(first[0]), first[1]
        try:
            confidence = float(first[2])
        except (TypeError, ValueError):
            confidence = ticket.confidence
    values = {
        "category": _category(ctx, category_id),
        "confidence": f"{confidence:.0%}",
    }
    if isinstance(agency_id, str) and agency_id != TRIAGE:
        return t("worklist.guess", lang, agency=agency_name(ctx.config, agency_id, lang), **values)
    return t("worklist.guess_unsure", lang, **values)


def queue_line(ctx: Context, ticket: Ticket) -> str:
    """One ticket of the triage queue: mark, code, the machine's best guess, triage due."""
    lang = ctx.lang
    return t(
        "worklist.queue.line",
        lang,
        mark=t("worklist.overdue_mark", lang) if is_overdue(ticket, ctx.now) else "",
        code=ticket.code,
        guess=best_guess(ctx, ticket),
        due=fmt_datetime(ticket.triage_due_at),
    )


async def all_overdue(ctx: Context, msg: Incoming) -> list[Reply]:
    """`/quahan` in the operators' group: every overdue open ticket, grouped by agency."""
    lang = ctx.lang
    page = await ticket_store.list_overdue(session=ctx.session, now=ctx.now, limit=LIST_LIMIT)
    if not page.tickets:
        return [Reply(t("worklist.overdue.none", lang))]
    counts = await ticket_store.count_overdue_by_agency(session=ctx.session, now=ctx.now)
    groups: dict[str | None, list[Ticket]] = {}
    for ticket in page.tickets:  # longest overdue first: so are the groups
        groups.setdefault(ticket.agency_id, []).append(ticket)
    lines: list[tuple[str, Button | None]] = []
    for agency_id, tickets in groups.items():
        name = (
            agency_name(ctx.config, agency_id, lang)
            if agency_id is not None
            else t("worklist.overdue.triage_group", lang)
        )
        count = counts.get(agency_id, len(tickets))
        lines.append((t("worklist.overdue.group", lang, agency=name, count=count), None))
        lines.extend((overdue_line(ctx, ticket), None) for ticket in tickets)
    header = t("worklist.overdue.header", lang, total=page.total)
    return _messages(header, lines, _more(page, lang))


def overdue_line(ctx: Context, ticket: Ticket) -> str:
    """One overdue ticket: code, category, due date and how late, state."""
    lang = ctx.lang
    calendar = ctx.config.work_calendar
    late = ""
    if ticket.state == TicketState.TRIAGE:
        due_at = ticket.triage_due_at
        until = ctx.now
    else:
        due_at = ticket.resolve_due_at
        paused = ticket.state == TicketState.WAITING_CITIZEN
        until = (ticket.paused_at or ctx.now) if paused else ctx.now
    due = fmt_datetime(due_at)
    if ticket.state == TicketState.WAITING_CITIZEN:
        due += t("worklist.paused", lang)
    if due_at is not None:
        hours = max(0.0, calendar.working_hours_between(due_at, until))
        if hours >= WORKDAY_HOURS:
            late = t("worklist.late_days", lang, days=int(hours // WORKDAY_HOURS))
        elif hours >= 1:
            late = t("worklist.late_hours", lang, hours=int(hours))
    return t(
        "worklist.overdue.line",
        lang,
        code=ticket.code,
        category=_category(ctx, ticket.category_id),
        due=due,
        late=late,
        state=_state(ticket, lang),
    )


async def show_card(ctx: Context, msg: Incoming) -> list[Reply]:
    """A ticket's button under `/hangdoi`: post its card with the routing buttons."""
    data = (msg.callback_data or "").split(":")
    if len(data) != 2 or data[0] != "wl" or not data[1].isdigit():
        return [Reply(t("stale_button", ctx.lang))]
    ticket = await ticket_store.get_ticket(session=ctx.session, ticket_id=int(data[1]))
    if ticket is None:
        return [Reply(t("ticket.error.not_found", ctx.lang))]
    if ticket.state != TicketState.TRIAGE:
        return [
            Reply(
                t(
                    "worklist.not_in_queue",
                    ctx.lang,
                    code=ticket.code,
                    state=_state_any(ticket, ctx.lang),
                    agency=agency_name(ctx.config, ticket.agency_id, ctx.lang),
                )
            )
        ]
    # The card of a ticket in triage goes to the operators, with handlers/operator.py's buttons.
    return [
        _here(reply)
        for reply in cards.ticket_cards(ctx.config, ticket, lang=ctx.lang)
        if not reply.attachments
    ]


def _state_any(ticket: Ticket, lang: str) -> str:
    key = f"worklist.state.{ticket.state.value}"
    try:
        return t(key, lang)
    except KeyError:
        return t(f"state.{ticket.state.value}", lang)


def _here(reply: Reply) -> Reply:
    """Send a card to the chat the button was pressed in (the operators' group)."""
    return Reply(
        text=reply.text,
        buttons=reply.buttons,
        location=reply.location,
        ticket_id=reply.ticket_id,
    )
