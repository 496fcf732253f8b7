"""Turn what a service did (notices with their audiences) into chat messages.

The one place where an outcome of `bot/domain/` becomes `Reply` values: the text in the
audience's language, the buttons, the target chat (`handlers/targets.py`) and the idempotency
key. The chat handlers and the sweeper both call `render`; a notice whose audience has no chat
(a reporter who blocked the bot, no operators' chat configured) renders to nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from bot.chat import Button, Reply
from bot.config import Config
from bot.domain.dossiers import unsubscribe_callback
from bot.domain.outcomes import Audience, Notice
from handlers.buttons import operator_card_buttons, rating_buttons
from handlers.cards import ticket_cards
from handlers.messages import fmt_date, fmt_datetime, t
from handlers.targets import TARGET, supervisor_of, target_of
from storage.models import Dossier, Ticket

NOTICE_TEXT_LIMIT = 3000  # user text quoted in a notice; the whole text stays in the event
EXCERPT_LIMIT = 600


def agency_name(config: Config, agency_id: str | None, lang: str = "vi") -> str:
    """Return an agency's display name (the operators when there is none)."""
    if agency_id is None:
        return t("notice.name.operators", lang)
    agency = config.agency(agency_id)
    return agency.name if agency else agency_id


def clip(text: str, limit: int = NOTICE_TEXT_LIMIT) -> str:
    """Shorten user text quoted in a notice (the stored text stays whole)."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def hours(value: float, digits: int) -> str:
    """Format a number of working hours without needless decimals."""
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def render(config: Config, notices: Iterable[Notice]) -> list[Reply]:
    """Return the messages of the notices, each addressed to its audience's chat."""
    replies: list[Reply] = []
    for notice in notices:
        target = target_of(config, notice)
        if target is None:
            continue
        if notice.unless_same_chat_as is not None and target == target_of(
            config, notice, notice.unless_same_chat_as
        ):
            continue
        if notice.kind == "card":
            assert notice.ticket is not None
            replies.extend(ticket_cards(config, notice.ticket, notice.attachments))
            continue
        builder = _BUILDERS[(notice.audience, notice.kind)]
        for reply in builder(config, notice, target):
            replies.append(_addressed(reply, target, notice))
    return replies


def _addressed(reply: Reply, target: TARGET, notice: Notice) -> Reply:
    return Reply(
        text=reply.text,
        buttons=reply.buttons,
        channel=target[0],
        chat_id=target[1],
        attachments=reply.attachments,
        ticket_id=notice.ticket.id if notice.ticket is not None else None,
        idempotency_key=notice.key,
        extra=reply.extra,
    )


Builder = Callable[[Config, Notice, TARGET], list[Reply]]


def _ticket(notice: Notice) -> Ticket:
    assert notice.ticket is not None, f"notice {notice.kind} needs its ticket"
    return notice.ticket


def _due(notice: Notice, name: str = "due") -> str:
    value: datetime | None = notice.facts.get(name)
    return fmt_datetime(value)


# --- the reporter ----------------------------------------------------------------------------


def _citizen_language(notice: Notice) -> str:
    """The reporter's language, or the follower's when the notice is a follower's copy."""
    if notice.chat is not None:
        return notice.language
    return _ticket(notice).language


def _citizen_accepted(config: Config, notice: Notice, _target: TARGET) -> list[Reply]:
    ticket = _ticket(notice)
    lang = _citizen_language(notice)
    text = t(
        "notice.citizen.accepted",
        lang,
        code=ticket.code,
        agency=agency_name(config, ticket.agency_id, lang),
        due=fmt_datetime(ticket.resolve_due_at),
    )
    return [Reply(text)]


def _citizen_routed(config: Config, notice: Notice, _target: TARGET) -> list[Reply]:
    ticket = _ticket(notice)
    lang = _citizen_language(notice)
    text = t(
        "notice.citizen.routed",
        lang,
        code=ticket.code,
        agency=agency_name(config, ticket.agency_id, lang),
        due=fmt_datetime(ticket.resolve_due_at),
    )
    return [Reply(text)]


def _citizen_question(config: Config, notice: Notice, _target: TARGET) -> list[Reply]:
    ticket = _ticket(notice)
    lang = _citizen_language(notice)
    text = t(
        "notice.citizen.question",
        lang,
        code=ticket.code,
        agency=agency_name(config, ticket.agency_id, lang),
        question=clip(str(notice.facts.get("question", ""))),
    )
    return [Reply(text)]


def _citizen_resolved(config: Config, notice: Notice, _target: TARGET) -> list[Reply]:
    ticket = _ticket(notice)
    lang = _citizen_language(notice)
    text = t(
        "notice.citizen.resolved",
        lang,
        code=ticket.code,
        agency=agency_name(config, ticket.agency_id, lang),
        answer=str(notice.facts.get("answer", "")),
    )
    continued = t("notice.continued", lang, code=ticket.code, text="")
    if notice.chat is not None:
        # a follower is told the answer; rating and reopening are the reporter's
        return [Reply(text, extra={"continued": continued})]
    # The whole answer goes out; the sender splits it, the buttons under its last part.
    text += t("rating.invite", lang, days=config.deadlines.reopen_days)
    return [Reply(text, buttons=rating_buttons(ticket, lang), extra={"continued": continued})]


def _citizen_overdue(config: Config, notice: Notice, _target: TARGET) -> list[Reply]:
    ticket = _ticket(notice)
    lang = _citizen_language(notice)
    _chat, supervisor = supervisor_of(config, ticket.agency_id)
    text = t(
        "notice.citizen.overdue",
        lang,
        code=ticket.code,
        agency=agency_name(config, ticket.agency_id, lang),
        due=_due(notice),
        expected=_due(notice, "escalate"),
        supervisor=supervisor,
    )
    return [Reply(text)]


def _citizen_escalated(config: Config, notice: Notice, _target: TARGET) -> list[Reply]:
    ticket = _ticket(notice)
    _chat, supervisor = supervisor_of(config, ticket.agency_id)
    text = t(
        "notice.citizen.escalated",
        _citizen_language(notice),
        code=ticket.code,
        due=_due(notice),
        supervisor=supervisor,
    )
    return [Reply(text)]


# --- the agency ------------------------------------------------------------------------------


def _agency_citizen_answer(config: Config, notice: Notice, _target: TARGET) -> list[Reply]:
    ticket = _ticket(notice)
    body = t(
        "notice.agency.citizen_answer",
        "vi",
        code=ticket.code,
        answer=clip(str(notice.facts.get("answer", ""))) or "—",
        files=notice.facts.get("files", 0),
        due=fmt_datetime(ticket.resolve_due_at),
    )
    # Across channels the sender downloads a Zalo URL or links a Telegram file (issue 11).
    files_from = {"files_from": notice.facts.get("channel")}
    return [
        Reply(body),
        *(
            Reply(
                t("notice.attachment_of", "vi", code=ticket.code),
                attachments=(attachment,),
                extra=files_from,
            )
            for attachment in notice.attachments
        ),
    ]


def _agency_rerouted(config: Config, notice: Notice, _target: TARGET) -> list[Reply]:
    ticket = _ticket(notice)
    text = t(
        "notice.agency.rerouted",
        "vi",
        code=ticket.code,
        agency=agency_name(config, ticket.agency_id),
    )
    return [Reply(text)]


def _reopened_values(config: Config, notice: Notice) -> dict[str, Any]:
    ticket = _ticket(notice)
    return {
        "code": ticket.code,
        "agency": agency_name(config, ticket.agency_id),
        "count": notice.facts.get("count", 1),
        "reason": clip(str(notice.facts.get("reason", ""))) or "—",
        "answer": clip(str(notice.facts.get("answer", "")), EXCERPT_LIMIT) or "—",
        "due": _due(notice),
    }


def _agency_reopened(config: Config, notice: Notice, _target: TARGET) -> list[Reply]:
    return [Reply(t("notice.agency.reopened", "vi", **_reopened_values(config, notice)))]


def _agency_deemed_accepted(config: Config, notice: Notice, _target: TARGET) -> list[Reply]:
    ticket = _ticket(notice)
    text = t(
        "notice.agency.deemed_accepted",
        "vi",
        code=ticket.code,
        due=_due(notice),
        resolve_due=fmt_datetime(ticket.resolve_due_at),
    )
    return [Reply(text)]


def _agency_reminder(config: Config, notice: Notice, _target: TARGET) -> list[Reply]:
    ticket = _ticket(notice)
    text = t(
        "notice.agency.reminder",
        "vi",
        code=ticket.code,
        due=_due(notice),
        left=hours(float(notice.facts.get("left", 0.0)), 1),
    )
    return [Reply(text)]


def _overdue_values(config: Config, notice: Notice) -> dict[str, Any]:
    ticket = _ticket(notice)
    _chat, supervisor = supervisor_of(config, ticket.agency_id)
    return {
        "code": ticket.code,
        "agency": agency_name(config, ticket.agency_id),
        "due": _due(notice),
        "escalate": _due(notice, "escalate"),
        "supervisor": supervisor,
    }


def _agency_overdue(config: Config, notice: Notice, _target: TARGET) -> list[Reply]:
    return [Reply(t("notice.agency.overdue", "vi", **_overdue_values(config, notice)))]


# --- the operators ---------------------------------------------------------------------------


def _operators_returned(config: Config, notice: Notice, _target: TARGET) -> list[Reply]:
    ticket = _ticket(notice)
    text = t(
        "notice.operators.returned",
        "vi",
        code=ticket.code,
        agency=agency_name(config, notice.facts.get("previous")),
        count=ticket.returns_count,
        reason=clip(str(notice.facts.get("reason", ""))),
        due=fmt_datetime(ticket.triage_due_at),
    )
    return [Reply(text)]


def _passed_around_text(config: Config, notice: Notice) -> str:
    ticket = _ticket(notice)
    returners = notice.facts.get("agencies", [])
    names = ", ".join(agency_name(config, a) for a in returners) or "—"
    return t(
        "notice.passed_around", "vi", code=ticket.code, count=ticket.returns_count, agencies=names
    )


def _operators_passed_around(config: Config, notice: Notice, _target: TARGET) -> list[Reply]:
    return [Reply(_passed_around_text(config, notice))]


def _supervisor_passed_around(config: Config, notice: Notice, _target: TARGET) -> list[Reply]:
    excerpt = t("notice.excerpt", "vi", text=clip(_ticket(notice).text, EXCERPT_LIMIT))
    return [Reply(_passed_around_text(config, notice) + excerpt)]


def _operators_reopened(config: Config, notice: Notice, _target: TARGET) -> list[Reply]:
    return [Reply(t("notice.operators.reopened", "vi", **_reopened_values(config, notice)))]


def _operators_low_rating(config: Config, notice: Notice, _target: TARGET) -> list[Reply]:
    ticket = _ticket(notice)
    text = t(
        "notice.operators.low_rating",
        "vi",
        code=ticket.code,
        agency=agency_name(config, ticket.agency_id),
        stars=notice.facts.get("stars", 0),
        answer=clip(ticket.answer, EXCERPT_LIMIT) or "—",
    )
    return [Reply(text)]


def _operators_triage_overdue(config: Config, notice: Notice, _target: TARGET) -> list[Reply]:
    ticket = _ticket(notice)
    _chat, supervisor = supervisor_of(config, ticket.agency_id)
    text = t(
        "notice.operators.triage_overdue",
        "vi",
        code=ticket.code,
        due=_due(notice),
        escalate=_due(notice, "escalate"),
        supervisor=supervisor,
    )
    return [Reply(text, buttons=operator_card_buttons(ticket))]


def _operators_overdue(config: Config, notice: Notice, _target: TARGET) -> list[Reply]:
    # The operators may take the ticket from a silent agency: reroute buttons.
    text = t("notice.operators.overdue", "vi", **_overdue_values(config, notice))
    return [Reply(text, buttons=operator_card_buttons(_ticket(notice)))]


# --- the supervisor --------------------------------------------------------------------------


def _category_name(config: Config, ticket: Ticket) -> str:
    category = config.category(ticket.category_id)
    return category.name if category else ticket.category_id


def _supervisor_triage_escalated(config: Config, notice: Notice, _target: TARGET) -> list[Reply]:
    ticket = _ticket(notice)
    text = t(
        "notice.supervisor.triage_escalated",
        "vi",
        code=ticket.code,
        due=_due(notice),
        category=_category_name(config, ticket),
        excerpt=clip(ticket.text, EXCERPT_LIMIT),
    )
    return [Reply(text)]


def _supervisor_escalated(config: Config, notice: Notice, _target: TARGET) -> list[Reply]:
    ticket = _ticket(notice)
    text = t(
        "notice.supervisor.escalated",
        "vi",
        code=ticket.code,
        agency=agency_name(config, ticket.agency_id),
        late=f"{float(notice.facts.get('late', 0.0)):.0f}",
        due=_due(notice),
        category=_category_name(config, ticket),
        excerpt=clip(ticket.text, EXCERPT_LIMIT),
    )
    return [Reply(text)]


# --- dossiers: the holding agency and the subscribers ----------------------------------------

STATUSES = range(1, 11)  # the national portal's status codes


def status_name(status: int, lang: str) -> str:
    """Return the portal's name of a status code."""
    return t(f"dossier.status.{status}", lang) if status in STATUSES else str(status)


def status_names() -> dict[str, int]:
    """Return every status name the bot shows, in every language, with its code."""
    return {status_name(status, lang): status for status in STATUSES for lang in ("vi", "en")}


def _dossier(notice: Notice) -> Dossier:
    assert notice.dossier is not None, f"notice {notice.kind} needs its dossier"
    return notice.dossier


def _unsubscribe_row(dossier: Dossier, lang: str) -> tuple[tuple[Button, ...], ...]:
    return ((Button(t("dossier.button.unsubscribe", lang), unsubscribe_callback(dossier.code)),),)


def _dossier_apology_due(config: Config, notice: Notice, _target: TARGET) -> list[Reply]:
    dossier = _dossier(notice)
    text = t(
        "notice.dossier.apology_due",
        "vi",
        code=dossier.code,
        procedure=dossier.procedure or "—",
        agency=agency_name(config, dossier.agency_id),
        due=fmt_datetime(dossier.due_at),
    )
    return [Reply(text)]


def _dossier_late(config: Config, notice: Notice, _target: TARGET) -> list[Reply]:
    dossier, lang = _dossier(notice), notice.language
    key = "notice.dossier.late" if notice.kind == "late" else "notice.dossier.late_new_due"
    text = t(
        key,
        lang,
        code=dossier.code,
        procedure=dossier.procedure or "—",
        agency=agency_name(config, dossier.agency_id, lang),
        due=_due(notice, "at"),
    )
    return [Reply(text, buttons=_unsubscribe_row(dossier, lang))]


def _dossier_changed(config: Config, notice: Notice, _target: TARGET) -> list[Reply]:
    dossier, lang = _dossier(notice), notice.language
    procedure = dossier.procedure or "—"
    lines: list[str] = []
    if notice.kind == "dossier_new_due":
        lines.append(
            t(
                "dossier.notice.new_due",
                lang,
                code=dossier.code,
                procedure=procedure,
                date=fmt_date(dossier.new_due_at),
            )
        )
        if dossier.apology_reason:
            lines.append(t("dossier.notice.reason", lang, reason=dossier.apology_reason))
    else:
        old_status = notice.facts.get("old_status")
        lines.append(
            t(
                "dossier.notice.status",
                lang,
                code=dossier.code,
                procedure=procedure,
                old=status_name(old_status, lang) if old_status else "—",
                new=status_name(dossier.status, lang),
            )
        )
        if dossier.status in (3, 5, 6, 9):
            lines.append(t(f"dossier.notice.hint.{dossier.status}", lang))
    lines.append(t("dossier.notice.more", lang, code=dossier.code))
    return [Reply("\n".join(lines), buttons=_unsubscribe_row(dossier, lang))]


_BUILDERS: dict[tuple[Audience, str], Builder] = {
    (Audience.CITIZEN, "accepted"): _citizen_accepted,
    (Audience.CITIZEN, "routed"): _citizen_routed,
    (Audience.CITIZEN, "question"): _citizen_question,
    (Audience.CITIZEN, "resolved"): _citizen_resolved,
    (Audience.CITIZEN, "overdue"): _citizen_overdue,
    (Audience.CITIZEN, "escalated"): _citizen_escalated,
    (Audience.AGENCY, "citizen_answer"): _agency_citizen_answer,
    (Audience.AGENCY, "rerouted"): _agency_rerouted,
    (Audience.AGENCY, "reopened"): _agency_reopened,
    (Audience.AGENCY, "deemed_accepted"): _agency_deemed_accepted,
    (Audience.AGENCY, "reminder"): _agency_reminder,
    (Audience.AGENCY, "overdue"): _agency_overdue,
    (Audience.OPERATORS, "returned"): _operators_returned,
    (Audience.OPERATORS, "passed_around"): _operators_passed_around,
    (Audience.OPERATORS, "reopened"): _operators_reopened,
    (Audience.OPERATORS, "low_rating"): _operators_low_rating,
    (Audience.OPERATORS, "triage_overdue"): _operators_triage_overdue,
    (Audience.OPERATORS, "overdue"): _operators_overdue,
    (Audience.SUPERVISOR, "passed_around"): _supervisor_passed_around,
    (Audience.SUPERVISOR, "triage_escalated"): _supervisor_triage_escalated,
    (Audience.SUPERVISOR, "escalated"): _supervisor_escalated,
    (Audience.AGENCY, "apology_due"): _dossier_apology_due,
    (Audience.SUBSCRIBER, "late"): _dossier_late,
    (Audience.SUBSCRIBER, "late_new_due"): _dossier_late,
    (Audience.SUBSCRIBER, "dossier_new_due"): _dossier_changed,
    (Audience.SUBSCRIBER, "dossier_status"): _dossier_changed,
}
