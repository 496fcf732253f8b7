"""What the hotline operators can do from their group chat: route and reroute tickets.

Buttons carry `op:<ticket id>:route:<agency id>` (send the ticket to that agency) and
`op:<ticket id>:pick` (show every agency of the directory to choose from). A route starts the
agency's accept and resolve clocks; the agency gets the card and the citizen is told.
"""

from __future__ import annotations

import logging

from bot.chat import Button, Incoming, Reply
from bot.domain.tickets import TransitionError, load_for_change, route_ticket
from handlers.buttons import route_data
from handlers.context import Context
from handlers.messages import fmt_datetime, t
from handlers.notices import render
from storage.models import Ticket

log = logging.getLogger(__name__)

BUTTON_PREFIXES = frozenset({"op"})


async def route(ctx: Context, msg: Incoming) -> list[Reply]:
    """Handle a message or button in the operators' chat."""
    if msg.callback_data is not None:
        return await _button(ctx, msg)
    if msg.command in ("start", "help"):
        # The commands of handlers/operator_commands.py follow the group's description.
        return [Reply(t("operator.help", ctx.lang) + t("op.commands", ctx.lang))]
    return []  # conversation between operators is not for the bot


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
        data = route_data(ticket.id, agency.id)
        if data is None:
            log.warning("agency id %s is too long for a button", agency.id)
            continue
        buttons.append(Button(agency.name[:60], data))
    rows = tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))
    return Reply(t("operator.pick_agency", ctx.lang, code=ticket.code), buttons=rows)


async def _route(ctx: Context, msg: Incoming, ticket: Ticket, agency_id: str) -> list[Reply]:
    try:
        outcome = await route_ticket(
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
    return [Reply(text, ticket_id=ticket.id), *render(ctx.config, outcome.notices)]
