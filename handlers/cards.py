"""Ticket cards for agency and operator chats.

A card is one Reply however long the complaint; the channel's sender splits it to fit
(Telegram's 4096 characters in `bot/channels/telegram.py`, Zalo's 2000 in `zalo.py`).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.chat import Attachment, Location, Reply
from bot.config import Config
from handlers.buttons import agency_card_buttons, operator_card_buttons
from handlers.messages import fmt_datetime, t
from handlers.targets import agency_chat, operators_chat
from storage.models import Privacy, Ticket


def ticket_cards(
    config: Config, ticket: Ticket, attachments: Sequence[Attachment] = (), lang: str = "vi"
) -> list[Reply]:
    """Build the card (and its attachments) for the chat that must act on the ticket."""
    target = agency_chat(config, ticket.agency_id)
    if target is None:
        return []
    channel, chat_id = target
    for_operators = ticket.agency_id is None or target == operators_chat(config)
    header = _header(config, ticket, lang, for_operators)
    if attachments:
        header += t("card.attachments", lang, count=len(attachments))
    buttons = (
        operator_card_buttons(ticket, lang) if for_operators else agency_card_buttons(ticket, lang)
    )
    replies = [
        Reply(
            header + t("card.body", lang, text=ticket.text),
            buttons=buttons,
            channel=channel,
            chat_id=chat_id,
            ticket_id=ticket.id,
            extra={"continued": t("card.continued", lang, code=ticket.code, text="")},
        )
    ]
    if ticket.id is not None:
        # File ids belong to one channel: the sender of another channel downloads a Zalo URL
        # or links a Telegram file through the bot's web server (bot/evidence.py).
        for attachment in attachments:
            replies.append(
                Reply(
                    text=t("card.continued", lang, code=ticket.code, text=""),
                    channel=channel,
                    chat_id=chat_id,
                    attachments=(attachment,),
                    ticket_id=ticket.id,
                    extra={"files_from": ticket.channel},
                )
            )
    if ticket.latitude is not None and ticket.longitude is not None:
        replies.append(
            Reply(
                text="",
                channel=channel,
                chat_id=chat_id,
                location=Location(ticket.latitude, ticket.longitude),
                ticket_id=ticket.id,
            )
        )
    return replies


def _header(config: Config, ticket: Ticket, lang: str, for_operators: bool) -> str:
    category = config.category(ticket.category_id)
    category_name = category.name if category else ticket.category_id
    if ticket.agency_id is None:
        suggestions = ", ".join(
            f"{s[0]} → {s[1]} ({float(s[2]):.0%})" for s in ticket.suggestions[:3] if len(s) >= 3
        )
        text = t(
            "card.triage_header",
            lang,
            code=ticket.code,
            due=fmt_datetime(ticket.triage_due_at),
            category=category_name,
            suggestions=suggestions or "—",
        )
    else:
        text = t(
            "card.header",
            lang,
            code=ticket.code,
            category=category_name,
            due=fmt_datetime(ticket.resolve_due_at),
        )
    if ticket.ward:
        text += t("card.ward", lang, ward=ticket.ward)
    if ticket.dossier_code:
        text += t("card.dossier", lang, dossier=ticket.dossier_code)
    if ticket.subject_agency_id:
        subject = config.agency(ticket.subject_agency_id)
        text += t(
            "card.subject", lang, subject=subject.name if subject else ticket.subject_agency_id
        )
    text += _reporter_line(ticket, lang, for_operators)
    if ticket.latitude is not None and ticket.longitude is not None:
        text += t(
            "card.location", lang, lat=f"{ticket.latitude:.5f}", lon=f"{ticket.longitude:.5f}"
        )
    return text


def _reporter_line(ticket: Ticket, lang: str, for_operators: bool) -> str:
    if ticket.privacy == Privacy.ANONYMOUS or not (ticket.reporter_name or ticket.reporter_phone):
        return t("card.reporter_hidden", lang, who=t("card.hidden.anonymous", lang))
    if ticket.privacy == Privacy.OPERATORS and not for_operators:
        return t("card.reporter_hidden", lang, who=t("card.hidden.operators", lang))
    return t("card.reporter", lang, name=ticket.reporter_name or "—", phone=ticket.reporter_phone)
