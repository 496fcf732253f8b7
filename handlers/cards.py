"""Ticket cards for agency and operator chats, split to fit a chat message."""

from __future__ import annotations

from collections.abc import Sequence

from bot.chat import Attachment, Location, Reply
from bot.config import Config
from handlers import agency, operator
from handlers.messages import Safe, escape, fmt_datetime, t
from storage.models import Privacy, Ticket

TELEGRAM_LIMIT = 4096
CARD_BUDGET = 3900  # leaves room for buttons' sake and Telegram's own counting of entities


def split_escaped(text: str, first_budget: int, budget: int = CARD_BUDGET) -> list[str]:
    """Split user text into HTML-escaped chunks, the first at most `first_budget` long.

    Splits at whitespace where possible and never inside an HTML entity, so every chunk is
    valid on its own.
    """
    chunks: list[str] = []
    current = ""
    limit = max(first_budget, 200)
    for word in text.split(" "):
        piece = escape(word if not current else " " + word)
        while len(current) + len(piece) > limit:
            if current:
                chunks.append(current)
                current, limit = "", budget
                piece = piece.lstrip(" ")
                continue
            cut = _safe_cut(piece, limit)
            chunks.append(piece[:cut])
            piece, limit = piece[cut:], budget
        current += piece
    if current or not chunks:
        chunks.append(current)
    return chunks


def _safe_cut(escaped: str, limit: int) -> int:
    """Return a cut position at most `limit` that does not fall inside an `&…;` entity."""
    cut = limit
    amp = escaped.rfind("&", 0, cut)
    if amp != -1 and escaped.find(";", amp) >= cut:
        cut = amp
    return max(cut, 1)


def target_of(config: Config, ticket: Ticket) -> tuple[str, str] | None:
    """Return (channel, chat id) where the ticket's card goes: its agency, else the operators."""
    agency = config.agency(ticket.agency_id) if ticket.agency_id else None
    if agency is not None and agency.telegram_chat_id is not None:
        return "telegram", str(agency.telegram_chat_id)
    if agency is not None and agency.zalo_chat_id:
        return "zalo", agency.zalo_chat_id
    return operators_chat(config)


def operators_chat(config: Config) -> tuple[str, str] | None:
    """Return the operators' chat, Telegram first."""
    if config.telegram.operators_chat_id is not None:
        return "telegram", str(config.telegram.operators_chat_id)
    if config.zalo.operators_chat_id:
        return "zalo", config.zalo.operators_chat_id
    return None


def ticket_cards(
    config: Config, ticket: Ticket, attachments: Sequence[Attachment] = (), lang: str = "vi"
) -> list[Reply]:
    """Build the card (and its attachments) for the chat that must act on the ticket."""
    target = target_of(config, ticket)
    if target is None:
        return []
    channel, chat_id = target
    for_operators = ticket.agency_id is None or target == operators_chat(config)
    header = _header(config, ticket, lang, for_operators)
    if attachments:
        header += t("card.attachments", lang, count=len(attachments))
    chunks = split_escaped(ticket.text, CARD_BUDGET - len(header) - 40)
    buttons = (
        operator.card_buttons(ticket, lang) if for_operators else agency.card_buttons(ticket, lang)
    )
    replies = [
        Reply(
            header + t("card.body", lang, text=Safe(chunks[0])),
            buttons=buttons,
            channel=channel,
            chat_id=chat_id,
            ticket_id=ticket.id,
        )
    ]
    for chunk in chunks[1:]:
        replies.append(
            Reply(
                t("card.continued", lang, code=ticket.code, text=Safe(chunk)),
                channel=channel,
                chat_id=chat_id,
                ticket_id=ticket.id,
            )
        )
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
