"""What the hotline operators can do from their group chat."""

from __future__ import annotations

from handlers.context import Context
from handlers.messages import t
from handlers.types import Button, Incoming, Reply
from storage.models import Ticket

BUTTON_PREFIXES = frozenset({"op"})


async def route(ctx: Context, msg: Incoming) -> list[Reply]:
    """Handle a message or button in the operators' chat."""
    if msg.command in ("start", "help"):
        return [Reply(t("operator.help", ctx.lang))]
    if msg.callback_data is not None:
        return [Reply(t("stale_button", ctx.lang))]
    return []  # conversation between operators is not for the bot


def card_buttons(ticket: Ticket, lang: str = "vi") -> tuple[tuple[Button, ...], ...]:
    """Return the action buttons under a ticket's card in the operators' chat."""
    return ()
