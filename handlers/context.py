"""What a handler is given besides the incoming message: session, config, clock, dialog."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Config
from bot.domain.triage import Classifier


@dataclass
class Context:
    """One handler call's world. Handlers change `state`/`data`; the caller saves them."""

    session: AsyncSession
    config: Config
    classifier: Classifier
    now: datetime
    lang: str = "vi"
    state: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def enter(self, state: str, **data: Any) -> None:
        """Move the dialog to `state` with fresh data and a new nonce for its buttons."""
        self.state = state
        self.data = {**data, "nonce": secrets.token_hex(3)}

    def move(self, state: str) -> None:
        """Move to another step of the same dialog, keeping its data and nonce."""
        self.state = state

    def reset(self) -> None:
        """Leave any dialog."""
        self.state = ""
        self.data = {}

    @property
    def nonce(self) -> str:
        """Return the current dialog's nonce (buttons of older dialogs carry another one)."""
        return str(self.data.get("nonce", ""))
