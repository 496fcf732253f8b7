"""The one registration point: commands, buttons and dialog states → handler functions."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chat import Incoming, Reply, Role
from bot.config import Config
from bot.domain import dossiers
from handlers import (
    agency,
    citizen,
    followup,
    leader,
    operator,
    operator_commands,
    rating,
    worklists,
)
from handlers.context import Context
from handlers.messages import t

log = logging.getLogger(__name__)

Handler = Callable[[Context, Incoming], Awaitable[list[Reply]]]

CITIZEN_COMMANDS: dict[str, Handler] = {
    "start": citizen.start,
    "help": citizen.help_,
    "trogiup": citizen.help_,
    "hoso": citizen.lookup,
    "lookup": citizen.lookup,
    "phananh": citizen.complain,
    "complain": citizen.complain,
    "theodoi": citizen.track,
    "track": citizen.track,
    "lang": citizen.set_language,
    "huy": citizen.cancel,
    "cancel": citizen.cancel,
}

CITIZEN_BUTTONS: dict[str, Handler] = {
    "m": citizen.menu,
    "c": citizen.complaint_button,
    "dsub": citizen.subscribe_dossier,
    "dunsub": citizen.unsubscribe_dossier,
    # After resolution: rate the result, reopen (handlers/rating.py).
    "rate": rating.rate,
    "reopen": rating.reopen,
}

CITIZEN_STATES: dict[str, Handler] = {
    citizen.WRITING: citizen.complaint_text,
    citizen.CONFIRMING: citizen.complaint_more,
    citizen.CHOOSING: citizen.complaint_more,
    citizen.CONTACT: citizen.complaint_contact,
    citizen.SIMILAR: citizen.press_a_button,
    citizen.PRIVACY: citizen.press_a_button,
    # After resolution: the reason to reopen (handlers/rating.py).
    rating.REOPEN_REASON: rating.reopen_reason,
}

# Work lists in the staff groups (handlers/worklists.py); everything else goes to the role's
# own module.
OPERATOR_COMMANDS: dict[str, Handler] = {
    "hangdoi": worklists.triage_queue,
    "queue": worklists.triage_queue,
    "quahan": worklists.all_overdue,
    "overdue": worklists.all_overdue,
}
OPERATOR_BUTTONS: dict[str, Handler] = {"wl": worklists.show_card}
AGENCY_COMMANDS: dict[str, Handler] = {
    "danhsach": worklists.agency_open,
    "list": worklists.agency_open,
    "quahan": worklists.agency_overdue,
    "overdue": worklists.agency_overdue,
}
# --- console (issue 8): the operators' commands (handlers/operator_commands.py) ---
OPERATOR_COMMANDS.update(operator_commands.COMMANDS)

# --- ops (issue 8): agencies' typed actions, the leaders' chat -------------------------------
AGENCY_COMMANDS.update(dict.fromkeys(agency.COMMANDS, agency.command))
LEADER_COMMANDS: dict[str, Handler] = {
    "start": leader.help_,
    "help": leader.help_,
    "trogiup": leader.help_,
    "thongke": leader.stats,
    "stats": leader.stats,
    "quahan": worklists.all_overdue,
    "overdue": worklists.all_overdue,
}
# Commands only staff groups may use: refused (and logged) anywhere else.
STAFF_COMMANDS = frozenset(agency.COMMANDS) | frozenset(OPERATOR_COMMANDS) | {"danhsach", "list"}
STAFF_BUTTON_PREFIXES = (
    operator.BUTTON_PREFIXES | agency.BUTTON_PREFIXES | worklists.BUTTON_PREFIXES
)


def role_of(config: Config, msg: Incoming) -> tuple[Role, str | None]:
    """Decide who is speaking from the chat: a private chat is a citizen; groups are looked up."""
    if msg.is_private:
        return Role.CITIZEN, None
    chat = msg.chat_id
    if msg.channel == "telegram":
        if config.telegram.operators_chat_id is not None and chat == str(
            config.telegram.operators_chat_id
        ):
            return Role.OPERATOR, None
        if config.telegram.leaders_chat_id is not None and chat == str(
            config.telegram.leaders_chat_id
        ):
            return Role.LEADER, None
        for item in config.agencies:
            if item.telegram_chat_id is not None and chat == str(item.telegram_chat_id):
                return Role.AGENCY, item.id
    elif msg.channel == "zalo":
        if config.zalo.operators_chat_id and chat == config.zalo.operators_chat_id:
            return Role.OPERATOR, None
        for item in config.agencies:
            if item.zalo_chat_id and chat == item.zalo_chat_id:
                return Role.AGENCY, item.id
    return Role.UNKNOWN, None


async def read_ahead(
    session: AsyncSession, config: Config, messages: Sequence[Incoming], now: datetime
) -> None:
    """Before a batch is handled: read in a few statements what its citizens' lookups need."""
    await dossiers.read_ahead_lookups(
        session=session,
        config=config,
        messages=[(m.channel, m.user_id, m.text) for m in messages if m.role == Role.CITIZEN],
        now=now,
    )


async def route(ctx: Context, msg: Incoming) -> list[Reply]:
    """Send the message to the handler for its role, command, button or dialog state."""
    if msg.role == Role.CITIZEN:
        return await _route_citizen(ctx, msg)
    prefix = msg.callback_data.split(":", 1)[0] if msg.callback_data is not None else None
    if prefix in rating.BUTTON_PREFIXES:
        log.warning("refused a citizen's button from chat %s (role %s)", msg.chat_id, msg.role)
        return [Reply(t("not_allowed", ctx.lang))]
    if msg.role == Role.OPERATOR:
        handler = OPERATOR_BUTTONS.get(prefix or "") or OPERATOR_COMMANDS.get(msg.command or "")
        return await (handler or operator.route)(ctx, msg)
    if msg.role == Role.AGENCY:
        if prefix is None and (handler := AGENCY_COMMANDS.get(msg.command or "")):
            return await handler(ctx, msg)
        return await agency.route(ctx, msg)
    if msg.role == Role.LEADER:
        if prefix is None and (handler := LEADER_COMMANDS.get(msg.command or "")):
            return await handler(ctx, msg)
        if prefix is None and msg.command not in STAFF_COMMANDS:
            return []  # the leaders' own conversation
    if msg.callback_data is not None or msg.command in STAFF_COMMANDS:
        log.warning(
            "refused %s from chat %s on %s (role %s)",
            "a button" if msg.callback_data is not None else f"/{msg.command}",
            msg.chat_id,
            msg.channel,
            msg.role,
        )
        return [Reply(t("not_allowed", ctx.lang))]
    if msg.command in ("start", "help"):
        return [Reply(t("group_unknown", ctx.lang))]
    return []  # ordinary chatter in a group the hotline does not know


async def _route_citizen(ctx: Context, msg: Incoming) -> list[Reply]:
    if msg.callback_data is not None:
        prefix = msg.callback_data.split(":", 1)[0]
        handler = CITIZEN_BUTTONS.get(prefix)
        if handler is None:
            if prefix in STAFF_BUTTON_PREFIXES:
                log.warning("refused a staff button from private chat %s", msg.chat_id)
                return [Reply(t("not_allowed", ctx.lang))]
            return [Reply(t("stale_button", ctx.lang))]
        return await handler(ctx, msg)
    command = msg.command
    if command in STAFF_COMMANDS and command not in CITIZEN_COMMANDS:
        log.warning("refused staff command /%s from private chat %s", command, msg.chat_id)
        return [Reply(t("staff_only", ctx.lang))]
    if command is not None:
        return await CITIZEN_COMMANDS.get(command, citizen.unknown_command)(ctx, msg)
    state_handler = CITIZEN_STATES.get(ctx.state)
    if state_handler is not None:
        return await state_handler(ctx, msg)
    if (answered := await followup.answer_question(ctx, msg)) is not None:
        return answered
    if msg.text.strip():
        return await citizen.free_text(ctx, msg)
    if msg.attachments and any(a.kind in ("photo", "document") for a in msg.attachments):
        return await citizen.complaint_text(ctx, msg)
    if msg.location is not None:
        return await citizen.complaint_text(ctx, msg)
    return await citizen.nothing_readable(ctx, msg)
