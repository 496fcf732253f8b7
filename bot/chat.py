"""Channel-neutral messages: what a handler receives and what it answers."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Role(enum.StrEnum):
    """Who is speaking, decided by the chat the message comes from."""

    CITIZEN = "citizen"
    OPERATOR = "operator"
    AGENCY = "agency"
    LEADER = "leader"
    UNKNOWN = "unknown"  # a group chat the hotline does not know


@dataclass(frozen=True)
class Attachment:
    """A file the user sent (or the bot forwards), by the channel's file id."""

    kind: str  # photo, document, sticker, voice, video, other
    file_id: str
    file_name: str = ""
    mime_type: str = ""
    # --- reports (issue 9): a file the bot made, kept in the database (storage/files.py) ---
    stored_file: int | None = None  # its row; the outbox worker loads it into `content`
    content: bytes | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Contact:
    """A phone number shared with the contact button."""

    phone: str
    name: str = ""
    user_id: str = ""


@dataclass(frozen=True)
class Location:
    """A point shared from the chat app."""

    latitude: float
    longitude: float


@dataclass(frozen=True)
class Incoming:
    """One thing a user did: a message, a button press, a shared contact or location."""

    channel: str
    chat_id: str
    user_id: str
    update_id: str = ""
    text: str = ""
    callback_data: str | None = None
    callback_message_id: str | None = None
    attachments: tuple[Attachment, ...] = ()
    contact: Contact | None = None
    location: Location | None = None
    user_name: str = ""
    language_code: str = ""
    is_private: bool = True
    role: Role = Role.CITIZEN
    agency_id: str | None = None  # set for Role.AGENCY: which agency's chat this is

    @property
    def command(self) -> str | None:
        """Return the command without slash or bot name (`/hoso@bot x` → `hoso`), if any."""
        if not self.text.startswith("/"):
            return None
        head = self.text.split(maxsplit=1)[0][1:]
        return head.split("@", 1)[0].lower() or None

    @property
    def args(self) -> str:
        """Return the text after the command, or the whole text when there is no command."""
        if self.command is None:
            return self.text.strip()
        parts = self.text.split(maxsplit=1)
        return parts[1].strip() if len(parts) > 1 else ""


@dataclass(frozen=True)
class Button:
    """An inline button: its label and the data it sends back when pressed."""

    text: str
    data: str


@dataclass(frozen=True)
class Reply:
    """Something the bot says. `text` is HTML in Telegram's subset; user text is escaped."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    chat_id: str | None = None  # None: the chat the incoming message came from
    channel: str | None = None  # None: the incoming message's channel
    request_contact: bool = False  # show a one-time keyboard with a "share my phone" button
    remove_keyboard: bool = False
    edit_message_id: str | None = None  # edit this message of the bot instead of sending
    attachments: tuple[Attachment, ...] = ()
    location: Location | None = None
    ticket_id: int | None = None  # the ticket this message concerns (for delivery failures)
    idempotency_key: str | None = None
    # extra["continued"]: the label (HTML) a sender puts before each further part of a text
    # too long for one message, e.g. "(tiếp theo, PA-…)".
    extra: dict[str, Any] = field(default_factory=dict)

    def to_payload(self) -> dict[str, Any]:
        """Serialise to the outbox's JSON payload (target fields excluded)."""
        # Written out rather than dataclasses.asdict: the sweeper serialises many thousands.
        return {
            "text": self.text,
            "buttons": [[{"text": b.text, "data": b.data} for b in row] for row in self.buttons],
            "request_contact": self.request_contact,
            "remove_keyboard": self.remove_keyboard,
            "edit_message_id": self.edit_message_id,
            "attachments": [_attachment_payload(a) for a in self.attachments],
            "location": (
                {"latitude": self.location.latitude, "longitude": self.location.longitude}
                if self.location
                else None
            ),
            "extra": dict(self.extra),
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Reply:
        """Rebuild a Reply from an outbox payload."""
        return cls(
            text=payload.get("text", ""),
            buttons=tuple(
                tuple(Button(**button) for button in row) for row in payload.get("buttons", ())
            ),
            request_contact=payload.get("request_contact", False),
            remove_keyboard=payload.get("remove_keyboard", False),
            edit_message_id=payload.get("edit_message_id"),
            attachments=tuple(Attachment(**a) for a in payload.get("attachments", ())),
            location=Location(**payload["location"]) if payload.get("location") else None,
            extra=payload.get("extra", {}),
        )


def _attachment_payload(attachment: Attachment) -> dict[str, Any]:
    """Serialise an attachment (its bytes stay in the database: only the row id goes)."""
    payload: dict[str, Any] = {
        "kind": attachment.kind,
        "file_id": attachment.file_id,
        "file_name": attachment.file_name,
        "mime_type": attachment.mime_type,
    }
    if attachment.stored_file is not None:
        payload["stored_file"] = attachment.stored_file
    return payload
