"""The buttons under ticket cards and notices: agencies', operators' and the citizen's rating.

Kept apart from the handlers that answer them so that cards and notices can use them without
importing the handlers (which import the notices).
"""

from __future__ import annotations

from bot.chat import Button
from bot.domain.tickets import RATINGS
from handlers.messages import t
from storage.models import Ticket, TicketState

CALLBACK_LIMIT = 64  # bytes Telegram allows in callback data
TRIAGE = "triage"


def agency_card_buttons(ticket: Ticket, lang: str = "vi") -> tuple[tuple[Button, ...], ...]:
    """Return the action buttons under a ticket's card in the agency's chat."""
    if ticket.id is None or ticket.state not in (
        TicketState.ROUTED,
        TicketState.ACCEPTED,
        TicketState.WAITING_CITIZEN,
    ):
        return ()
    prefix = f"ag:{ticket.id}"
    first: list[Button] = []
    if ticket.state == TicketState.ROUTED:
        first.append(Button(t("button.accept", lang), f"{prefix}:accept"))
        if not (ticket.deemed_accepted or ticket.passed_around):
            first.append(Button(t("button.return", lang), f"{prefix}:return"))
    second = (
        Button(t("button.ask", lang), f"{prefix}:ask"),
        Button(t("button.resolve", lang), f"{prefix}:resolve"),
    )
    return (tuple(first), second) if first else (second,)


def route_data(ticket_id: int, agency_id: str) -> str | None:
    """Return a route button's data, or None when the agency id makes it too long."""
    data = f"op:{ticket_id}:route:{agency_id}"
    return data if len(data.encode()) <= CALLBACK_LIMIT else None


def operator_card_buttons(ticket: Ticket, lang: str = "vi") -> tuple[tuple[Button, ...], ...]:
    """Return the action buttons under a ticket's card in the operators' chat.

    The classifier's suggested agencies first, then a button listing the whole directory.
    """
    if ticket.id is None or ticket.state not in (
        TicketState.TRIAGE,
        TicketState.ROUTED,
        TicketState.ACCEPTED,
    ):
        return ()
    suggested: list[str] = []
    for suggestion in ticket.suggestions:
        agency_id = suggestion[1] if len(suggestion) >= 2 else None
        if (
            isinstance(agency_id, str)
            and agency_id not in (TRIAGE, ticket.agency_id, ticket.subject_agency_id)
            and agency_id not in suggested
        ):
            suggested.append(agency_id)
    rows: list[tuple[Button, ...]] = []
    for agency_id in suggested[:3]:
        data = route_data(ticket.id, agency_id)
        if data is not None:
            rows.append((Button(t("button.route_to", lang, agency=agency_id), data),))
    rows.append((Button(t("button.route_other", lang), f"op:{ticket.id}:pick"),))
    return tuple(rows)


def rating_buttons(ticket: Ticket, lang: str = "vi") -> tuple[tuple[Button, ...], ...]:
    """Return the ⭐1…⭐5 row and the reopen button of a resolved ticket."""
    if ticket.id is None:
        return ()
    stars = tuple(
        Button(t("rating.button.star", lang, stars=n), f"rate:{ticket.id}:{n}") for n in RATINGS
    )
    return stars, (reopen_button(ticket, lang),)


def reopen_button(ticket: Ticket, lang: str = "vi") -> Button:
    """Return the [Chưa giải quyết xong → mở lại] button."""
    return Button(t("rating.button.reopen", lang), f"reopen:{ticket.id}")
