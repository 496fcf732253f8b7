"""What the hotline operators can do from their group chat: route and reroute tickets.

Buttons carry `op:<ticket id>:route:<agency id>` (send the ticket to that agency) and
`op:<ticket id>:pick` (show every agency of the directory to choose from). A route starts the
agency's accept and resolve clocks; the agency gets the card and the citizen is told.
"""

from __future__ import annotations

import logging

from bot.chat import Button, Incoming, Reply
from bot.domain.tickets import TransitionError, load_for_change, route_ticket
from handlers.context import Context
from handlers.messages import fmt_datetime, t
from storage.models import Ticket, TicketState

log = logging.getLogger(__name__)

BUTTON_PREFIXES = frozenset({"op"})
CALLBACK_LIMIT = 64  # bytes Telegram allows in callback data
TRIAGE = "triage"


async def route(ctx: Context, msg: Incoming) -> list[Reply]:
    """Handle a message or button in the operators' chat."""
    if msg.callback_data is not None:
        return await _button(ctx, msg)
    if msg.command in ("start", "help"):
        # The commands of handlers/operator_commands.py follow the group's description.
        return [Reply(t("operator.help", ctx.lang) + t("op.commands", ctx.lang))]
    return []  # conversation between operators is not for the bot


def _route_data(ticket_id: int, agency_id: str) -> str | None:
    data = f"op:{ticket_id}:route:{agency_id}"
    return data if len(data.encode()) <= CALLBACK_LIMIT else None


async def _button(ctx: Context, msg: Incoming) -> list[Reply]:
    parts = (msg.callback_data or "").split(":")
    if len(parts) < 3 or parts[0] != "op" or not parts[1].isdigit():
        return [Reply(t("stale_button", ctx.lang))]
    ticket_id, action = int(parts[1]), parts[2]
    ticket = await load_for_change(session=ctx.session, ticket_id=ticket_id)
    if ticket is None:
        return [Reply(t("ticket.error.not_found", ctx.lang))]
    if action == "pick" and len(parts) == 3:
        return [_agency_list(ctx, ticket)]
    if action == "route" and len(parts) == 4:
        return await _route(ctx, msg, ticket, parts[3])
    return [Reply(t("stale_button", ctx.lang))]


def _agency_list(ctx: Context, ticket: Ticket) -> Reply:
    assert ticket.id is not None
    buttons: list[Button] = []
    for agency in ctx.config.agencies:
        if agency.id == ticket.subject_agency_id:
            continue  # a ticket about an agency's staff never goes to it (bot/domain/routing.py)
        data = _route_data(ticket.id, agency.id)
        if data is None:
            log.warning("agency id %s is too long for a button", agency.id)
            continue
        buttons.append(Button(agency.name[:60], data))
    rows = tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))
    return Reply(t("operator.pick_agency", ctx.lang, code=ticket.code), buttons=rows)


async def _route(ctx: Context, msg: Incoming, ticket: Ticket, agency_id: str) -> list[Reply]:
    try:
        notices = await route_ticket(
            session=ctx.session,
            config=ctx.config,
            ticket=ticket,
            agency_id=agency_id,
            user_id=msg.user_id,
            now=ctx.now,
        )
    except TransitionError as exc:
        log.info("route of %s to %s refused: %s", ticket.code, agency_id, exc.reason)
        return [
            Reply(
                t(
                    f"ticket.error.{exc.reason}",
                    ctx.lang,
                    code=ticket.code,
                    state=t(f"state.{ticket.state.value}", ctx.lang),
                )
            )
        ]
    agency = ctx.config.agency(agency_id)
    text = t(
        "operator.routed",
        ctx.lang,
        code=ticket.code,
        agency=agency.name if agency else agency_id,
        due=fmt_datetime(ticket.resolve_due_at),
    )
    if ticket.passed_around:
        text += t("operator.routed_final", ctx.lang)
    return [Reply(text, ticket_id=ticket.id), *notices]


def card_buttons(ticket: Ticket, lang: str = "vi") -> tuple[tuple[Button, ...], ...]:
    """Return the action buttons under a ticket's card in the operators' chat.

    The classifier's suggested agencies first, then a button listing the whole directory.
    """
    if ticket.id is None or ticket.state not in (
        TicketState.TRIAGE,
        TicketState.ROUTED,
        TicketState.ACCEPTED,
    ):
        return ()
    suggested: list[str] = []
    for suggestion in ticket.suggestions:
        agency_id = suggestion[1] if len(suggestion) >= 2 else None
        if (
            isinstance(agency_id, str)
            and agency_id not in (TRIAGE, ticket.agency_id, ticket.subject_agency_id)
            and agency_id not in suggested
        ):
            suggested.append(agency_id)
    rows: list[tuple[Button, ...]] = []
    for agency_id in suggested[:3]:
        data = _route_data(ticket.id, agency_id)
        if data is not None:
            rows.append((Button(t("button.route_to", lang, agency=agency_id), data),))
    rows.append((Button(t("button.route_other", lang), f"op:{ticket.id}:pick"),))
    return tuple(rows)
