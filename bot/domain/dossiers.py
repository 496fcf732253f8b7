"""Dossier lookup, verification, subscriptions, and imports from the one-stop system.

Lookup. A public card (anyone with the code) shows code, procedure, agency, received and due
dates, status, lateness and the new date of an apology slip. Personal fields (applicant, the
slip's reason, officer) and subscribing need verification with LAST4: the last 4 digits of the
applicant's ID number or phone.

Limits, all counted in the `lookup_attempt` table so that any instance enforces them:

* rate limit: at most `lookup.per_minute` lookups per user in any 60 seconds (tries refused
  for the limit are recorded as ``limited`` and do not count);
* lock-out: `lookup.max_wrong_last4` wrong LAST4 for one code by one user within
  `lookup.lockout_minutes` lock verification of that code for that user for
  `lookup.lockout_minutes` after the last wrong try; a successful verification, or the end of
  a lock, starts the count again;
* subscribing needs a successful verification of that code by that user within
  `lookup.lockout_minutes`.

Lateness is derived, never imported: a dossier that is not done is late by the working days
(of `calendar.hours_per_day` working hours, rounded up) from its due date to now; a done one
(status 9 or 10) by those from its due date to its completion. Statuses 3, 7 and 8 (not
accepted, withdrawn, stopped) run no clock.

Import. `read_rows` reads CSV (header row, UTF-8 with or without BOM) or JSON Lines,
validates every row and upserts the valid ones in one transaction; a rejected row is reported
with its line number and every reason. A column (CSV) or key (JSON) absent from the file leaves
the stored value alone; present but empty clears it. Dates are ISO 8601 or ``dd/mm/yyyy
[HH:MM[:SS]]``; naive ones are Asia/Ho_Chi_Minh; a date without a time means the end of the
working day (the last window's end, 17:00) for ``due_at``, ``new_due_at`` and ``completed_at``
(due that day, done that day) and midnight for ``received_at``.

Subscribers are told, through the outbox in the import's transaction and in their language,
when an import changes a dossier's status or brings a new ``new_due_at``: `store_rows` returns
those notices (`bot/domain/outcomes.py`) and `bot/dossier_import.py` renders and queues them.
Lookups and subscriptions return what they found (`Lookup`, `Subscription`); the texts are
made in `handlers/lookup.py`.

Watch (``Dossier.watch_at``, for the deadline sweeper). For a dossier with a due date whose
status runs a clock (1, 2, 4, 5, 6) the milestones are, in order:

1. ``apology_due``: one working day before ``due_at``, only while there is no ``new_due_at``
   (the holding agency is reminded that an apology slip is due);
2. ``late``: ``due_at`` (the dossier turns late; subscribers are told);
3. ``late_new_due``: ``new_due_at`` when later than ``due_at`` (late again, past the new date).

On insert, and whenever an import changes ``status``, ``due_at`` or ``new_due_at``, ``watch_at``
is set by `initial_watch_at`: the earliest milestone whose successor has not passed yet (so a
milestone that has passed but is still current is returned, and is due at once); None when no
milestone applies (done, closed, or no due date). An import that changes nothing else leaves
``watch_at`` alone, so the sweeper's progress is kept. After handling the milestone at
``watch_at`` the sweeper sets ``watch_at = watch_after(..., after=<that milestone>)``.
"""

from __future__ import annotations

import csv
import enum
import hashlib
import io
import json
import logging
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Config
from bot.domain.outcomes import Audience, Notice, notice_key, stamp
from bot.domain.text import fold_diacritics
from bot.domain.workdays import WorkCalendar
from storage import dossiers as store
from storage.models import Dossier, DossierSubscription

log = logging.getLogger(__name__)

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SUBSCRIBE_PREFIX = "dsub:"
UNSUBSCRIBE_PREFIX = "dunsub:"
MAX_CODE_LENGTH = 50  # keeps "dunsub:<code>" within Telegram's 64-byte callback data
RATE_WINDOW = timedelta(minutes=1)


class DossierStatus(enum.IntEnum):
    """The national public-service portal's dossier statuses."""

    REGISTERED = 1  # Mới đăng ký
    RECEIVED = 2  # Được tiếp nhận
    NOT_ACCEPTED = 3  # Không được tiếp nhận
    IN_PROGRESS = 4  # Đang xử lý
    SUPPLEMENT_REQUESTED = 5  # Yêu cầu bổ sung
    FEES_REQUESTED = 6  # Yêu cầu thực hiện nghĩa vụ tài chính
    WITHDRAWN = 7  # Công dân yêu cầu rút hồ sơ
    STOPPED = 8  # Dừng xử lý
    PROCESSED = 9  # Đã xử lý xong
    RETURNED = 10  # Đã trả kết quả


# Statuses whose dossier still runs against its due date.
OPEN_STATUSES = frozenset({1, 2, 4, 5, 6})
DONE_STATUSES = frozenset({9, 10})


class Outcome(enum.StrEnum):
    """What one lookup try came to (stored in `lookup_attempt.outcome`)."""

    FOUND = "found"
    NOT_FOUND = "not_found"
    VERIFIED = "verified"
    WRONG_LAST4 = "wrong_last4"
    LOCKED = "locked"
    LIMITED = "limited"


# --- codes ---------------------------------------------------------------------------------

_DASH = r"[-\u2010\u2011\u2012\u2013\u2014]"
_CODE_RE = re.compile(
    r"(?<![\w.])"
    r"(?P<prefix>[A-Za-z0-9]{1,10}(?:\.[A-Za-z0-9]{1,10}){0,5})"
    rf"[ \t]*{_DASH}[ \t]*(?P<date>\d{{6}})[ \t]*{_DASH}[ \t]*(?P<seq>\d{{4,6}})"
    rf"(?!\w|{_DASH}\d|\.\w)"
)
_LAST4_RE = re.compile(r"(?<![\w.-])(\d{4})(?![\w.-])")


def _valid_code_parts(prefix: str, received: str) -> bool:
    if not re.search(r"[A-Za-z]", prefix):
        return False  # phone numbers, dates and amounts have digits only before the dash
    month, day = int(received[2:4]), int(received[4:6])
    return 1 <= month <= 12 and 1 <= day <= 31


def find_dossier_codes(text: str) -> list[str]:
    """Return the dossier codes in `text`, normalised (upper case, no spaces), first seen first."""
    found: dict[str, None] = {}
    for match in _CODE_RE.finditer(unicodedata.normalize("NFC", text or "")):
        prefix, received, sequence = match.group("prefix", "date", "seq")
        if not _valid_code_parts(prefix, received):
            continue
        code = f"{prefix.upper()}-{received}-{sequence}"
        if len(code) <= MAX_CODE_LENGTH:
            found.setdefault(code, None)
    return list(found)


def normalize_code(text: str) -> str | None:
    """Return `text` as a normalised dossier code if the whole of it is one, else None."""
    codes = find_dossier_codes(text)
    if len(codes) != 1:
        return None
    match = _CODE_RE.search(unicodedata.normalize("NFC", text.strip()))
    return codes[0] if match and match.span() == (0, len(text.strip())) else None


def parse_lookup_args(text: str) -> tuple[str | None, str | None]:
    """Split `/hoso` arguments into (code, LAST4): the first code, then 4 digits standing alone."""
    codes = find_dossier_codes(text)
    if not codes:
        return None, None
    rest = _CODE_RE.sub(" ", unicodedata.normalize("NFC", text))
    match = _LAST4_RE.search(rest)
    return codes[0], match.group(1) if match else None


def subscribe_callback(code: str) -> str:
    """Return the callback data of the [Theo dõi hồ sơ này] button."""
    return SUBSCRIBE_PREFIX + code


def unsubscribe_callback(code: str) -> str:
    """Return the callback data of the [Bỏ theo dõi] button."""
    return UNSUBSCRIBE_PREFIX + code


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def _fold(text: str) -> str:
    """Fold for name matching: NFC, no diacritics (đ→d), lower case, single spaces."""
    return " ".join(fold_diacritics(unicodedata.normalize("NFC", text)).lower().split())


# --- lateness and the card -----------------------------------------------------------------


def late_working_days(*, dossier: Dossier, calendar: WorkCalendar, now: datetime) -> int:
    """Return how many working days (rounded up) the dossier is or was late; 0 if on time."""
    if dossier.due_at is None:
        return 0
    if dossier.status in DONE_STATUSES:
        if dossier.completed_at is None:
            return 0
        reference = dossier.completed_at
    elif dossier.status in OPEN_STATUSES:
        reference = now
    else:
        return 0
    late = calendar.working_microseconds_between(dossier.due_at, reference)
    if late <= 0:
        return 0
    day = round(calendar.hours_per_day * 3_600_000_000)
    return -(-late // day)


# --- lookup --------------------------------------------------------------------------------


LOCK_HISTORY_WINDOWS = 3
LOCK_OUTCOMES = frozenset({Outcome.WRONG_LAST4, Outcome.VERIFIED})


def rate_limited_until(
    history: Sequence[store.Attempt], *, limit: int, now: datetime
) -> datetime | None:
    """Return when a user with these tries may look up again, or None if they may now."""
    since = now - RATE_WINDOW
    times = [attempt.at for attempt in history if attempt.at > since]
    if len(times) < limit:
        return None
    # The count falls below the limit when the oldest try that keeps it there leaves the window.
    return times[len(times) - limit] + RATE_WINDOW


def lock_state(
    history: Sequence[store.Attempt],
    *,
    code: str,
    window: timedelta,
    limit: int,
    now: datetime,
) -> tuple[datetime | None, int]:
    """Return (locked until, wrong tries counted now) for one code, from a user's tries."""
    # A lock in force now began within one window and was caused by tries within the window
    # before it; three windows of history are enough to replay the state exactly.
    since = now - LOCK_HISTORY_WINDOWS * window
    counted: list[datetime] = []
    locked_until: datetime | None = None
    for attempt in history:
        if attempt.code != code or attempt.at < since or attempt.outcome not in LOCK_OUTCOMES:
            continue
        if locked_until is not None and attempt.at < locked_until:
            continue
        if attempt.outcome == Outcome.VERIFIED:
            counted.clear()
            continue
        counted = [wrong for wrong in counted if wrong > attempt.at - window]
        counted.append(attempt.at)
        if len(counted) >= limit:
            locked_until = attempt.at + window
            counted.clear()
    if locked_until is not None and locked_until > now:
        return locked_until, 0
    return None, sum(1 for wrong in counted if wrong > now - window)


def _matches_last4(dossier: Dossier, last4: str) -> bool | None:
    """Tell whether LAST4 matches the applicant's ID or phone; None if neither is on file."""
    candidates = [d[-4:] for d in (_digits(dossier.applicant_id), _digits(dossier.phone))]
    candidates = [c for c in candidates if len(c) == 4]
    if not candidates:
        return None
    return last4 in candidates


class LookupResult(enum.StrEnum):
    """How a lookup ended; `handlers/lookup.py` says it."""

    RATE_LIMITED = "rate_limited"  # too many lookups: `Lookup.seconds` to wait
    ASK_CODE = "ask_code"  # nothing given
    BAD_CODE = "bad_code"  # not a dossier code
    NOT_FOUND = "not_found"
    FOUND = "found"  # public card; `locked_until` when verification is locked
    LOCKED = "locked"  # LAST4 given while locked (or the try that locked it)
    BAD_LAST4 = "bad_last4"  # LAST4 not four digits
    NO_VERIFY_DATA = "no_verify_data"  # nothing on file to verify against
    WRONG_LAST4 = "wrong_last4"  # `left` tries before the lock-out
    VERIFIED = "verified"  # the full card; `subscribed` tells which button


@dataclass(frozen=True)
class Lookup:
    """What a lookup found: the result, the code (normalised, or as given) and its dossier."""

    result: LookupResult
    code: str
    dossier: Dossier | None = None
    late_days: int = 0
    seconds: int = 0
    locked_until: datetime | None = None
    left: int = 0
    subscribed: bool = False


def _history_since(lockout: timedelta, now: datetime) -> datetime:
    """How far back a lookup reads its user's tries: the rate limit's and the lock-out's."""
    return now - max(RATE_WINDOW, LOCK_HISTORY_WINDOWS * lockout)


READ_AHEAD_FROM = 2  # lookups in a batch: for one alone, its own statement is cheaper


async def read_ahead_lookups(
    *,
    session: AsyncSession,
    config: Config,
    messages: Iterable[tuple[str, str, str]],
    now: datetime,
) -> int:
    """Before a batch is handled, read in a few statements what the lookups among its
    messages ((channel, user id, text)) will need; return how many messages name a code."""
    named = [
        (channel, user, codes)
        for channel, user, text in messages
        if (codes := find_dossier_codes(text))
    ]
    if len(named) < READ_AHEAD_FROM:
        return len(named)
    await store.read_ahead(
        session=session,
        codes=(code for _, _, codes in named for code in codes),
        users=((channel, user) for channel, user, _ in named),
        since=_history_since(timedelta(minutes=config.lookup.lockout_minutes), now),
        skipped=Outcome.LIMITED,
    )
    return len(named)


async def look_up(
    *,
    session: AsyncSession,
    config: Config,
    channel: str,
    chat_id: str,
    user_id: str,
    code: str,
    last4: str | None,
    now: datetime,
) -> Lookup:
    """Look a dossier up: the card, public or verified, or why there is none."""
    window = timedelta(minutes=config.lookup.lockout_minutes)
    codes = find_dossier_codes(code)
    normalized = codes[0] if codes else None
    # Tries that hit the rate limit count neither for the limit nor for the lock-out.
    history, dossier = await store.attempts_and_dossier(
        session=session,
        channel=channel,
        user_id=user_id,
        since=_history_since(window, now),
        skipped=Outcome.LIMITED,
        code=normalized or "",
    )
    until = rate_limited_until(history, limit=config.lookup.per_minute, now=now)
    if until is not None:
        await store.record_attempt(
            session=session,
            channel=channel,
            user_id=user_id,
            code=code.strip()[:64],
            outcome=Outcome.LIMITED,
            at=now,
        )
        seconds = max(1, math.ceil((until - now).total_seconds()))
        return Lookup(LookupResult.RATE_LIMITED, code.strip()[:80], seconds=seconds)

    if normalized is None:
        if not code.strip():
            return Lookup(LookupResult.ASK_CODE, "")
        await store.record_attempt(
            session=session,
            channel=channel,
            user_id=user_id,
            code=code.strip()[:64],
            outcome=Outcome.NOT_FOUND,
            at=now,
        )
        return Lookup(LookupResult.BAD_CODE, code.strip()[:80])

    async def record(outcome: Outcome) -> None:
        await store.record_attempt(
            session=session,
            channel=channel,
            user_id=user_id,
            code=normalized,
            outcome=outcome,
            at=now,
        )

    if dossier is None:
        await record(Outcome.NOT_FOUND)
        return Lookup(LookupResult.NOT_FOUND, normalized)

    late = late_working_days(dossier=dossier, calendar=config.work_calendar, now=now)

    def found(result: LookupResult, **values: Any) -> Lookup:
        return Lookup(result, normalized, dossier, late_days=late, **values)

    locked_until, wrong = lock_state(
        history, code=normalized, window=window, limit=config.lookup.max_wrong_last4, now=now
    )
    given = (last4 or "").strip().replace(" ", "")
    if not given:
        await record(Outcome.FOUND)
        return found(LookupResult.FOUND, locked_until=locked_until)
    if locked_until is not None:
        await record(Outcome.LOCKED)
        return found(LookupResult.LOCKED, locked_until=locked_until)
    if not re.fullmatch(r"\d{4}", given):
        await record(Outcome.FOUND)
        return found(LookupResult.BAD_LAST4)

    match = _matches_last4(dossier, given)
    if match is None:
        await record(Outcome.FOUND)
        return found(LookupResult.NO_VERIFY_DATA)
    if not match:
        await record(Outcome.WRONG_LAST4)
        left = config.lookup.max_wrong_last4 - wrong - 1
        if left <= 0:
            until_at = now + timedelta(minutes=config.lookup.lockout_minutes)
            log.info("dossier verification locked: %s by %s:%s", normalized, channel, user_id)
            return found(LookupResult.LOCKED, locked_until=until_at)
        return found(LookupResult.WRONG_LAST4, left=left)

    await record(Outcome.VERIFIED)
    subscribed = await store.get_subscription(
        session=session, code=normalized, channel=channel, chat_id=chat_id
    )
    return found(LookupResult.VERIFIED, subscribed=subscribed is not None)


# --- subscriptions -------------------------------------------------------------------------


class SubscriptionResult(enum.StrEnum):
    """How a subscribe or unsubscribe ended."""

    BAD_CODE = "bad_code"
    NOT_FOUND = "not_found"
    NEEDS_VERIFY = "subscribe_needs_verify"
    SUBSCRIBED = "subscribed"
    ALREADY_SUBSCRIBED = "already_subscribed"
    UNSUBSCRIBED = "unsubscribed"
    NOT_SUBSCRIBED = "not_subscribed"


@dataclass(frozen=True)
class Subscription:
    """What a subscribe or unsubscribe did, for the code (normalised, or as given)."""

    result: SubscriptionResult
    code: str


async def subscribe(
    *,
    session: AsyncSession,
    config: Config,
    channel: str,
    chat_id: str,
    user_id: str,
    code: str,
    now: datetime,
    lang: str,
) -> Subscription:
    """Subscribe the chat (in `lang`) to a dossier the user verified within the lock-out window."""
    normalized = next(iter(find_dossier_codes(code)), None)
    if normalized is None:
        return Subscription(SubscriptionResult.BAD_CODE, code.strip()[:80])
    dossier = await store.get_dossier(session=session, code=normalized)
    if dossier is None:
        return Subscription(SubscriptionResult.NOT_FOUND, normalized)
    verified = await store.code_attempts(
        session=session,
        channel=channel,
        user_id=user_id,
        code=normalized,
        since=now - timedelta(minutes=config.lookup.lockout_minutes),
        outcomes=(Outcome.VERIFIED,),
    )
    if not verified:
        return Subscription(SubscriptionResult.NEEDS_VERIFY, normalized)
    created = await store.add_subscription(
        session=session, code=normalized, channel=channel, chat_id=chat_id, language=lang, now=now
    )
    result = SubscriptionResult.SUBSCRIBED if created else SubscriptionResult.ALREADY_SUBSCRIBED
    return Subscription(result, normalized)


async def unsubscribe(
    *, session: AsyncSession, channel: str, chat_id: str, code: str
) -> Subscription:
    """Stop sending this chat updates about a dossier."""
    normalized = next(iter(find_dossier_codes(code)), None)
    if normalized is None:
        return Subscription(SubscriptionResult.BAD_CODE, code.strip()[:80])
    removed = await store.remove_subscription(
        session=session, code=normalized, channel=channel, chat_id=chat_id
    )
    result = SubscriptionResult.UNSUBSCRIBED if removed else SubscriptionResult.NOT_SUBSCRIBED
    return Subscription(result, normalized)


# --- watch milestones ----------------------------------------------------------------------


class WatchKind(enum.StrEnum):
    """What the dossier watch does at a milestone."""

    APOLOGY_DUE = "apology_due"  # remind the agency: an apology slip is due
    LATE = "late"  # the due date has passed: tell subscribers
    LATE_NEW_DUE = "late_new_due"  # the apology slip's new date has passed too


def watch_milestones(
    *,
    status: int,
    due_at: datetime | None,
    new_due_at: datetime | None,
    calendar: WorkCalendar,
) -> list[tuple[WatchKind, datetime]]:
    """Return the dossier watch's milestones in time order (see the module docstring)."""
    if status not in OPEN_STATUSES or due_at is None:
        return []
    milestones: list[tuple[WatchKind, datetime]] = []
    if new_due_at is None:
        milestones.append((WatchKind.APOLOGY_DUE, calendar.add_working_days(due_at, -1)))
    milestones.append((WatchKind.LATE, due_at))
    if new_due_at is not None and new_due_at > due_at:
        milestones.append((WatchKind.LATE_NEW_DUE, new_due_at))
    return milestones


def initial_watch_at(
    *,
    status: int,
    due_at: datetime | None,
    new_due_at: datetime | None,
    calendar: WorkCalendar,
    now: datetime,
) -> datetime | None:
    """Return the current milestone: the earliest whose successor is still ahead of `now`."""
    milestones = watch_milestones(
        status=status, due_at=due_at, new_due_at=new_due_at, calendar=calendar
    )
    for index, (_kind, at) in enumerate(milestones):
        following = milestones[index + 1][1] if index + 1 < len(milestones) else None
        if following is None or following > now:
            return at
    return None


def watch_after(
    *,
    status: int,
    due_at: datetime | None,
    new_due_at: datetime | None,
    calendar: WorkCalendar,
    after: datetime,
) -> datetime | None:
    """Return the first milestone strictly after `after` (None when none is left)."""
    milestones = watch_milestones(
        status=status, due_at=due_at, new_due_at=new_due_at, calendar=calendar
    )
    return next((at for _kind, at in milestones if at > after), None)


def watch_notices(
    dossier: Dossier,
    subscribers: Sequence[DossierSubscription],
    kind: WatchKind,
    at: datetime,
) -> list[Notice]:
    """Return who must hear of a watch milestone: the holding agency, or the subscribers."""
    if kind == WatchKind.APOLOGY_DUE:
        key = notice_key("d", dossier.code, kind.value, stamp(at), "agency", dossier.agency_id)
        return [
            Notice(
                kind.value,
                Audience.AGENCY,
                dossier=dossier,
                agency_id=dossier.agency_id,
                facts={"at": at},
                key=key,
            )
        ]
    notices: list[Notice] = []
    for subscription in subscribers:
        chat = (subscription.channel, subscription.chat_id)
        notices.append(
            Notice(
                kind.value,
                Audience.SUBSCRIBER,
                dossier=dossier,
                facts={"at": at},
                key=notice_key("d", dossier.code, kind.value, stamp(at), *chat),
                chat=chat,
                language=subscription.language,
            )
        )
    return notices


# --- import: reading files -----------------------------------------------------------------

IMPORT_FIELDS = (
    "code",
    "procedure",
    "agency",
    "applicant_name",
    "applicant_id",
    "phone",
    "received_at",
    "due_at",
    "status",
    "completed_at",
    "new_due_at",
    "apology_reason",
    "officer",
)
REQUIRED_FIELDS = ("code", "procedure", "agency", "received_at", "status")
TEXT_FIELDS = ("procedure", "applicant_name", "applicant_id", "phone", "officer", "apology_reason")
DATE_FIELDS = ("received_at", "due_at", "completed_at", "new_due_at")
END_OF_DAY_FIELDS = frozenset({"due_at", "new_due_at", "completed_at"})


class DossierImportError(Exception):
    """The whole file cannot be imported (unreadable, not UTF-8, no usable header)."""


@dataclass
class ImportReport:
    """What an import did: counts, and each rejected row with its line number and reason."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    notices: int = 0
    ignored_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceRow:
    """One raw record of the file: its first line and its fields by name."""

    line: int
    values: dict[str, Any]


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DossierImportError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DossierImportError(
            f"{path}: not UTF-8 (byte {exc.start}); save the file as UTF-8"
        ) from exc


def _format_of(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "json"
    return "json" if text.lstrip().startswith(("{", "[")) else "csv"


def _header_name(raw: str) -> str:
    return "_".join(raw.strip().lstrip("\ufeff").lower().replace("-", " ").split())


def _read_csv(text: str) -> tuple[list[SourceRow], list[tuple[int, str]], tuple[str, ...]]:
    """Return the records, the rows rejected while reading, and the ignored columns."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[SourceRow] = []
    rejected: list[tuple[int, str]] = []
    ignored: tuple[str, ...] = ()
    last_line = 0
    try:
        for record in reader:
            line = last_line + 1
            last_line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = [_header_name(cell) for cell in record]
                duplicated = sorted({name for name in header if name and header.count(name) > 1})
                if duplicated:
                    raise DossierImportError(
                        f"line {line}: duplicated column(s) {', '.join(duplicated)}"
                    )
                lacking = [name for name in REQUIRED_FIELDS if name not in header]
                if lacking:
                    raise DossierImportError(
                        f"line {line}: the header lacks column(s) {', '.join(lacking)}"
                    )
                ignored = tuple(name for name in header if name and name not in IMPORT_FIELDS)
                continue
            if len(record) > len(header):
                rejected.append(
                    (line, f"{len(record)} values but the header has {len(header)} columns")
                )
                continue
            values = {
                name: cell
                for name, cell in zip(header, record, strict=False)
                if name in IMPORT_FIELDS
            }
            for name in header[len(record) :]:
                if name in IMPORT_FIELDS:
                    values[name] = ""
            rows.append(SourceRow(line, values))
    except csv.Error as exc:
        rejected.append((last_line + 1, f"unreadable CSV ({exc}); the rest of the file skipped"))
    if header is None:
        raise DossierImportError("the file is empty (a header row is expected)")
    return rows, rejected, ignored


def _line_at(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _read_json(text: str) -> tuple[list[SourceRow], list[tuple[int, str]], tuple[str, ...]]:
    """Read JSON Lines, or one JSON array of objects; line numbers are where each starts."""
    rows: list[SourceRow] = []
    rejected: list[tuple[int, str]] = []
    ignored: dict[str, None] = {}
    items: list[tuple[int, Any]] = []
    if text.lstrip().startswith("["):
        decoder = json.JSONDecoder()
        position = text.index("[") + 1
        while True:
            while position < len(text) and text[position] in " \t\r\n,":
                position += 1
            if position >= len(text):
                raise DossierImportError("the JSON array is not closed")
            if text[position] == "]":
                break
            try:
                value, end = decoder.raw_decode(text, position)
            except json.JSONDecodeError as exc:
                raise DossierImportError(
                    f"line {_line_at(text, exc.pos)}: not valid JSON ({exc.msg})"
                ) from exc
            items.append((_line_at(text, position), value))
            position = end
    else:
        # Split on newlines only: JSON strings may hold U+2028 and other line separators.
        for number, raw in enumerate(text.split("\n"), start=1):
            if not raw.strip():
                continue
            try:
                items.append((number, json.loads(raw)))
            except json.JSONDecodeError as exc:
                rejected.append((number, f"not valid JSON ({exc.msg} at column {exc.colno})"))
    for line, value in items:
        if not isinstance(value, dict):
            rejected.append((line, f"expected a JSON object, got {type(value).__name__}"))
            continue
        values: dict[str, Any] = {}
        for key, item in value.items():
            name = _header_name(str(key))
            if name in IMPORT_FIELDS:
                values[name] = item
            else:
                ignored.setdefault(name, None)
        rows.append(SourceRow(line, values))
    return rows, rejected, tuple(ignored)


# --- import: validating rows ---------------------------------------------------------------

_DMY_RE = re.compile(
    r"(?P<d>\d{1,2})[/.-](?P<m>\d{1,2})[/.-](?P<y>\d{4})"
    r"(?:[ T]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?"
)
_ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_when(value: str, *, day_time: time, tz: ZoneInfo = LOCAL_TZ) -> datetime:
    """Parse ISO 8601 or dd/mm/yyyy [HH:MM[:SS]]; a bare date gets `day_time`; naive = `tz`."""
    text = value.strip()
    match = _DMY_RE.fullmatch(text)
    if match:
        day = date(int(match["y"]), int(match["m"]), int(match["d"]))
        if match["H"] is not None:
            day_time = time(int(match["H"]), int(match["M"]), int(match["S"] or 0))
        moment = datetime.combine(day, day_time, tzinfo=tz)
    elif _ISO_DATE_RE.fullmatch(text):
        moment = datetime.combine(date.fromisoformat(text), day_time, tzinfo=tz)
    else:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz)
    if not 1990 <= moment.year <= 2100:
        raise ValueError("year out of range")
    return moment


@dataclass(frozen=True)
class AgencyIndex:
    """Agency ids by folded id, name and alias (a key of several agencies is ambiguous)."""

    keys: dict[str, frozenset[str]]

    @classmethod
    def of(cls, config: Config) -> AgencyIndex:
        """Build the index of the config's directory."""
        keys: dict[str, set[str]] = {}
        for agency in config.agencies:
            for name in (agency.id, agency.name, *agency.aliases):
                keys.setdefault(_fold(name), set()).add(agency.id)
        return cls({key: frozenset(ids) for key, ids in keys.items()})

    def resolve(self, value: str) -> tuple[str | None, str | None]:
        """Return (agency id, None) or (None, the reason it cannot be resolved)."""
        ids = self.keys.get(_fold(value))
        if not ids:
            return None, f"unknown agency {value!r}"
        if len(ids) > 1:
            return None, f"agency {value!r} is ambiguous ({', '.join(sorted(ids))})"
        return next(iter(ids)), None


def status_index(names: Mapping[str, int]) -> dict[str, int]:
    """Index the portal's status names (as shown to people, any language) for parsing."""
    return {_fold(name): status for name, status in names.items() if 1 <= status <= 10}


def _parse_status(value: Any, names: Mapping[str, int]) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1 <= value <= 10 else None
    if isinstance(value, float):
        return int(value) if value.is_integer() and 1 <= value <= 10 else None
    text = str(value).strip()
    if re.fullmatch(r"\d{1,2}", text):
        number = int(text)
        return number if 1 <= number <= 10 else None
    return names.get(_fold(text))


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(unicodedata.normalize("NFC", str(value)).split())


def validate_row(
    row: SourceRow,
    *,
    agencies: AgencyIndex,
    end_of_day: time,
    status_names: Mapping[str, int] | None = None,
) -> tuple[dict[str, Any] | None, str | None]:
    """Return (the dossier's column values for the fields present, None) or (None, reasons)."""
    values = row.values
    problems: list[str] = []
    result: dict[str, Any] = {}

    raw_code = _as_text(values.get("code"))
    if not raw_code:
        problems.append("missing code")
    else:
        code = normalize_code(raw_code)
        if code is None:
            problems.append(
                f"code {raw_code[:60]!r} is not a dossier code (e.g. H23.22-230825-0001)"
            )
        else:
            result["code"] = code
    problems.extend(
        f"missing {name}" for name in REQUIRED_FIELDS[1:] if not _as_text(values.get(name))
    )

    for name in TEXT_FIELDS:
        if name in values:
            result[name] = _as_text(values[name])

    agency_text = _as_text(values.get("agency"))
    if agency_text:
        agency_id, reason = agencies.resolve(agency_text)
        if reason:
            problems.append(reason)
        else:
            result["agency_id"] = agency_id

    status_value = values.get("status")
    if status_value is not None and _as_text(status_value):
        status = _parse_status(status_value, status_names or {})
        if status is None:
            problems.append(f"bad status {_as_text(status_value)[:40]!r} (expected 1-10)")
        else:
            result["status"] = status

    for name in DATE_FIELDS:
        if name not in values:
            continue
        text = _as_text(values[name])
        if not text:
            result[name] = None
            continue
        day_time = end_of_day if name in END_OF_DAY_FIELDS else time(0, 0)
        try:
            result[name] = parse_when(text, day_time=day_time)
        except ValueError:
            problems.append(
                f"bad date in {name}: {text[:40]!r} (expected ISO 8601 or dd/mm/yyyy [HH:MM])"
            )

    received, due = result.get("received_at"), result.get("due_at")
    new_due, completed = result.get("new_due_at"), result.get("completed_at")
    if received and due and due < received:
        problems.append("due_at before received_at")
    if due and new_due and new_due < due:
        problems.append("new_due_at before due_at")
    if new_due and "due_at" in result and due is None:
        problems.append("new_due_at without due_at")
    if received and completed and completed < received:
        problems.append("completed_at before received_at")

    if problems:
        return None, "; ".join(problems)
    return result, None


# --- import: storing -----------------------------------------------------------------------

# The imported fields whose change counts as an update (bookkeeping columns excluded).
_COMPARED = tuple(
    name for name in store.DOSSIER_COLUMNS if name not in ("code", "updated_at", "watch_at")
)
_WATCHED = frozenset({"status", "due_at", "new_due_at"})


def _idempotency_key(*parts: object) -> str:
    key = ":".join(str(part) for part in parts)
    if len(key) <= 200:
        return key
    return "dossier:" + hashlib.sha256(key.encode()).hexdigest()


def _stamp(value: datetime | None) -> str:
    return value.strftime("%Y%m%dT%H%M%S%fZ") if value else "0"


def change_notices(
    *,
    changes: Sequence[tuple[Dossier, set[str], int, datetime | None]],
    subscribers: dict[str, list[DossierSubscription]],
) -> list[Notice]:
    """Return each subscriber's notices about imported changes (new date, new status)."""
    notices: list[Notice] = []
    for dossier, changed, old_status, old_stamp in changes:
        for subscription in subscribers.get(dossier.code, []):
            chat = (subscription.channel, subscription.chat_id)
            common: dict[str, Any] = {
                "audience": Audience.SUBSCRIBER,
                "dossier": dossier,
                "chat": chat,
                "language": subscription.language,
            }
            if "new_due_at" in changed and dossier.new_due_at is not None:
                key = _idempotency_key(
                    "dossier", dossier.code, "newdue", _stamp(dossier.new_due_at), *chat
                )
                notices.append(Notice("dossier_new_due", key=key, **common))
            if "status" in changed:
                # The replaced version's stamp tells a later return to an old status apart.
                key = _idempotency_key(
                    "dossier", dossier.code, "status", dossier.status, _stamp(old_stamp), *chat
                )
                facts = {"old_status": old_status}
                notices.append(Notice("dossier_status", key=key, facts=facts, **common))
    return notices


async def store_rows(
    *,
    session: AsyncSession,
    rows: Sequence[dict[str, Any]],
    config: Config,
    now: datetime,
    report: ImportReport,
) -> list[Notice]:
    """Upsert validated rows in the caller's transaction; return the subscribers' notices.

    The caller queues the notices in the same transaction (`bot/dossier_import.py`).
    """
    calendar = config.work_calendar
    existing = await store.get_dossiers_for_update(
        session=session, codes=[row["code"] for row in rows]
    )
    inserts: list[dict[str, Any]] = []
    changes: list[tuple[Dossier, set[str], int, datetime | None]] = []
    for row in rows:
        old = existing.get(row["code"])
        if old is None:
            values: dict[str, Any] = {
                "procedure": "",
                "agency_id": None,
                "applicant_name": "",
                "applicant_id": "",
                "phone": "",
                "officer": "",
                "received_at": None,
                "due_at": None,
                "status": 1,
                "completed_at": None,
                "new_due_at": None,
                "apology_reason": "",
            }
            values.update(row)
            values["updated_at"] = now
            values["watch_at"] = initial_watch_at(
                status=values["status"],
                due_at=values["due_at"],
                new_due_at=values["new_due_at"],
                calendar=calendar,
                now=now,
            )
            inserts.append(values)
            report.inserted += 1
            continue
        changed = {name for name in _COMPARED if name in row and getattr(old, name) != row[name]}
        if not changed:
            report.unchanged += 1
            continue
        old_status, old_stamp = old.status, old.updated_at
        for name in changed:
            setattr(old, name, row[name])
        old.updated_at = now
        if changed & _WATCHED:
            old.watch_at = initial_watch_at(
                status=old.status,
                due_at=old.due_at,
                new_due_at=old.new_due_at,
                calendar=calendar,
                now=now,
            )
        await store.save_dossier(session=session, dossier=old)
        report.updated += 1
        if "status" in changed or ("new_due_at" in changed and old.new_due_at is not None):
            changes.append((old, changed, old_status, old_stamp))
    await store.upsert_dossiers(session=session, rows=inserts)
    if not changes:
        return []
    subscribers = await store.list_subscribers(
        session=session, codes=[dossier.code for dossier, *_ in changes]
    )
    return change_notices(changes=changes, subscribers=subscribers)


def end_of_working_day(config: Config) -> time:
    """Return when the working day ends (the last window's end): the time of a bare due date."""
    return config.calendar.work_hours[-1][1]


def read_rows(
    path: Path, *, config: Config, status_names: Mapping[str, int] | None = None
) -> tuple[list[dict[str, Any]], list[tuple[int, str]], tuple[str, ...]]:
    """Read and validate a file: (valid rows, rejected (line, reason), ignored columns).

    `status_names` (from `status_index`) lets a status be given by its name, not only 1-10.
    """
    text = _read_text(path)
    reader = _read_json if _format_of(path, text) == "json" else _read_csv
    source, rejected, ignored = reader(text)
    agencies = AgencyIndex.of(config)
    end_of_day = end_of_working_day(config)
    valid: list[dict[str, Any]] = []
    first_line: dict[str, int] = {}
    for row in source:
        values, reason = validate_row(
            row, agencies=agencies, end_of_day=end_of_day, status_names=status_names
        )
        if values is None:
            rejected.append((row.line, reason or "invalid"))
            continue
        code = values["code"]
        if code in first_line:
            rejected.append(
                (row.line, f"duplicate code {code} (first on line {first_line[code]})")
            )
            continue
        first_line[code] = row.line
        valid.append(values)
    rejected.sort()
    return valid, rejected, ignored


def format_import_report(report: ImportReport) -> str:
    """Render an import report for the command line: a summary, then `line N: reason` lines."""
    lines = [
        f"{report.inserted} inserted, {report.updated} updated, {report.unchanged} unchanged, "
        f"{len(report.rejected)} rejected; {report.notices} subscriber notice(s) queued"
    ]
    if report.ignored_columns:
        lines.append(f"ignored unknown field(s): {', '.join(report.ignored_columns)}")
    lines.extend(f"line {line}: {reason}" for line, reason in report.rejected)
    return "\n".join(lines)
