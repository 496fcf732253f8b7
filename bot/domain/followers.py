"""The reporters of merged duplicates hear what the reporter of the kept ticket hears.

When operators merge a duplicate into a kept ticket, the duplicate's reporter follows the kept
one (`ticket_follower`). Every service that tells the reporter something passes its notices
through here, so that each follower gets the same notice in their own chat and language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.outcomes import Audience, Notice, notice_key
from storage import console as console_store
from storage.models import TicketFollower

__all__ = ["FOLLOWED_KINDS", "for_followers", "with_followers"]

# What a follower is told. Not an agency's question: only the reporter can answer it (and the
# answer restarts the clock).
FOLLOWED_KINDS = frozenset({"routed", "accepted", "resolved", "overdue", "escalated"})


def for_followers(
    notices: Iterable[Notice], followers: Mapping[int, Sequence[TicketFollower]]
) -> list[Notice]:
    """Return the notices, each reporter's notice followed by a copy for every follower."""
    result: list[Notice] = []
    for notice in notices:
        result.append(notice)
        ticket = notice.ticket
        if (
            notice.audience != Audience.CITIZEN
            or notice.kind not in FOLLOWED_KINDS
            or notice.chat is not None
            or ticket is None
            or ticket.id is None
        ):
            continue
        own = (ticket.channel, ticket.chat_id)
        for follower in followers.get(ticket.id, ()):
            chat = (follower.channel, follower.chat_id)
            if chat == own:
                continue
            key = notice_key(notice.key, "follower", *chat) if notice.key else None
            result.append(replace(notice, chat=chat, language=follower.language, key=key))
    return result


async def with_followers(session: AsyncSession, notices: Sequence[Notice]) -> list[Notice]:
    """Add the followers' copies of the reporter's notices (read from the database)."""
    ids = {
        n.ticket.id
        for n in notices
        if n.audience == Audience.CITIZEN and n.ticket is not None and n.ticket.id is not None
    }
    if not ids:
        return list(notices)
    followers = await console_store.followers_of(session=session, ticket_ids=ids)
    return for_followers(notices, followers)
