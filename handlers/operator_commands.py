"""The operators' commands in their group chat (Vietnamese commands, English aliases).

`/phieu` (`/ticket`) CODE shows a ticket with its files, whole trail and notes; `/chuyen`
(`/assign`) CODE AGENCY routes it (without an agency: the picker); `/ghichu` (`/note`) adds an
internal note; `/traloi` (`/reply`) messages the reporter; `/gop` (`/merge`) KEEP DUP merges a
duplicate; `/dong` (`/close`) CODE REASON closes it; `/molai` (`/reopen`) reopens it;
`/thongke` (`/stats`) gives today's and this month's numbers. The services are in
bot/domain/operations.py; their notices are worded in handlers/operator_notices.py.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.chat import Attachment, Incoming, Reply
from bot.domain import operations
from bot.domain.operations import OperationError
from bot.domain.tickets import load_for_change
from handlers import operator, worklists
from handlers.buttons import operator_card_buttons
from handlers.context import Context
from handlers.messages import TEXTS, fmt_date, fmt_datetime, t
from handlers.operator_notices import outcome_replies, view_text
from storage import tickets as ticket_store
from storage.models import Ticket

log = logging.getLogger(__name__)

Handler = Callable[[Context, Incoming], Awaitable[list[Reply]]]


def actor_of(msg: Incoming) -> str:
    """Name the operator in the trail."""
    return f"operator:{msg.user_id}"


def _refusal(ctx: Context, reason: str, ticket: Ticket | None) -> list[Reply]:
    key = f"op.error.{reason}" if f"op.error.{reason}" in TEXTS else f"ticket.error.{reason}"
    state = t(f"state.{ticket.state.value}", ctx.lang) if ticket is not None else ""
    return [Reply(t(key, ctx.lang, code=ticket.code if ticket else "", state=state))]


async def _ticket(ctx: Context, code: str) -> Ticket | None:
    found = await ticket_store.get_ticket_by_code(session=ctx.session, code=code)
    if found is None or found.id is None:
        return None
    return await load_for_change(session=ctx.session, ticket_id=found.id)


async def _with_ticket(
    ctx: Context, msg: Incoming, usage: str, min_words: int = 1
) -> tuple[Ticket, list[str]] | list[Reply]:
    """Read `CODE rest…` from the command; a refusal when it is missing or unknown."""
    words = msg.args.split(maxsplit=1)
    if len(words) < 1 or (min_words > 1 and len(words) < 2):
        return [Reply(t(usage, ctx.lang))]
    ticket = await _ticket(ctx, words[0])
    if ticket is None:
        return [Reply(t("op.error.not_found", ctx.lang, code=words[0]))]
    return ticket, words[1:]


async def show_ticket(ctx: Context, msg: Incoming) -> list[Reply]:
    """`/phieu CODE`: the card, its files, the whole trail and the internal notes."""
    found = await _with_ticket(ctx, msg, "op.usage.ticket")
    if isinstance(found, list):
        return found
    ticket, _rest = found
    view = await operations.view_ticket(session=ctx.session, ticket=ticket)
    card, trail, notes = view_text(ctx.config, view, ctx.lang)
    replies = [Reply(card, buttons=operator_card_buttons(ticket, ctx.lang), ticket_id=ticket.id)]
    if ticket.channel == msg.channel:
        # File ids belong to the channel they came on; elsewhere the card only counts them.
        for item in view.attachments:
            replies.append(
                Reply(
                    t(
                        "op.view.file",
                        ctx.lang,
                        code=ticket.code,
                        name=item.file_name or item.kind,
                    ),
                    attachments=(
                        Attachment(item.kind, item.file_id, item.file_name, item.mime_type),
                    ),
                )
            )
    replies.extend(
        worklists._messages(
            t("op.view.trail", ctx.lang, code=ticket.code), [(line, None) for line in trail]
        )
    )
    replies.extend(
        worklists._messages(t("op.view.notes", ctx.lang), [(line, None) for line in notes])
    )
    return replies


async def assign(ctx: Context, msg: Incoming) -> list[Reply]:
    """`/chuyen CODE AGENCY`: route through the rules; without an agency, the picker."""
    found = await _with_ticket(ctx, msg, "op.usage.assign")
    if isinstance(found, list):
        return found
    ticket, rest = found
    if not rest:
        return [operator._agency_list(ctx, ticket)]
    return await operator._route(ctx, msg, ticket, rest[0].split()[0].strip())


async def note(ctx: Context, msg: Incoming) -> list[Reply]:
    """`/ghichu CODE text`: an internal note nobody outside the operators sees."""
    found = await _with_ticket(ctx, msg, "op.usage.note", min_words=2)
    if isinstance(found, list):
        return found
    ticket, rest = found
    try:
        await operations.add_note(
            session=ctx.session, ticket=ticket, text=rest[0], actor=actor_of(msg), now=ctx.now
        )
    except OperationError as exc:
        return _refusal(ctx, exc.reason, ticket)
    return [Reply(t("op.done.note", ctx.lang, code=ticket.code))]


async def reply(ctx: Context, msg: Incoming) -> list[Reply]:
    """`/traloi CODE text`: message the reporter and the followers."""
    found = await _with_ticket(ctx, msg, "op.usage.reply", min_words=2)
    if isinstance(found, list):
        return found
    ticket, rest = found
    try:
        outcome = await operations.reply_to_citizen(
            session=ctx.session, ticket=ticket, text=rest[0], actor=actor_of(msg), now=ctx.now
        )
    except OperationError as exc:
        return _refusal(ctx, exc.reason, ticket)
    return [
        Reply(t("op.done.reply", ctx.lang, code=ticket.code)),
        *outcome_replies(ctx.config, outcome),
    ]


async def merge(ctx: Context, msg: Incoming) -> list[Reply]:
    """`/gop KEEP DUP`: the duplicate's reporters follow the kept ticket and are told."""
    words = msg.args.split()
    if len(words) != 2:
        return [Reply(t("op.usage.merge", ctx.lang))]
    tickets: list[Ticket] = []
    # Lock in id order, so two operators merging the same pair both ways cannot deadlock.
    for code in words:
        ticket = await ticket_store.get_ticket_by_code(session=ctx.session, code=code)
        if ticket is None:
            return [Reply(t("op.error.not_found", ctx.lang, code=code))]
        tickets.append(ticket)
    for ticket in sorted(tickets, key=lambda item: item.id or 0):
        await load_for_change(session=ctx.session, ticket_id=ticket.id or 0)
    keep, duplicate = tickets
    try:
        outcome = await operations.merge(
            session=ctx.session,
            keep=keep,
            duplicate=duplicate,
            actor=actor_of(msg),
            now=ctx.now,
        )
    except OperationError as exc:
        return _refusal(ctx, exc.reason, exc.ticket)
    told = sum(1 for n in outcome.notices if n.kind == "op.merged")
    done = t("op.done.merged", ctx.lang, dup=duplicate.code, keep=keep.code, count=told)
    return [Reply(done), *outcome_replies(ctx.config, outcome)]


async def close(ctx: Context, msg: Incoming) -> list[Reply]:
    """`/dong CODE REASON`: spam (silently), duplicate, or out of scope (the citizen is told)."""
    found = await _with_ticket(ctx, msg, "op.usage.close", min_words=2)
    if isinstance(found, list):
        return found
    ticket, rest = found
    reason = operations.parse_close_reason(rest[0])
    if reason is None:
        return [Reply(t("op.error.bad_reason", ctx.lang, reason=rest[0][:40]))]
    try:
        outcome = await operations.close(
            session=ctx.session,
            ticket=ticket,
            reason=reason,
            actor=actor_of(msg),
            now=ctx.now,
        )
    except OperationError as exc:
        return _refusal(ctx, exc.reason, ticket)
    label = t(f"op.reason.{reason.value}", ctx.lang)
    done = t("op.done.closed", ctx.lang, code=ticket.code, reason=label)
    return [Reply(done), *outcome_replies(ctx.config, outcome)]


async def reopen(ctx: Context, msg: Incoming) -> list[Reply]:
    """`/molai CODE`: a finished ticket goes back to the triage queue."""
    found = await _with_ticket(ctx, msg, "op.usage.reopen")
    if isinstance(found, list):
        return found
    ticket, _rest = found
    try:
        outcome = await operations.reopen(
            session=ctx.session, config=ctx.config, ticket=ticket, actor=actor_of(msg), now=ctx.now
        )
    except OperationError as exc:
        return _refusal(ctx, exc.reason, ticket)
    done = t(
        "op.done.reopened", ctx.lang, code=ticket.code, due=fmt_datetime(ticket.triage_due_at)
    )
    return [
        Reply(done, buttons=operator_card_buttons(ticket, ctx.lang)),
        *outcome_replies(ctx.config, outcome),
    ]


async def stats(ctx: Context, msg: Incoming) -> list[Reply]:
    """`/thongke`: today's and this month's numbers, what is overdue and waiting now."""
    numbers = await operations.stats(session=ctx.session, config=ctx.config, now=ctx.now)
    day, month, _next = operations.day_and_month(ctx.config, ctx.now)
    text = t(
        "op.stats",
        ctx.lang,
        day=fmt_date(day),
        month=month.strftime("%m/%Y"),
        t_new=numbers.today.new,
        t_routed=numbers.today.routed,
        t_accepted=numbers.today.accepted,
        t_resolved=numbers.today.resolved,
        m_new=numbers.month.new,
        m_routed=numbers.month.routed,
        m_accepted=numbers.month.accepted,
        m_resolved=numbers.month.resolved,
        overdue=numbers.overdue,
        waiting=numbers.waiting,
    )
    return [Reply(text)]


COMMANDS: dict[str, Handler] = {
    "phieu": show_ticket,
    "ticket": show_ticket,
    "chuyen": assign,
    "assign": assign,
    "ghichu": note,
    "note": note,
    "traloi": reply,
    "reply": reply,
    "gop": merge,
    "merge": merge,
    "dong": close,
    "close": close,
    "molai": reopen,
    "reopen": reopen,
    "thongke": stats,
    "stats": stats,
}
