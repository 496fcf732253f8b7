"""Complaint intake shared by every route in: text → triage → routing → ticket.

The chat dialog (handlers/citizen.py) and Open311 (bot/web/open311.py) both classify with
`classify`, pick the agency with `choose_agency` (the citizen's or partner's category choice
goes through the same rules as the classifier's proposal), and open the ticket with
`file_complaint`. Nothing here speaks: callers turn the ticket into texts and cards.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Config
from bot.domain import dossiers
from bot.domain.tickets import TRIAGE, Reporter, open_ticket, owning_agency
from bot.domain.triage import Classifier, Decision
from storage import dossiers as dossier_store
from storage.models import Ticket


async def classify(
    *, session: AsyncSession, classifier: Classifier, text: str
) -> tuple[Decision, str | None]:
    """Classify, telling the classifier which agency holds a dossier the text names."""
    for code in dossiers.find_dossier_codes(text):
        dossier = await dossier_store.get_dossier(session=session, code=code)
        if dossier is not None:
            return classifier.classify(text, dossier_agency=dossier.agency_id), code
    return classifier.classify(text), None


def choose_agency(config: Config, decision: Decision, category_id: str) -> str | None:
    """Return the agency a complaint in `category_id` goes to, or None for the triage queue.

    The classifier's own category keeps its routing (rules of taxonomy.md applied); another
    category chosen by the reporter goes to that category's agency, a commune matter without a
    commune named to the operators.
    """
    if category_id == decision.category:
        agency_id: str | None = decision.agency
    else:
        category = config.category(category_id)
        agency_id = category.agency if category and category.agency else TRIAGE
        if agency_id == config.commune_agency_id and not decision.ward:
            agency_id = TRIAGE
    if agency_id in (TRIAGE, None):
        return None
    return owning_agency(config, agency_id, decision.ward) or agency_id


@dataclass(frozen=True)
class Complaint:
    """One complaint as received, before it is a ticket."""

    text: str
    reporter: Reporter
    category_id: str
    decision: Decision
    dossier_code: str | None = None
    attachments: Sequence[dict[str, str]] = ()
    location: tuple[float, float] | None = None
    # What a partner system (Open311) sends beside the text; the email is kept, never shown.
    email: str = ""
    address: str = ""
    media_url: str = ""


async def file_complaint(
    *, session: AsyncSession, config: Config, complaint: Complaint, now: datetime
) -> Ticket:
    """Open the ticket for a complaint, routed as `choose_agency` says (not yet committed)."""
    agency_id = choose_agency(config, complaint.decision, complaint.category_id)
    # The reporter may have chosen another category: the ticket carries the routing chosen.
    decision = dataclasses.replace(
        complaint.decision, category=complaint.category_id, agency=agency_id or TRIAGE
    )
    ticket = await open_ticket(
        session=session,
        config=config,
        reporter=complaint.reporter,
        text=complaint.text,
        decision=decision,
        category_id=complaint.category_id,
        now=now,
        attachments=complaint.attachments,
        location=complaint.location,
        dossier_code=complaint.dossier_code,
    )
    ticket.reporter_email = complaint.email
    ticket.address = complaint.address
    ticket.media_url = complaint.media_url
    # A reporter with no chat (Open311) reads updates through the API: nothing is sent to them.
    ticket.citizen_blocked = not complaint.reporter.chat_id
    session.add(ticket)
    return ticket
