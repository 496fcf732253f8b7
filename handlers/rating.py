"""After resolution, the citizen rates the result and may reopen the complaint (SPEC §2).

The citizen's "resolved" notice carries ⭐1…⭐5 (`rate:<ticket id>:<stars>`) and
[Chưa giải quyết xong → mở lại] (`reopen:<ticket id>`). Both work within
`[deadlines] reopen_days` of the resolution; pressing another star inside that window changes
the rating. Reopening asks for the reason; the citizen's next message gives it (dialog state
in the database), and the ticket goes back to its agency with a fresh resolve clock. Only the
chat that filed the complaint may press these buttons; a press from any other chat is refused
and logged.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.chat import Attachment, Button, Incoming, Reply
from bot.domain.tickets import (
    LOW_RATING,
    TransitionError,
    check_feedback,
    check_reporter,
    feedback_deadline,
    load_for_change,
    rate_ticket,
    reopen_ticket,
)
from handlers.buttons import reopen_button
from handlers.context import Context
from handlers.messages import fmt_date, fmt_datetime, t
from handlers.notices import agency_name, render
from storage.models import Ticket

log = logging.getLogger(__name__)

BUTTON_PREFIXES = frozenset({"rate", "reopen"})
REOPEN_REASON = "rating:reopen"  # dialog state: the next message is the reason to reopen
# A reason typed this soon after the press counts as given at the press (the window's last
# minutes must not be lost to typing); a later one is judged when it comes.
REASON_GRACE = timedelta(hours=1)
REASON_FILE_KINDS = ("photo", "document")


def _parse_rate(data: str) -> tuple[int, int] | None:
    parts = data.split(":")
    if len(parts) == 3 and parts[0] == "rate" and parts[1].isdigit() and parts[2].isdigit():
        return int(parts[1]), int(parts[2])
    return None


def _parse_reopen(data: str) -> int | None:
    parts = data.split(":")
    if len(parts) == 2 and parts[0] == "reopen" and parts[1].isdigit():
        return int(parts[1])
    return None


def _stars(stars: int | None, lang: str) -> str:
    return t("rating.stars", lang, stars=stars) if stars is not None else "—"


def _refused(msg: Incoming, ticket: Ticket, what: str) -> None:
    log.warning(
        "refused %s on ticket %s from chat %s on %s (user %s); the reporter's chat is %s on %s",
        what,
        ticket.code,
        msg.chat_id,
        msg.channel,
        msg.user_id,
        ticket.chat_id,
        ticket.channel,
    )


async def rate(ctx: Context, msg: Incoming) -> list[Reply]:
    """A ⭐ button: record (or change) the rating and thank the citizen."""
    parsed = _parse_rate(msg.callback_data or "")
    if parsed is None:
        return [Reply(t("stale_button", ctx.lang))]
    ticket_id, stars = parsed
    ticket = await load_for_change(session=ctx.session, ticket_id=ticket_id)
    if ticket is None:
        return [Reply(t("ticket.error.not_found", ctx.lang))]
    try:
        outcome = await rate_ticket(
            session=ctx.session,
            config=ctx.config,
            ticket=ticket,
            channel=msg.channel,
            chat_id=msg.chat_id,
            stars=stars,
            now=ctx.now,
        )
    except TransitionError as exc:
        return [_rating_refusal(ctx, msg, exc)]
    lang = ctx.lang
    until = fmt_datetime(feedback_deadline(ticket, ctx.config))
    if not outcome.changed:
        text = t(
            "rating.unchanged", lang, code=ticket.code, stars=_stars(stars, lang), until=until
        )
        return [Reply(text, ticket_id=ticket.id)]
    if outcome.previous is None:
        text = t("rating.thanks", lang, code=ticket.code, stars=_stars(stars, lang))
    else:
        text = t(
            "rating.changed",
            lang,
            code=ticket.code,
            old=_stars(outcome.previous, lang),
            stars=_stars(stars, lang),
        )
    buttons: tuple[tuple[Button, ...], ...] = ()
    if stars <= LOW_RATING:
        text += t("rating.sorry", lang, until=until)
        buttons = ((reopen_button(ticket, lang),),)
    return [
        Reply(text, buttons=buttons, ticket_id=ticket.id),
        *render(ctx.config, outcome.notices),
    ]


def _rating_refusal(ctx: Context, msg: Incoming, exc: TransitionError) -> Reply:
    ticket, lang = exc.ticket, ctx.lang
    if exc.reason == "not_reporter":
        _refused(msg, ticket, "a rating")
        return Reply(t("rating.error.not_reporter", lang))
    if exc.reason == "feedback_closed":
        if ticket.rating is not None:
            stars = _stars(ticket.rating, lang)
            return Reply(t("rating.recorded_final", lang, code=ticket.code, stars=stars))
        until = fmt_datetime(feedback_deadline(ticket, ctx.config))
        return Reply(t("rating.error.feedback_closed", lang, code=ticket.code, until=until))
    if exc.reason == "not_resolved":
        state = t(f"state.{ticket.state.value}", lang)
        return Reply(t("rating.error.not_resolved", lang, code=ticket.code, state=state))
    return Reply(t("stale_button", lang))


async def reopen(ctx: Context, msg: Incoming) -> list[Reply]:
    """The reopen button: check the window, then ask for the reason."""
    ticket_id = _parse_reopen(msg.callback_data or "")
    if ticket_id is None:
        return [Reply(t("stale_button", ctx.lang))]
    ticket = await load_for_change(session=ctx.session, ticket_id=ticket_id)
    if ticket is None:
        return [Reply(t("ticket.error.not_found", ctx.lang))]
    try:
        check_reporter(ticket, channel=msg.channel, chat_id=msg.chat_id)
        check_feedback(ticket, config=ctx.config, now=ctx.now)
    except TransitionError as exc:
        return [_reopen_refusal(ctx, msg, exc)]
    ctx.enter(REOPEN_REASON, ticket_id=ticket.id, code=ticket.code, pressed_at=ctx.now.isoformat())
    agency = agency_name(ctx.config, ticket.agency_id, ctx.lang)
    return [Reply(t("reopen.prompt", ctx.lang, code=ticket.code, agency=agency))]


def _reopen_refusal(ctx: Context, msg: Incoming, exc: TransitionError) -> Reply:
    ticket, lang = exc.ticket, ctx.lang
    if exc.reason == "not_reporter":
        _refused(msg, ticket, "a reopen")
        return Reply(t("rating.error.not_reporter", lang))
    if exc.reason == "feedback_closed":
        resolved = ticket.resolved_at
        return Reply(
            t(
                "reopen.expired",
                lang,
                code=ticket.code,
                resolved=fmt_date(resolved),
                days=ctx.config.deadlines.reopen_days,
                until=fmt_datetime(feedback_deadline(ticket, ctx.config)),
                phone=ctx.config.hotline.phone,
            )
        )
    state = t(f"state.{ticket.state.value}", lang)
    return Reply(t("reopen.error.not_resolved", lang, code=ticket.code, state=state))


async def reopen_reason(ctx: Context, msg: Incoming) -> list[Reply]:
    """The message after the reopen button: the reason; the ticket goes back to its agency."""
    code = str(ctx.data.get("code", ""))
    files = [
        {"kind": a.kind, "file_id": a.file_id, "file_name": a.file_name, "mime_type": a.mime_type}
        for a in msg.attachments
        if a.kind in REASON_FILE_KINDS
    ]
    ctx.data.setdefault("files", []).extend(files)
    reason = msg.text.strip()
    if not reason:
        return [Reply(t("reopen.need_text", ctx.lang, code=code))]
    ticket_id = int(ctx.data.get("ticket_id", 0))
    pressed_at = _instant(ctx.data.get("pressed_at"))
    attachments = tuple(Attachment(**item) for item in ctx.data.get("files", []))
    ctx.reset()
    ticket = await load_for_change(session=ctx.session, ticket_id=ticket_id)
    if ticket is None:
        return [Reply(t("ticket.error.not_found", ctx.lang))]
    in_grace = pressed_at is not None and ctx.now - pressed_at <= REASON_GRACE
    try:
        outcome = await reopen_ticket(
            session=ctx.session,
            config=ctx.config,
            ticket=ticket,
            channel=msg.channel,
            chat_id=msg.chat_id,
            reason=reason,
            now=ctx.now,
            requested_at=pressed_at if in_grace else None,
            attachments=attachments,
        )
    except TransitionError as exc:
        return [_reopen_refusal(ctx, msg, exc)]
    text = t(
        "reopen.done",
        ctx.lang,
        code=ticket.code,
        agency=agency_name(ctx.config, ticket.agency_id, ctx.lang),
        due=fmt_datetime(ticket.resolve_due_at or ticket.triage_due_at),
    )
    return [Reply(text, ticket_id=ticket.id), *render(ctx.config, outcome.notices)]


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
