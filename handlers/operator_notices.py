"""Words for what the operators' services did (bot/domain/operations.py), for chat and console."""

from __future__ import annotations

from bot.chat import Reply
from bot.config import Config
from bot.domain.operations import OPERATOR_NOTICES, TicketView
from bot.domain.outcomes import Audience, Notice, TicketOutcome
from handlers.messages import TEXTS, fmt_datetime, t
from handlers.notices import agency_name, clip, render
from handlers.targets import target_of
from storage.models import Privacy, Ticket, TicketEvent


def outcome_replies(config: Config, outcome: TicketOutcome) -> list[Reply]:
    """Word every notice of an outcome: the operators' own here, the others in notices.py."""
    own = [n for n in outcome.notices if n.kind in OPERATOR_NOTICES]
    others = [n for n in outcome.notices if n.kind not in OPERATOR_NOTICES]
    replies = render(config, others)
    for notice in own:
        target = target_of(config, notice)
        if target is None:
            continue
        lang = _language(notice)
        text = t(f"opnotice.{notice.kind.removeprefix('op.')}", lang, **notice.facts)
        ticket_id = notice.ticket.id if notice.ticket is not None else None
        replies.append(Reply(text, channel=target[0], chat_id=target[1], ticket_id=ticket_id))
    return replies


def _language(notice: Notice) -> str:
    if notice.audience == Audience.SUBSCRIBER:
        return notice.language
    if notice.audience == Audience.CITIZEN and notice.ticket is not None:
        return notice.ticket.language
    return "vi"  # the staff chats speak Vietnamese


def event_label(kind: str, lang: str) -> str:
    """Name a trail event (its kind as stored when no wording exists)."""
    key = f"event.{kind}"
    return t(key, lang) if key in TEXTS else kind


def category_label(config: Config, category_id: str, lang: str) -> str:
    """Return a category's display name in the language."""
    category = config.category(category_id)
    if category is None:
        return category_id
    return category.name_en if lang == "en" and category.name_en else category.name


def reporter_label(ticket: Ticket, lang: str, *, for_operators: bool) -> str:
    """Describe the reporter as the reader may see them (privacy kept from agencies)."""
    if ticket.privacy == Privacy.ANONYMOUS:
        return t("op.view.anonymous", lang)
    if not for_operators and ticket.privacy == Privacy.OPERATORS:
        return t("op.view.anonymous", lang)
    return (
        " · ".join(part for part in (ticket.reporter_name, ticket.reporter_phone) if part) or "—"
    )


def trail_line(event: TicketEvent, lang: str) -> str:
    """One line of the trail: when, who, what, and its note."""
    line = t(
        "op.view.line",
        lang,
        at=fmt_datetime(event.at),
        actor=event.actor,
        event=event_label(event.kind, lang),
    )
    return line + (
        f": {t('op.view.line_note', lang, note=clip(event.note, 300))}" if event.note else ""
    )


def view_text(config: Config, view: TicketView, lang: str) -> tuple[str, list[str], list[str]]:
    """Word the operator's view of a ticket: the card, the trail's lines, the notes' lines."""
    ticket = view.ticket
    card = t(
        "op.view.head",
        lang,
        code=ticket.code,
        state=t(f"state.{ticket.state.value}", lang),
        category=category_label(config, ticket.category_id, lang),
        agency=agency_name(config, ticket.agency_id, lang),
        channel=ticket.channel,
        created=fmt_datetime(ticket.created_at),
        triage_due=fmt_datetime(ticket.triage_due_at),
        resolve_due=fmt_datetime(ticket.resolve_due_at),
        reporter=reporter_label(ticket, lang, for_operators=True),
        evidence=", ".join(ticket.evidence) or "—",
        text=clip(ticket.text),
    )
    if view.merged_into is not None:
        card += t("op.view.merged_into", lang, code=view.merged_into.code)
    if view.duplicates:
        card += t("op.view.duplicates", lang, codes=", ".join(d.code for d in view.duplicates))
    if view.attachments:
        card += t("op.view.files", lang, count=len(view.attachments))
    trail = [trail_line(e, lang) for e in view.events if e.kind != "note"]
    notes = [trail_line(e, lang) for e in view.notes] or [t("op.view.no_notes", lang)]
    return card, trail, notes
