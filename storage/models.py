"""SQLModel tables. Queries live in the sibling modules; nothing here touches a session."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    LargeBinary,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy import (
    Enum as SAEnum,
)
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Store aware datetimes as UTC and give them back aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _when(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _json(default: Any) -> Any:
    return Field(default_factory=lambda: type(default)(), sa_column=Column(JSON, nullable=False))


def _text() -> Any:
    return Field(default="", sa_column=Column(Text, nullable=False))


def _enum(kind: type[enum.StrEnum], default: enum.StrEnum, index: bool = False) -> Any:
    # Stored as plain text (no native enum type), so adding a state needs no type migration.
    column_type = SAEnum(
        kind, native_enum=False, length=24, values_callable=lambda e: [m.value for m in e]
    )
    return Field(default=default, sa_column=Column(column_type, nullable=False, index=index))


def _big(index: bool = False, nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(BigInteger, index=index, nullable=nullable))


class TicketState(enum.StrEnum):
    """Where a ticket is in its life."""

    TRIAGE = "triage"  # in the operators' queue
    ROUTED = "routed"  # sent to an agency, not yet accepted
    ACCEPTED = "accepted"
    WAITING_CITIZEN = (
        "waiting_citizen"  # the agency asked the citizen; the resolve clock is paused
    )
    RESOLVED = "resolved"
    CLOSED = "closed"
    SPAM = "spam"
    MERGED = "merged"


OPEN_STATES = (
    TicketState.TRIAGE,
    TicketState.ROUTED,
    TicketState.ACCEPTED,
    TicketState.WAITING_CITIZEN,
)


class Privacy(enum.StrEnum):
    """Who may see the reporter's identity."""

    AGENCY = "agency"  # the handling agency and the operators
    OPERATORS = "operators"  # the operators only
    ANONYMOUS = "anonymous"  # nobody; the chat is kept only to send updates


class OutboxStatus(enum.StrEnum):
    """Delivery state of an outgoing message."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"
    OUTSIDE_WINDOW = "outside_window"  # Zalo OA: held until the citizen writes again (issue 11)


class Agency(SQLModel, table=True):
    """An agency of the directory (synced from the config)."""

    id: str = Field(primary_key=True, max_length=64)
    name: str
    aliases: list[str] = _json([])
    telegram_chat_id: int | None = _big(index=True)
    zalo_chat_id: str | None = Field(default=None, index=True)
    supervisor: str | None = None
    active: bool = True


class Category(SQLModel, table=True):
    """A complaint category (synced from the config)."""

    id: str = Field(primary_key=True, max_length=64)
    name: str
    agency_id: str | None = None
    sla_hours: float
    track: str = "pakn"
    active: bool = True


class Dossier(SQLModel, table=True):
    """An administrative dossier imported from the one-stop system."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True, max_length=64)
    procedure: str = ""
    agency_id: str | None = Field(default=None, index=True)
    applicant_name: str = ""
    applicant_id: str = ""
    phone: str = ""
    officer: str = ""
    received_at: datetime | None = _when()
    due_at: datetime | None = _when()
    status: int = 1
    completed_at: datetime | None = _when()
    new_due_at: datetime | None = _when()
    apology_reason: str = _text()
    updated_at: datetime | None = _when()
    # The next instant the dossier watch must look at this dossier; indexed for the sweeper.
    watch_at: datetime | None = _when(index=True)


class DossierSubscription(SQLModel, table=True):
    """A citizen who wants to hear when a dossier changes."""

    __tablename__ = "dossier_subscription"

    __table_args__ = (UniqueConstraint("dossier_code", "channel", "chat_id"),)

    id: int | None = Field(default=None, primary_key=True)
    dossier_code: str = Field(index=True, max_length=64)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    language: str = "vi"
    created_at: datetime | None = _when()


class LookupAttempt(SQLModel, table=True):
    """One dossier lookup or verification try, for rate limits and lock-outs."""

    __tablename__ = "lookup_attempt"

    __table_args__ = (Index("ix_lookup_attempt_user_at", "channel", "user_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    user_id: str = Field(max_length=64)
    code: str = Field(default="", max_length=64)
    outcome: str = Field(max_length=16)  # found, not_found, verified, wrong_last4, locked, limited
    at: datetime | None = _when()


class TicketCounter(SQLModel, table=True):
    """The last ticket sequence number handed out in a year."""

    __tablename__ = "ticket_counter"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last: int = 0


class Ticket(SQLModel, table=True):
    """A complaint, with its owner, its clocks and its reporter."""

    __table_args__ = (
        Index("ix_ticket_reporter", "channel", "chat_id", "created_at"),
        # The sweeper closes resolved tickets once their reopen window is over, oldest first.
        Index("ix_ticket_state_resolved_at", "state", "resolved_at", "id"),
        # --- work lists at a million tickets (issue 10, migrations 0009, 0011) ---
        # Each list is read from these alone (storage/tickets.py, _merged_page): the id right
        # after the due time makes index order list order; the columns after the id are read
        # by the filters and the overdue counts by agency.
        # The triage queue and the overdue list's triage part: state, then triage due time.
        Index("ix_ticket_state_triage_due", "state", "triage_due_at", "id", "agency_id"),
        # The overdue list's running part: state, then resolve due time (paused_at: a paused
        # ticket's overdue test).
        Index(
            "ix_ticket_state_resolve_due",
            "state",
            "resolve_due_at",
            "id",
            "paused_at",
            "agency_id",
        ),
        # An agency's open list: its tickets by state, then resolve due time.
        Index(
            "ix_ticket_agency_state_due", "agency_id", "state", "resolve_due_at", "id", "paused_at"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True, max_length=20)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    user_id: str = Field(default="", max_length=64)
    language: str = "vi"
    reporter_name: str = ""
    reporter_phone: str = ""
    privacy: Privacy = _enum(Privacy, Privacy.AGENCY)
    text: str = _text()
    category_id: str = Field(max_length=64, index=True)
    agency_id: str | None = Field(default=None, index=True, max_length=64)
    ward: str | None = None
    subject_agency_id: str | None = None
    dossier_code: str | None = None
    confidence: float = 0.0
    evidence: list[str] = _json([])
    suggestions: list[Any] = _json([])
    track: str = "pakn"
    state: TicketState = _enum(TicketState, TicketState.TRIAGE, index=True)
    latitude: float | None = None
    longitude: float | None = None
    returns_count: int = 0
    passed_around: bool = False
    deemed_accepted: bool = False
    answer: str = _text()
    rating: int | None = None
    citizen_blocked: bool = False
    created_at: datetime | None = _when(index=True)
    routed_at: datetime | None = _when()
    accepted_at: datetime | None = _when()
    resolved_at: datetime | None = _when()
    closed_at: datetime | None = _when()
    paused_at: datetime | None = _when()
    triage_due_at: datetime | None = _when()
    accept_due_at: datetime | None = _when()
    resolve_due_at: datetime | None = _when()
    # The earliest instant a deadline notice may be due; the sweeper claims by this index.
    next_check_at: datetime | None = _when(index=True)
    # --- console (issue 8): the ticket this duplicate was merged into ---
    merged_into_id: int | None = Field(default=None, index=True)


class TicketAttachment(SQLModel, table=True):
    """A photo or document the reporter sent with a complaint."""

    __tablename__ = "ticket_attachment"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    kind: str = Field(max_length=16)  # photo, document
    file_id: str
    file_name: str = ""
    mime_type: str = ""


class TicketEvent(SQLModel, table=True):
    """Append-only audit trail of a ticket: who did what, when."""

    __tablename__ = "ticket_event"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    at: datetime | None = _when()
    actor: str = Field(
        default="", max_length=128
    )  # e.g. citizen, operator:123, agency:xay-dung, system
    kind: str = Field(max_length=32)
    note: str = _text()
    data: dict[str, Any] = _json({})


class DialogState(SQLModel, table=True):
    """Where a chat is in a dialog, kept in the database so any instance can serve it."""

    __tablename__ = "dialog_state"

    channel: str = Field(primary_key=True, max_length=16)
    chat_id: str = Field(primary_key=True, max_length=64)
    state: str = ""
    data: dict[str, Any] = _json({})
    language: str = "vi"
    updated_at: datetime | None = _when()


OUTSTANDING_SQL = "status IN ('pending', 'sending')"


class Outbox(SQLModel, table=True):
    """A message waiting to be delivered, written with the change that caused it."""

    __table_args__ = (
        # The queue in claim order, outstanding messages only (migration 0012).
        Index(
            "ix_outbox_queue",
            "id",
            sqlite_where=text(OUTSTANDING_SQL),
            postgresql_where=text(OUTSTANDING_SQL),
        ),
        # --- outbox claims in chat order (issue 10, migration 0009) ---
        # A claim looks for a chat's earlier messages still outstanding; partial, so the sent
        # history (nearly every row) is not in it.
        Index(
            "ix_outbox_outstanding",
            "channel",
            "chat_id",
            "id",
            sqlite_where=text(OUTSTANDING_SQL),
            postgresql_where=text(OUTSTANDING_SQL),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    payload: dict[str, Any] = _json({})
    idempotency_key: str | None = Field(default=None, unique=True, max_length=200)
    ticket_id: int | None = Field(default=None, index=True)
    status: OutboxStatus = _enum(OutboxStatus, OutboxStatus.PENDING)
    attempts: int = 0
    available_at: datetime | None = _when()
    created_at: datetime | None = _when()
    sent_at: datetime | None = _when()
    sent_message_id: str | None = None
    last_error: str = _text()


class ProcessedUpdate(SQLModel, table=True):
    """An update already handled, so a redelivery is ignored."""

    __tablename__ = "processed_update"

    channel: str = Field(primary_key=True, max_length=16)
    update_id: str = Field(primary_key=True, max_length=64)
    processed_at: datetime | None = _when(index=True)


class ChannelOptions(SQLModel, table=True):
    """The numbered options last shown in a chat of a channel without buttons (Zalo)."""

    __tablename__ = "channel_options"

    channel: str = Field(primary_key=True, max_length=16)
    chat_id: str = Field(primary_key=True, max_length=64)
    options: list[str] = _json([])
    message_id: str | None = Field(default=None, max_length=64)
    updated_at: datetime | None = _when()


# --- triage learning (issue 7) ---


class TriageExample(SQLModel, table=True):
    """A labelled complaint the province taught: a past ticket imported, or an outcome."""

    __tablename__ = "triage_example"
    __table_args__ = (UniqueConstraint("source", "ticket_id", name="uq_triage_example_ticket"),)

    id: int | None = Field(default=None, primary_key=True)
    text: str = _text()
    category_id: str = Field(max_length=64)
    agency_id: str | None = Field(default=None, max_length=64)
    # import (a history file), resolved (routed by operators, resolved by the agency), returned
    source: str = Field(max_length=16)
    ticket_id: int | None = Field(default=None)
    created_at: datetime | None = _when()


class LearnedPhrase(SQLModel, table=True):
    """One learned weight: a folded phrase's shift for a category, and the tickets behind it."""

    __tablename__ = "learned_phrase"

    phrase: str = Field(primary_key=True, max_length=200)
    category_id: str = Field(primary_key=True, max_length=64)
    weight: float = 0.0
    tickets: int = 0
    updated_at: datetime | None = _when()


class LearningState(SQLModel, table=True):
    """A version stamp of the learned phrases: running instances reload when it moves."""

    __tablename__ = "learning_state"

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    version: int = 0
    learned_at: datetime | None = _when()


# --- reports (issue 9) ---------------------------------------------------------------------
# The scorecard counts a month's events by kind (the ticket id too, so that finding tickets
# routed twice reads the index alone).
Index(
    "ix_ticket_event_kind_at",
    TicketEvent.__table__.c.kind,  # type: ignore[attr-defined]
    TicketEvent.__table__.c.at,  # type: ignore[attr-defined]
    TicketEvent.__table__.c.ticket_id,  # type: ignore[attr-defined]
)
# Covering indexes: the month's acceptances and resolutions are read from the index alone.
_ticket: Any = Ticket.__table__  # type: ignore[attr-defined]
Index(
    "ix_ticket_accepted_at",
    _ticket.c.accepted_at,
    _ticket.c.agency_id,
    _ticket.c.deemed_accepted,
    _ticket.c.routed_at,
)
Index(
    "ix_ticket_resolved_month",
    _ticket.c.resolved_at,
    _ticket.c.state,
    _ticket.c.agency_id,
    _ticket.c.routed_at,
    _ticket.c.resolve_due_at,
    _ticket.c.rating,
)


class StoredFile(SQLModel, table=True):
    """A file the bot generated (a scorecard chart, a workbook), kept until it is delivered."""

    __tablename__ = "stored_file"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    mime_type: str = Field(default="", max_length=100)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime | None = _when()


class ReportDelivery(SQLModel, table=True):
    """A month's scorecard claimed for a chat: the row exists once, whoever claims it first."""

    __tablename__ = "report_delivery"

    month: str = Field(primary_key=True, max_length=7)  # YYYY-MM
    channel: str = Field(primary_key=True, max_length=16)
    chat_id: str = Field(primary_key=True, max_length=64)
    claimed_at: datetime | None = _when()


# --- Zalo Official Account (issue 11) ---


class OaToken(SQLModel, table=True):
    """The OA's current access/refresh token pair; the refresh token works only once."""

    __tablename__ = "oa_token"

    app_id: str = Field(primary_key=True, max_length=64)
    access_token: str = _text()
    refresh_token: str = _text()
    expires_at: datetime | None = _when()
    # The config's refresh token this row came from: a new pair in the config replaces the row.
    seed_refresh_token: str = _text()
    updated_at: datetime | None = _when()


class OaReplyWindow(SQLModel, table=True):
    """When an OA follower last wrote, and how many replies the OA has sent since (48 h, 8)."""

    __tablename__ = "oa_reply_window"

    user_id: str = Field(primary_key=True, max_length=64)
    last_message_at: datetime | None = _when()
    replies_since: int = 0


class OaInbound(SQLModel, table=True):
    """An OA webhook event recorded before 200 is answered; handled afterwards."""

    __tablename__ = "oa_inbound"

    msg_id: str = Field(primary_key=True, max_length=128)
    payload: dict[str, Any] = _json({})
    received_at: datetime | None = _when(index=True)


# --- console (issue 8): web console users, their sessions, sign-in failures; merge followers ---


class ConsoleUser(SQLModel, table=True):
    """A person who signs in to the web console: an operator, a leader or an agency's staff."""

    __tablename__ = "console_user"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True, max_length=64)
    role: str = Field(max_length=16)  # operator, leader, agency
    agency_id: str | None = Field(default=None, max_length=64)
    password_hash: str = Field(max_length=255)
    disabled: bool = False
    created_at: datetime | None = _when()


class WebSession(SQLModel, table=True):
    """A signed-in browser, kept in the database so any instance serves it."""

    __tablename__ = "web_session"

    # Only a hash of the cookie's token is stored: a copy of the table signs nobody in.
    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="console_user.id", index=True)
    csrf_token: str = Field(max_length=64)
    language: str = Field(default="vi", max_length=8)
    created_at: datetime | None = _when()
    expires_at: datetime | None = _when(index=True)


class SignInFailure(SQLModel, table=True):
    """One wrong password for a user name, for the lock-out."""

    __tablename__ = "sign_in_failure"

    __table_args__ = (Index("ix_sign_in_failure_name_at", "name", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    at: datetime | None = _when()


class TicketFollower(SQLModel, table=True):
    """A reporter of a merged duplicate who follows the kept ticket."""

    __tablename__ = "ticket_follower"

    __table_args__ = (UniqueConstraint("ticket_id", "channel", "chat_id"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    language: str = "vi"
    from_ticket_id: int | None = None
    created_at: datetime | None = _when()
