"""What a service did, and who must be told of what: values the domain returns, never texts.

A service (ticket transitions, the sweeper's milestones, dossier imports) returns a
`TicketOutcome`, or a list of `Notice` values. A notice names its *kind* (what happened), its
*audience* (the reporter, the ticket's agency, the operators, the supervisor, a dossier's
subscriber), the ticket or dossier it concerns, the facts its text needs and its idempotency
key. `handlers/notices.py` turns notices into chat messages (texts, buttons, target chats) for
the chat handlers and the sweeper alike; the web console and Open311 call the same services and
read the same outcomes without any chat text.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.chat import Attachment
from storage.models import Dossier, Ticket


class Audience(enum.StrEnum):
    """Who a notice is for; `handlers/notices.py` knows which chat that is."""

    CITIZEN = "citizen"  # the ticket's reporter
    AGENCY = "agency"  # `Notice.agency_id`, else the ticket's agency; the operators without one
    OPERATORS = "operators"
    SUPERVISOR = "supervisor"  # the supervisor of `Notice.agency_id` (or the ticket's agency)
    SUBSCRIBER = "subscriber"  # a chat that follows a dossier: `Notice.chat`


@dataclass(frozen=True)
class Notice:
    """One thing one audience must be told."""

    kind: str
    audience: Audience
    ticket: Ticket | None = None
    dossier: Dossier | None = None
    agency_id: str | None = None  # the agency meant, when not the ticket's own
    facts: Mapping[str, Any] = field(default_factory=dict)
    key: str | None = None  # the outbox's idempotency key, when a repeat must not send twice
    attachments: tuple[Attachment, ...] = ()
    chat: tuple[str, str] | None = None  # (channel, chat id) of a SUBSCRIBER
    language: str = "vi"  # of a SUBSCRIBER (a ticket's reporter has the ticket's language)
    # Leave this notice out when that audience's chat is the same chat (it heard already).
    unless_same_chat_as: Audience | None = None

    @property
    def about(self) -> str | None:
        """Return the agency the audience stands for (AGENCY and SUPERVISOR notices)."""
        if self.agency_id is not None:
            return self.agency_id
        return self.ticket.agency_id if self.ticket is not None else None


@dataclass
class TicketOutcome:
    """What a ticket service did: the changed ticket, the event it recorded, the notices."""

    ticket: Ticket
    event: str
    notices: list[Notice] = field(default_factory=list)
    previous: int | None = None  # a rating's previous value
    changed: bool = True  # False when nothing changed (the same rating pressed again)


MAX_KEY = 200  # the outbox's idempotency_key column


def notice_key(*parts: object) -> str:
    """Join an idempotency key; hash it if it would not fit the outbox column."""
    key = ":".join(str(part) for part in parts)
    return key if len(key) <= MAX_KEY else "h:" + hashlib.sha256(key.encode()).hexdigest()


def stamp(value: datetime) -> str:
    """Return a compact UTC form of an instant for idempotency keys."""
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
