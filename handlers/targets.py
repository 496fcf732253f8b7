"""Which chat is whose: the one place that maps an audience onto a (channel, chat id).

The agency's own chat (Telegram first, then Zalo), else the operators' (who then act for it);
the supervisor's chat with SPEC §4's fallbacks; the reporter's chat unless they blocked the bot.
"""

from __future__ import annotations

from bot.config import Config
from bot.domain.outcomes import Audience, Notice
from handlers.messages import t
from storage.models import Ticket

TARGET = tuple[str, str]  # (channel, chat id)


def operators_chat(config: Config) -> TARGET | None:
    """Return the operators' chat, Telegram first."""
    if config.telegram.operators_chat_id is not None:
        return "telegram", str(config.telegram.operators_chat_id)
    if config.zalo.operators_chat_id:
        return "zalo", config.zalo.operators_chat_id
    return None


def agency_chat(config: Config, agency_id: str | None) -> TARGET | None:
    """Return an agency's own chat, else the operators' (who then act for it)."""
    agency = config.agency(agency_id) if agency_id else None
    if agency is not None and agency.telegram_chat_id is not None:
        return "telegram", str(agency.telegram_chat_id)
    if agency is not None and agency.zalo_chat_id:
        return "zalo", agency.zalo_chat_id
    return operators_chat(config)


def supervisor_of(config: Config, agency_id: str | None) -> tuple[TARGET | None, str]:
    """Return the supervisor's chat and name for an agency (SPEC §4, with its fallbacks).

    The chat of the agency's `supervisor` agency, else `[telegram] supervisor_chat_id`, else
    the operators' (who then carry the escalation up by hand).
    """
    agency = config.agency(agency_id) if agency_id else None
    supervisor = config.agency(agency.supervisor) if agency and agency.supervisor else None
    name = supervisor.name if supervisor else t("notice.name.supervisor", "vi")
    if supervisor is not None and (
        supervisor.telegram_chat_id is not None or supervisor.zalo_chat_id
    ):
        return agency_chat(config, supervisor.id), name
    if config.telegram.supervisor_chat_id is not None:
        return ("telegram", str(config.telegram.supervisor_chat_id)), name
    return operators_chat(config), name


def citizen_chat(ticket: Ticket) -> TARGET | None:
    """Return the reporter's chat, unless the reporter has blocked the bot."""
    if ticket.citizen_blocked or not ticket.chat_id:
        return None  # blocked, or filed by another system (Open311) with no chat to answer in
    return ticket.channel, ticket.chat_id


def target_of(config: Config, notice: Notice, audience: Audience | None = None) -> TARGET | None:
    """Return the chat where a notice (or another audience of the same notice) goes."""
    audience = audience or notice.audience
    if audience == Audience.CITIZEN:
        if notice.chat is not None:
            return notice.chat  # a follower of the ticket (the reporter of a merged duplicate)
        return citizen_chat(notice.ticket) if notice.ticket is not None else None
    if audience == Audience.AGENCY:
        return agency_chat(config, notice.about)
    if audience == Audience.OPERATORS:
        return operators_chat(config)
    if audience == Audience.SUPERVISOR:
        return supervisor_of(config, notice.about)[0]
    return notice.chat
