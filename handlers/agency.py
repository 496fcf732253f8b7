"""What agency staff can do from their agency's group chat: accept, return, ask, resolve.

The buttons under a ticket's card carry `ag:<ticket id>:<action>`. Accepting takes effect at
once; returning, asking the citizen and resolving need a text, so the bot asks for it and the
next message of the same staff member in the group is taken as the reason, the question or the
answer (the group chat's dialog state, kept in the database). The same four actions can be
typed with the ticket's code, for a ticket found with `/danhsach` or whose card scrolled away:
`/tiepnhan CODE` (`/accept`), `/tralai CODE REASON` (`/return`), `/hoi CODE QUESTION` (`/ask`),
`/giaiquyet CODE ANSWER` (`/resolve`). Buttons and commands make the same checks: only the
agency holding the ticket may act on it, and a press or command from another agency's chat is
refused and logged.
"""

from __future__ import annotations

import logging
import re

from bot.chat import Incoming, Reply
from bot.domain.tickets import (
    Action,
    TransitionError,
    apply_agency_action,
    check_agency_action,
    load_for_change,
)
from handlers.context import Context
from handlers.messages import fmt_datetime, t
from handlers.notices import render
from storage import tickets as ticket_store
from storage.models import Ticket

log = logging.getLogger(__name__)

BUTTON_PREFIXES = frozenset({"ag"})
TEXT_ACTIONS = (Action.RETURN, Action.ASK, Action.RESOLVE)
# Dialog states of a group chat waiting for a staff member's text.
PENDING: dict[str, Action] = {f"agency:{action.value}": action for action in TEXT_ACTIONS}
CANCEL_COMMANDS = ("huy", "cancel")


async def route(ctx: Context, msg: Incoming) -> list[Reply]:
    """Handle a message or button in an agency's chat."""
    if msg.callback_data is not None:
        return await _button(ctx, msg)
    if msg.command in ("start", "help"):
        return [Reply(t("agency.help", ctx.lang))]
    action = PENDING.get(ctx.state)
    if action is None or msg.user_id != ctx.data.get("user_id"):
        return []  # conversation between staff is not for the bot
    code = str(ctx.data.get("code", ""))
    if msg.command in CANCEL_COMMANDS:
        ctx.reset()
        return [Reply(t("agency.cancelled", ctx.lang, code=code))]
    if msg.command is not None:
        return []
    text = msg.text.strip()
    if not text:
        return [Reply(t("agency.need_text", ctx.lang, code=code))]
    return await _complete(ctx, msg, action, text)


def error_reply(exc: TransitionError, lang: str) -> Reply:
    """Explain why a ticket cannot be changed that way now."""
    ticket = exc.ticket
    return Reply(
        t(
            f"ticket.error.{exc.reason}",
            lang,
            code=ticket.code,
            state=t(f"state.{ticket.state.value}", lang),
        )
    )


def _parse(data: str) -> tuple[int, Action] | None:
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != "ag" or not parts[1].isdigit():
        return None
    try:
        action = Action(parts[2])
    except ValueError:
        return None
    if action == Action.ROUTE:
        return None
    return int(parts[1]), action


async def _button(ctx: Context, msg: Incoming) -> list[Reply]:
    parsed = _parse(msg.callback_data or "")
    if parsed is None:
        return [Reply(t("stale_button", ctx.lang))]
    ticket_id, action = parsed
    ticket = await load_for_change(session=ctx.session, ticket_id=ticket_id)
    if ticket is None:
        return [Reply(t("ticket.error.not_found", ctx.lang))]
    try:
        check_agency_action(ticket, action, msg.agency_id)
    except TransitionError as exc:
        _log_refusal(exc, msg, action)
        return [error_reply(exc, ctx.lang)]
    if action == Action.ACCEPT:
        return await _apply(ctx, msg, ticket, action, "")
    ctx.enter(f"agency:{action.value}", ticket_id=ticket_id, code=ticket.code, user_id=msg.user_id)
    prompt = t(
        f"agency.prompt.{action.value}", ctx.lang, code=ticket.code, name=msg.user_name or "—"
    )
    # force_reply lets the answer reach the bot even with Telegram's group privacy mode on.
    return [Reply(prompt, extra={"force_reply": True})]


def _log_refusal(exc: TransitionError, msg: Incoming, action: Action) -> None:
    if exc.reason == "not_holder":
        log.warning(
            "refused %s on ticket %s from chat %s (agency %s, user %s); held by %s",
            action.value,
            exc.ticket.code,
            msg.chat_id,
            msg.agency_id,
            msg.user_id,
            exc.ticket.agency_id,
        )
    else:
        log.info("%s on ticket %s not allowed: %s", action.value, exc.ticket.code, exc.reason)


async def _complete(ctx: Context, msg: Incoming, action: Action, text: str) -> list[Reply]:
    ticket_id = int(ctx.data.get("ticket_id", 0))
    ctx.reset()
    ticket = await load_for_change(session=ctx.session, ticket_id=ticket_id)
    if ticket is None:
        return [Reply(t("ticket.error.not_found", ctx.lang))]
    return await _apply(ctx, msg, ticket, action, text)


CONFIRMATIONS = {
    Action.ACCEPT: "agency.accepted",
    Action.RETURN: "agency.returned",
    Action.ASK: "agency.asked",
    Action.RESOLVE: "agency.resolved",
}


async def _apply(
    ctx: Context, msg: Incoming, ticket: Ticket, action: Action, text: str
) -> list[Reply]:
    """Do the action for the chat's agency (the service checks again), confirm, and tell."""
    session, config, agency_id, user, now = (
        ctx.session,
        ctx.config,
        msg.agency_id,
        msg.user_id,
        ctx.now,
    )
    try:
        outcome = await apply_agency_action(
            session=session,
            config=config,
            ticket=ticket,
            action=action,
            agency_id=agency_id,
            user_id=user,
            text=text,
            now=now,
        )
    except TransitionError as exc:
        _log_refusal(exc, msg, action)
        return [error_reply(exc, ctx.lang)]
    # the acceptance says the new deadline; the others only the code
    due = fmt_datetime(ticket.resolve_due_at)
    confirmation = t(CONFIRMATIONS[action], ctx.lang, code=ticket.code, due=due)
    notices = render(config, outcome.notices)
    if action == Action.ASK and not notices:
        confirmation = t("agency.asked_unreachable", ctx.lang, code=ticket.code)
    return [Reply(confirmation, ticket_id=ticket.id), *notices]


# --- typed commands ------------------------------------------------------------------------

COMMANDS: dict[str, Action] = {
    "tiepnhan": Action.ACCEPT,
    "accept": Action.ACCEPT,
    "tralai": Action.RETURN,
    "return": Action.RETURN,
    "hoi": Action.ASK,
    "ask": Action.ASK,
    "giaiquyet": Action.RESOLVE,
    "resolve": Action.RESOLVE,
}
TICKET_CODE = re.compile(r"PA-\d{4}-\d{6}", re.IGNORECASE)


def parse_command(args: str) -> tuple[str | None, str]:
    """Split `CODE TEXT…` into the ticket code (upper case) and the text; no code → None."""
    head, _, rest = args.strip().partition(" ")
    if not TICKET_CODE.fullmatch(head):
        return None, args.strip()
    return head.upper(), rest.strip()


async def command(ctx: Context, msg: Incoming) -> list[Reply]:
    """`/tiepnhan`, `/tralai`, `/hoi`, `/giaiquyet` (and their English names) with a code."""
    action = COMMANDS[msg.command or ""]
    code, text = parse_command(msg.args)
    if code is None or (action in TEXT_ACTIONS and not text):
        return [Reply(t(f"agency.usage.{action.value}", ctx.lang))]
    found = await ticket_store.get_ticket_by_code(session=ctx.session, code=code)
    ticket = await load_for_change(session=ctx.session, ticket_id=found.id or 0) if found else None
    if ticket is None:
        return [Reply(t("ticket.error.no_such_code", ctx.lang, code=code))]
    return await _apply(ctx, msg, ticket, action, text)
