"""The citizen's answer to an agency's question (SPEC §2 Follow-up).

When a ticket of this chat waits for the citizen, their next ordinary message (text, photos,
documents; not a command, a button or a message inside another dialog) answers it and restarts
the resolve clock.
"""

from __future__ import annotations

from bot.chat import Incoming, Reply
from bot.domain.tickets import record_citizen_answer
from handlers.context import Context
from handlers.messages import fmt_datetime, t
from handlers.notices import agency_name, render

ANSWER_KINDS = ("photo", "document", "video", "voice")


async def answer_question(ctx: Context, msg: Incoming) -> list[Reply] | None:
    """Take the message as the answer to a waiting ticket's question; None if none waits."""
    if msg.command is not None or msg.callback_data is not None or ctx.state:
        return None
    attachments = tuple(a for a in msg.attachments if a.kind in ANSWER_KINDS)
    text = msg.text.strip()
    if not text and not attachments:
        return None
    outcome = await record_citizen_answer(
        session=ctx.session,
        config=ctx.config,
        channel=msg.channel,
        chat_id=msg.chat_id,
        text=text,
        attachments=attachments,
        now=ctx.now,
    )
    if outcome is None:
        return None
    ticket = outcome.ticket
    confirmation = t(
        "followup.answer_sent",
        ctx.lang,
        code=ticket.code,
        agency=agency_name(ctx.config, ticket.agency_id, ctx.lang),
        due=fmt_datetime(ticket.resolve_due_at),
    )
    return [Reply(confirmation, ticket_id=ticket.id), *render(ctx.config, outcome.notices)]
